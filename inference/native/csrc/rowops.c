/* Row operations: layer norm, per-row int8 quantisation, GELU (single-threaded: rows are short). */
#include <math.h>

#include "internal.h"
#include "simd.h"

/* Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): erf(a) = 1 - poly(t) exp(-a^2), t = 1 / (1 + p a). */
#define ERF_P 0.3275911f
#define ERF_A1 0.254829592f
#define ERF_A2 -0.284496736f
#define ERF_A3 1.421413741f
#define ERF_A4 -1.453152027f
#define ERF_A5 1.061405429f

#if MG_AVX2

void mg_layer_norm(const float *x, float *out, int n, const float *w, const float *b, float eps) {
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    float mean = hsum_ps(s) / (float)n;
    __m256 m = _mm256_set1_ps(mean), v = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), m);
        v = _mm256_fmadd_ps(d, d, v);
    }
    __m256 inv = _mm256_set1_ps(1.0f / sqrtf(hsum_ps(v) / (float)n + eps));
    for (int i = 0; i < n; i += 8) {
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m), inv);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(w + i), _mm256_loadu_ps(b + i)));
    }
}

static float abs_max(const float *x, int n) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)));
    return hmax_ps(amax);
}

float mg_quantize_row(const float *x, int8_t *q, int n, int32_t *sum) {
    float max = abs_max(x, n);
    __m256 inv = _mm256_set1_ps(max > 0 ? 127.0f / max : 0.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i total = _mm256_setzero_si256();
    for (int i = 0; i < n; i += 32) {
        __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
        __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8), inv));
        __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 16), inv));
        __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 24), inv));
        /* The packs work per 128-bit lane; the permute puts the 32 bytes back in order. */
        __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
        total = _mm256_add_epi32(total, _mm256_madd_epi16(_mm256_add_epi16(ab, cd), _mm256_set1_epi16(1)));
        __m256i packed = _mm256_packs_epi16(ab, cd);
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(packed, order));
    }
    *sum = hsum_epi32(total);
    return max / 127.0f;
}

float mg_quantize_short_row(const float *x, int8_t *q, int n) {
    float max = abs_max(x, n);
    __m256 inv = _mm256_set1_ps(max > 0 ? 127.0f / max : 0.0f);
    for (int i = 0; i < n; i += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
        __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(words, words));
    }
    return max / 127.0f;
}

static inline __m256 gelu256(__m256 x) {
    /* 0.5 x (1 + erf(x / sqrt 2)): GELU as MusicGen's decoder computes it (not the tanh form). */
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 sign = _mm256_and_ps(z, sign_bit);
    __m256 a = _mm256_andnot_ps(sign_bit, z);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(ERF_P), _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_set1_ps(ERF_A5);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(ERF_A4));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(ERF_A3));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(ERF_A2));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(ERF_A1));
    poly = _mm256_mul_ps(poly, t);
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 erf_abs = _mm256_fnmadd_ps(poly, e, _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_or_ps(erf_abs, sign);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

void mg_gelu(float *x, int n) {
    for (int i = 0; i < n; i += 8) _mm256_storeu_ps(x + i, gelu256(_mm256_loadu_ps(x + i)));
}

void mg_add(float *out, const float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(out + i), _mm256_loadu_ps(x + i)));
    for (; i < n; i++) out[i] += x[i];
}

#else /* the scalar reference path */

void mg_layer_norm(const float *x, float *out, int n, const float *w, const float *b, float eps) {
    float sum = 0;
    for (int i = 0; i < n; i++) sum += x[i];
    float mean = sum / (float)n, var = 0;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    float inv = 1.0f / sqrtf(var / (float)n + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] - mean) * inv * w[i] + b[i];
}

static float abs_max(const float *x, int n) {
    float max = 0;
    for (int i = 0; i < n; i++) max = fabsf(x[i]) > max ? fabsf(x[i]) : max;
    return max;
}

/* Round half to even, as the vector path's conversion does. */
static inline int8_t to_int8(float v) {
    long r = lrintf(v);
    return (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
}

float mg_quantize_row(const float *x, int8_t *q, int n, int32_t *sum) {
    float max = abs_max(x, n);
    float inv = max > 0 ? 127.0f / max : 0.0f;
    int32_t total = 0;
    for (int i = 0; i < n; i++) total += q[i] = to_int8(x[i] * inv);
    *sum = total;
    return max / 127.0f;
}

float mg_quantize_short_row(const float *x, int8_t *q, int n) {
    float max = abs_max(x, n);
    float inv = max > 0 ? 127.0f / max : 0.0f;
    for (int i = 0; i < n; i++) q[i] = to_int8(x[i] * inv);
    return max / 127.0f;
}

void mg_gelu(float *x, int n) {
    for (int i = 0; i < n; i++) {
        float z = x[i] * 0.70710678118654752f, a = fabsf(z);
        float t = 1.0f / (1.0f + ERF_P * a);
        float poly = ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t;
        float erf = 1.0f - poly * expf(-a * a);
        x[i] = 0.5f * x[i] * (1.0f + (z < 0 ? -erf : erf));
    }
}

void mg_add(float *out, const float *x, int n) {
    for (int i = 0; i < n; i++) out[i] += x[i];
}

#endif
