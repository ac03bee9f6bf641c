/* Vector helpers shared by the AVX2 kernels (a build without AVX2 includes nothing from here). */
#ifndef MUSICGEN_SIMD_H
#define MUSICGEN_SIMD_H

#include "internal.h"

#if MG_AVX2

static inline float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax_ps(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

#if MG_UNSIGNED_WEIGHTS
/* Unsigned u times signed s, summed in groups of 4 into int32 lanes: one VNNI instruction. */
static inline __m256i dpbusd256(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVXVNNI__) && !defined(__AVX512VL__)
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#else
    return _mm256_dpbusd_epi32(acc, u, s);
#endif
}
#endif

/*
 * Stored bytes (weights or keys, in mg_weight_encoding()) times signed int8 x, summed in groups of 4 into
 * int32 lanes. With VNNI the stored bytes are unsigned (value + 128); the caller takes 128 * sum(x) back
 * out. Without it |stored|, |x| <= 127, so a pair of products fits int16.
 */
static inline __m256i dot_stored(__m256i acc, __m256i stored, __m256i x) {
#if MG_UNSIGNED_WEIGHTS
    return dpbusd256(acc, stored, x);
#else
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(stored), _mm256_sign_epi8(x, stored));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#endif
}

/* Unsigned u <= 127 times signed s, summed in groups of 4 into int32 lanes (no int16 saturation). */
static inline __m256i dot_u7(__m256i acc, __m256i u, __m256i s) {
#if MG_UNSIGNED_WEIGHTS
    return dpbusd256(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

/* Cephes' exp polynomial. */
static inline __m256 exp256(__m256 x) {
    const __m256 too_small = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.37f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i n = _mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127));
    y = _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(n, 23)));
    return _mm256_andnot_ps(too_small, y);
}

#endif
#endif
