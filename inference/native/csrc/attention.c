/*
 * Attention of one query row per (row, head) over `length` keys/values: the self-attention cache
 * (int8, a scale per key or value row) or a text's keys/values (float32, with an additive mask).
 */
#include <math.h>

#include "internal.h"
#include "simd.h"

#if MG_AVX2

/* Keys/values are read in order; fetch this many rows ahead. */
#define PREFETCH_ROWS 32

static inline void prefetch_row(const void *base, size_t index, int int8) {
    _mm_prefetch((const char *)base + index * (int8 ? 1 : 4), _MM_HINT_T0);
}

static inline __m256 load8(const void *base, size_t index, int int8) {
    if (int8) return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)base + index))));
    return _mm256_loadu_ps((const float *)base + index);
}

/* Sum each of 8 vectors: {hsum(v[0]), ..., hsum(v[7])}. */
static inline __m256 hsum8(const __m256 v[8]) {
    __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
    __m256 c = _mm256_hadd_ps(v[4], v[5]), d = _mm256_hadd_ps(v[6], v[7]);
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
    /* ab = {0 1 2 3 | 0 1 2 3} halves per lane, likewise cd for 4..7: add the lanes. */
    __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20), hi = _mm256_permute2f128_ps(ab, cd, 0x31);
    return _mm256_add_ps(lo, hi);
}

/* s[j] = q . k_j / sqrt(d) * scale_j + mask[j] for j < length; returns the maximum. */
static float scores(const mg_attention_row_t *row, int d, const float *q, size_t head, float *s) {
    const int int8 = row->k_scale != NULL, length = row->length;
    const float *k_scale = int8 ? row->k_scale + head / d : NULL, *mask = row->mask;
    const __m256 scale = _mm256_set1_ps(1.0f / sqrtf((float)d));
    __m256 max = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= length; j += 8) {
        __m256 acc[8];
        for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
        for (int i = 0; i < 8 * d; i += int8 ? 64 : 16) prefetch_row(row->k, head + (size_t)(j + PREFETCH_ROWS) * d + i, int8);
        for (int i = 0; i < d; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            for (int r = 0; r < 8; r++) acc[r] = _mm256_fmadd_ps(qv, load8(row->k, head + (size_t)(j + r) * d + i, int8), acc[r]);
        }
        __m256 score = _mm256_mul_ps(hsum8(acc), scale);
        if (int8) score = _mm256_mul_ps(score, _mm256_loadu_ps(k_scale + j));
        if (mask) score = _mm256_add_ps(score, _mm256_loadu_ps(mask + j));
        _mm256_storeu_ps(s + j, score);
        max = _mm256_max_ps(max, score);
    }
    float top = hmax_ps(max);
    for (; j < length; j++) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(row->k, head + (size_t)j * d + i, int8), acc);
        s[j] = hsum_ps(acc) / sqrtf((float)d) * (int8 ? k_scale[j] : 1.0f) + (mask ? mask[j] : 0.0f);
        if (s[j] > top) top = s[j];
    }
    return top;
}

/* s[j] = exp(s[j] - max); returns the sum. */
static float exponentials(float *s, int length, float max) {
    __m256 m = _mm256_set1_ps(max), total = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= length; j += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, e);
        total = _mm256_add_ps(total, e);
    }
    float sum = hsum_ps(total);
    for (; j < length; j++) {
        s[j] = expf(s[j] - max);
        sum += s[j];
    }
    return sum;
}

/* o[0..d) = sum_t s[t] v_t * inv, 32 columns at a time so the accumulators stay in registers. */
static void weighted_values(const mg_attention_row_t *row, int d, size_t head, const float *s, float inv_sum, float *o) {
    const int int8 = row->v_scale != NULL;
    const __m256 inv = _mm256_set1_ps(inv_sum);
    for (int c = 0; c < d; c += 32) {
        const int width = d - c < 32 ? (d - c) / 8 : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int t = 0; t < row->length; t++) {
            const __m256 p = _mm256_set1_ps(s[t]);
            const size_t at = head + (size_t)t * d + c;
            prefetch_row(row->v, at + (size_t)PREFETCH_ROWS * d, int8);
            for (int i = 0; i < width; i++) acc[i] = _mm256_fmadd_ps(p, load8(row->v, at + 8 * i, int8), acc[i]);
        }
        for (int i = 0; i < width; i++) _mm256_storeu_ps(o + c + 8 * i, _mm256_mul_ps(acc[i], inv));
    }
}

#else /* the scalar reference path */

static inline float element(const void *base, size_t index, int int8) {
    return int8 ? (float)((const int8_t *)base)[index] : ((const float *)base)[index];
}

static float scores(const mg_attention_row_t *row, int d, const float *q, size_t head, float *s) {
    const int int8 = row->k_scale != NULL;
    const float *k_scale = int8 ? row->k_scale + head / d : NULL;
    float top = -INFINITY;
    for (int j = 0; j < row->length; j++) {
        float acc = 0;
        for (int i = 0; i < d; i++) acc += q[i] * element(row->k, head + (size_t)j * d + i, int8);
        s[j] = acc / sqrtf((float)d) * (int8 ? k_scale[j] : 1.0f) + (row->mask ? row->mask[j] : 0.0f);
        if (s[j] > top) top = s[j];
    }
    return top;
}

static float exponentials(float *s, int length, float max) {
    float sum = 0;
    for (int j = 0; j < length; j++) sum += s[j] = expf(s[j] - max);
    return sum;
}

static void weighted_values(const mg_attention_row_t *row, int d, size_t head, const float *s, float inv_sum, float *o) {
    const int int8 = row->v_scale != NULL;
    for (int i = 0; i < d; i++) o[i] = 0;
    for (int t = 0; t < row->length; t++)
        for (int i = 0; i < d; i++) o[i] += s[t] * element(row->v, head + (size_t)t * d + i, int8);
    for (int i = 0; i < d; i++) o[i] *= inv_sum;
}

#endif

void mg_attention_range(void *raw, int begin, int end) {
    const mg_attention_t *a = raw;
    const int d = a->head_dim;
    for (int task = begin; task < end; task++) {
        const mg_attention_row_t *row = &a->rows[task / a->heads];
        const int h = task % a->heads;
        const size_t head = (size_t)h * row->slots * d;
        float *s = a->scores + (size_t)task * a->stride;
        const float inv_sum = 1.0f / exponentials(s, row->length, scores(row, d, row->q + h * d, head, s));
        if (row->v_scale) {
            /* Each value row's scale folds into its weight. */
            const float *v_scale = row->v_scale + head / d;
            for (int t = 0; t < row->length; t++) s[t] *= v_scale[t];
        }
        weighted_values(row, d, head, s, inv_sum, row->out + h * d);
    }
}
