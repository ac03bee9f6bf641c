/*
 * Attention of one query row per (row, head) over `length` keys/values.
 *
 * Over the self-attention cache (int8, a scale per key or value row, in tiles: musicgen_step.h) the
 * work is integer products: the query is quantised to int8 per head and scored against a tile of 16
 * keys at once; the softmax weights times each value row's scale are quantised to WEIGHT_LEVELS
 * (two 7-bit planes, so no int16 product saturates without VNNI) and summed against 4 value rows at
 * once. Over a text's keys/values (float32, with an additive mask) it is float32 throughout.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "simd.h"

#define WEIGHT_BITS 14
#define WEIGHT_LEVELS ((1 << WEIGHT_BITS) - 1)
#define PLANE_BITS 7

/* A stored key byte's value (mg_key_stored undone). */
static inline int key_value(int8_t stored) { return MG_UNSIGNED_WEIGHTS ? (int)(uint8_t)stored - 128 : stored; }

void mg_cache_place(int8_t *keys, int8_t *values, int slot, const int8_t *k, const int8_t *v, int d) {
    for (int i = 0; i < d; i++) {
        keys[mg_key_at(slot, i, d)] = mg_key_stored(k[i]);
        values[mg_value_at(slot, i, d)] = v[i];
    }
}

void mg_cache_write(int8_t *keys, int8_t *values, float *k_scale, float *v_scale, int slot, const float *k,
                    const float *v, int d) {
    int8_t qk[MG_MAX_HEAD_DIM], qv[MG_MAX_HEAD_DIM];
    k_scale[slot] = mg_quantize_short_row(k, qk, d);
    v_scale[slot] = mg_quantize_short_row(v, qv, d);
    mg_cache_place(keys, values, slot, qk, qv, d);
}

#if MG_AVX2

static float row_max(const float *s, int length) {
    __m256 top = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= length; j += 8) top = _mm256_max_ps(top, _mm256_loadu_ps(s + j));
    float largest = hmax_ps(top);
    for (; j < length; j++) largest = s[j] > largest ? s[j] : largest;
    return largest;
}

/* ---- the int8 cache ---- */

/* s[j] = (k_j . q) * factor * k_scale[j] for the `tiles` tiles of 16 keys (past `length` too). */
static void key_scores(const int8_t *keys, const int8_t *q, int32_t q_sum, int d, int tiles, const float *k_scale,
                       float factor, float *s) {
    const int32_t offset = MG_UNSIGNED_WEIGHTS ? 128 * q_sum : 0;
    for (int t = 0; t < tiles; t++) {
        const int8_t *tile = keys + (size_t)t * MG_KEY_TILE * d;
#if MG_AVX512
        __m512i a = _mm512_setzero_si512(), b = _mm512_setzero_si512();
        for (int g = 0; g < d / 4; g += 2) {
            int32_t q0, q1;
            memcpy(&q0, q + 4 * g, 4);
            memcpy(&q1, q + 4 * g + 4, 4);
            a = _mm512_dpbusd_epi32(a, _mm512_loadu_si512(tile + 64 * g), _mm512_set1_epi32(q0));
            b = _mm512_dpbusd_epi32(b, _mm512_loadu_si512(tile + 64 * g + 64), _mm512_set1_epi32(q1));
        }
        __m512 dots = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_add_epi32(a, b), _mm512_set1_epi32(offset)));
        __m512 score = _mm512_mul_ps(_mm512_mul_ps(dots, _mm512_set1_ps(factor)), _mm512_loadu_ps(k_scale + 16 * t));
        _mm512_storeu_ps(s + 16 * t, score);
#else
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256(); /* keys 0-7, 8-15 */
        for (int g = 0; g < d / 4; g++) {
            int32_t q4;
            memcpy(&q4, q + 4 * g, 4);
            const __m256i qv = _mm256_set1_epi32(q4);
            lo = dot_stored(lo, _mm256_loadu_si256((const __m256i *)(tile + 64 * g)), qv);
            hi = dot_stored(hi, _mm256_loadu_si256((const __m256i *)(tile + 64 * g + 32)), qv);
        }
        const __m256i off = _mm256_set1_epi32(offset);
        const __m256 f = _mm256_set1_ps(factor);
        _mm256_storeu_ps(s + 16 * t, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(lo, off)), f),
                                                   _mm256_loadu_ps(k_scale + 16 * t)));
        _mm256_storeu_ps(s + 16 * t + 8, _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(hi, off)), f),
                                                       _mm256_loadu_ps(k_scale + 16 * t + 8)));
#endif
    }
}

/*
 * w[t] = s[t] * v_scale[t] (0 from `length` on) as integers of WEIGHT_BITS bits relative to the largest,
 * written per group of 4 slots as {high 7 bits x 4, low 7 bits x 4}; returns the largest w.
 */
static float weight_planes(const float *s, const float *v_scale, int length, int groups, uint8_t *planes) {
    __m256 top = _mm256_setzero_ps();
    int t = 0;
    for (; t + 8 <= length; t += 8) top = _mm256_max_ps(top, _mm256_mul_ps(_mm256_loadu_ps(s + t), _mm256_loadu_ps(v_scale + t)));
    float largest = hmax_ps(top);
    for (; t < length; t++) largest = fmaxf(largest, s[t] * v_scale[t]);
    const __m256 inv = _mm256_set1_ps(largest > 0 ? (float)WEIGHT_LEVELS / largest : 0.0f);
    const __m256i low = _mm256_set1_epi32((1 << PLANE_BITS) - 1), index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (t = 0; t < groups * MG_VALUE_GROUP; t += 8) {
        const __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(length - t), index);
        __m256 w = _mm256_and_ps(_mm256_castsi256_ps(valid), _mm256_mul_ps(_mm256_loadu_ps(s + t), _mm256_loadu_ps(v_scale + t)));
        __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(w, inv));
        /* Per 128-bit lane {hi x 4, lo x 4} as int16, then as bytes: lane 0 is group t/4, lane 1 the next. */
        __m256i words = _mm256_packs_epi32(_mm256_srli_epi32(q, PLANE_BITS), _mm256_and_si256(q, low));
        __m256i bytes = _mm256_packus_epi16(words, words);
        __m128i pair = _mm_unpacklo_epi64(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
        if (t + 8 <= groups * MG_VALUE_GROUP)
            _mm_storeu_si128((__m128i *)(planes + 2 * t), pair);
        else
            _mm_storel_epi64((__m128i *)(planes + 2 * t), pair);
    }
    return largest;
}

/* o[i] = (sum_t w[t] v[t][i]) * factor over `groups` groups of 4 value rows. */
static void weighted_values(const int8_t *values, const uint8_t *planes, int groups, int d, float factor, float *o) {
#if MG_AVX512
    if (d % 64 == 0) {
        for (int c = 0; c < d; c += 64) {
            __m512i hi[4], lo[4];
            for (int i = 0; i < 4; i++) hi[i] = lo[i] = _mm512_setzero_si512();
            for (int g = 0; g < groups; g++) {
                int32_t h4, l4;
                memcpy(&h4, planes + 8 * g, 4);
                memcpy(&l4, planes + 8 * g + 4, 4);
                const __m512i h = _mm512_set1_epi32(h4), l = _mm512_set1_epi32(l4);
                const int8_t *group = values + (size_t)g * MG_VALUE_GROUP * d + (size_t)c * MG_VALUE_GROUP;
                for (int i = 0; i < 4; i++) {
                    const __m512i v = _mm512_loadu_si512(group + 64 * i);
                    hi[i] = _mm512_dpbusd_epi32(hi[i], h, v);
                    lo[i] = _mm512_dpbusd_epi32(lo[i], l, v);
                }
            }
            for (int i = 0; i < 4; i++) {
                __m512 sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[i]), _mm512_set1_ps((float)(1 << PLANE_BITS)),
                                             _mm512_cvtepi32_ps(lo[i]));
                _mm512_storeu_ps(o + c + 16 * i, _mm512_mul_ps(sum, _mm512_set1_ps(factor)));
            }
        }
        return;
    }
#endif
    for (int c = 0; c < d; c += 32) {
        const int width = d - c < 32 ? (d - c) / 8 : 4; /* registers of 8 columns (d is a multiple of 8) */
        __m256i hi[4], lo[4];
        for (int i = 0; i < 4; i++) hi[i] = lo[i] = _mm256_setzero_si256();
        for (int g = 0; g < groups; g++) {
            int32_t h4, l4;
            memcpy(&h4, planes + 8 * g, 4);
            memcpy(&l4, planes + 8 * g + 4, 4);
            const __m256i h = _mm256_set1_epi32(h4), l = _mm256_set1_epi32(l4);
            const int8_t *group = values + (size_t)g * MG_VALUE_GROUP * d + (size_t)c * MG_VALUE_GROUP;
            for (int i = 0; i < width; i++) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(group + 32 * i));
                hi[i] = dot_u7(hi[i], h, v);
                lo[i] = dot_u7(lo[i], l, v);
            }
        }
        for (int i = 0; i < width; i++) {
            __m256 sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[i]), _mm256_set1_ps((float)(1 << PLANE_BITS)),
                                         _mm256_cvtepi32_ps(lo[i]));
            _mm256_storeu_ps(o + c + 8 * i, _mm256_mul_ps(sum, _mm256_set1_ps(factor)));
        }
    }
}

/* ---- a text's float32 keys/values ---- */

/* Keys/values are read in order; fetch this many rows ahead. */
#define PREFETCH_ROWS 32

/* Sum each of 8 vectors: {hsum(v[0]), ..., hsum(v[7])}. */
static inline __m256 hsum8(const __m256 v[8]) {
    __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
    __m256 c = _mm256_hadd_ps(v[4], v[5]), d = _mm256_hadd_ps(v[6], v[7]);
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
    /* ab = {0 1 2 3 | 0 1 2 3} halves per lane, likewise cd for 4..7: add the lanes. */
    __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20), hi = _mm256_permute2f128_ps(ab, cd, 0x31);
    return _mm256_add_ps(lo, hi);
}

/* s[j] = q . k_j / sqrt(d) + mask[j] for j < length. */
static void text_scores(const float *k, const float *mask, int length, int d, const float *q, float *s) {
    const __m256 scale = _mm256_set1_ps(1.0f / sqrtf((float)d));
    int j = 0;
    for (; j + 8 <= length; j += 8) {
        __m256 acc[8];
        for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
        for (int i = 0; i < 8 * d; i += 16) _mm_prefetch((const char *)(k + (size_t)(j + PREFETCH_ROWS) * d + i), _MM_HINT_T0);
        for (int i = 0; i < d; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            for (int r = 0; r < 8; r++) acc[r] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + (size_t)(j + r) * d + i), acc[r]);
        }
        __m256 score = _mm256_mul_ps(hsum8(acc), scale);
        if (mask) score = _mm256_add_ps(score, _mm256_loadu_ps(mask + j));
        _mm256_storeu_ps(s + j, score);
    }
    for (; j < length; j++) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(k + (size_t)j * d + i), acc);
        s[j] = hsum_ps(acc) / sqrtf((float)d) + (mask ? mask[j] : 0.0f);
    }
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
static void text_values(const float *v, int length, int d, const float *s, float inv_sum, float *o) {
    const __m256 inv = _mm256_set1_ps(inv_sum);
    for (int c = 0; c < d; c += 32) {
        const int width = d - c < 32 ? (d - c) / 8 : 4;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int t = 0; t < length; t++) {
            const __m256 p = _mm256_set1_ps(s[t]);
            const float *row = v + (size_t)t * d + c;
            _mm_prefetch((const char *)(row + (size_t)PREFETCH_ROWS * d), _MM_HINT_T0);
            for (int i = 0; i < width; i++) acc[i] = _mm256_fmadd_ps(p, _mm256_loadu_ps(row + 8 * i), acc[i]);
        }
        for (int i = 0; i < width; i++) _mm256_storeu_ps(o + c + 8 * i, _mm256_mul_ps(acc[i], inv));
    }
}

#else /* the scalar reference path */

static float row_max(const float *s, int length) {
    float top = -INFINITY;
    for (int j = 0; j < length; j++) top = s[j] > top ? s[j] : top;
    return top;
}

static void key_scores(const int8_t *keys, const int8_t *q, int32_t q_sum, int d, int tiles, const float *k_scale,
                       float factor, float *s) {
    (void)q_sum; /* the portable build stores keys signed */
    for (int j = 0; j < tiles * MG_KEY_TILE; j++) {
        int32_t dot = 0;
        for (int i = 0; i < d; i++) dot += key_value(keys[mg_key_at(j, i, d)]) * q[i];
        s[j] = (float)dot * factor * k_scale[j];
    }
}

static float weight_planes(const float *s, const float *v_scale, int length, int groups, uint8_t *planes) {
    float largest = 0;
    for (int t = 0; t < length; t++) largest = fmaxf(largest, s[t] * v_scale[t]);
    const float inv = largest > 0 ? (float)WEIGHT_LEVELS / largest : 0.0f;
    for (int t = 0; t < groups * MG_VALUE_GROUP; t++) {
        const long q = t < length ? lrintf(s[t] * v_scale[t] * inv) : 0; /* half to even, as the vectors */
        uint8_t *group = planes + 2 * MG_VALUE_GROUP * (t / MG_VALUE_GROUP);
        group[t % MG_VALUE_GROUP] = (uint8_t)(q >> PLANE_BITS);
        group[MG_VALUE_GROUP + t % MG_VALUE_GROUP] = (uint8_t)(q & ((1 << PLANE_BITS) - 1));
    }
    return largest;
}

static void weighted_values(const int8_t *values, const uint8_t *planes, int groups, int d, float factor, float *o) {
    for (int i = 0; i < d; i++) {
        int32_t hi = 0, lo = 0;
        for (int t = 0; t < groups * MG_VALUE_GROUP; t++) {
            const uint8_t *group = planes + 2 * MG_VALUE_GROUP * (t / MG_VALUE_GROUP);
            const int v = values[mg_value_at(t, i, d)];
            hi += group[t % MG_VALUE_GROUP] * v;
            lo += group[MG_VALUE_GROUP + t % MG_VALUE_GROUP] * v;
        }
        o[i] = ((float)hi * (float)(1 << PLANE_BITS) + (float)lo) * factor;
    }
}

static void text_scores(const float *k, const float *mask, int length, int d, const float *q, float *s) {
    for (int j = 0; j < length; j++) {
        float acc = 0;
        for (int i = 0; i < d; i++) acc += q[i] * k[(size_t)j * d + i];
        s[j] = acc / sqrtf((float)d) + (mask ? mask[j] : 0.0f);
    }
}

static float exponentials(float *s, int length, float max) {
    float sum = 0;
    for (int j = 0; j < length; j++) sum += s[j] = expf(s[j] - max);
    return sum;
}

static void text_values(const float *v, int length, int d, const float *s, float inv_sum, float *o) {
    for (int i = 0; i < d; i++) o[i] = 0;
    for (int t = 0; t < length; t++)
        for (int i = 0; i < d; i++) o[i] += s[t] * v[(size_t)t * d + i];
    for (int i = 0; i < d; i++) o[i] *= inv_sum;
}

#endif

/* One head over the int8 cache (this step's key and value written first); s and planes are scratch. */
static void attend_cache(const mg_attention_row_t *row, int h, int heads, int d, float *s, uint8_t *planes) {
    const size_t head = (size_t)h * row->slots * d;
    const float *k_scale = row->k_scale + (size_t)h * row->slots, *v_scale = row->v_scale + (size_t)h * row->slots;
    if (row->new_kv)
        mg_cache_write((int8_t *)row->k + head, (int8_t *)row->v + head, (float *)k_scale, (float *)v_scale,
                       row->length - 1, row->new_kv + h * d, row->new_kv + (heads + h) * d, d);
    int8_t q[MG_MAX_HEAD_DIM];
    int32_t q_sum = 0;
    const float q_scale = mg_quantize_short_row(row->q + h * d, q, d);
    for (int i = 0; i < d; i++) q_sum += q[i];
    const int length = row->length, tiles = (length + MG_KEY_TILE - 1) / MG_KEY_TILE;
    key_scores((const int8_t *)row->k + head, q, q_sum, d, tiles, k_scale, q_scale / sqrtf((float)d), s);
    const float sum = exponentials(s, length, row_max(s, length));
    const int groups = (length + MG_VALUE_GROUP - 1) / MG_VALUE_GROUP;
    const float largest = weight_planes(s, v_scale, length, groups, planes);
    weighted_values((const int8_t *)row->v + head, planes, groups, d, largest / (float)WEIGHT_LEVELS / sum,
                    row->out + h * d);
}

/* One head over a text's float32 keys/values. */
static void attend_text(const mg_attention_row_t *row, int h, int d, float *s) {
    const size_t head = (size_t)h * row->slots * d;
    text_scores((const float *)row->k + head, row->mask, row->length, d, row->q + h * d, s);
    const float sum = exponentials(s, row->length, row_max(s, row->length));
    text_values((const float *)row->v + head, row->length, d, s, 1.0f / sum, row->out + h * d);
}

void mg_attention_range(void *raw, int begin, int end) {
    const mg_attention_t *a = raw;
    for (int task = begin; task < end; task++) {
        const mg_attention_row_t *row = &a->rows[task / a->heads];
        float *s = a->scores + (size_t)task * a->stride;
        if (row->k_scale)
            attend_cache(row, task % a->heads, a->heads, a->head_dim, s, a->planes + (size_t)task * 2 * a->stride);
        else
            attend_text(row, task % a->heads, a->head_dim, s);
    }
}
