/*
 * The int8 matrix-vector product for up to MG_MAX_ROWS activation rows, split over output rows.
 *
 * A block of GEMV_ROWS weight rows is streamed from memory once and multiplied with the activation
 * rows two at a time; for the pairs after the first, the block is still in the L1 cache. The integer
 * dot products are exact, so a row's output is the same whatever other rows share the call.
 */
#include "internal.h"
#include "simd.h"

#define GEMV_ROWS 4

static inline void store(const mg_gemv_t *g, int row, int n, int32_t dot) {
    if (MG_UNSIGNED_WEIGHTS) dot -= 128 * g->xsum[row];
    float value = (float)dot * g->xs[row] * g->m->scale[n];
    float *o = g->out[row] + n;
    *o = g->mode == MG_ADD ? *o + value : value;
}

#if MG_AVX2

#if MG_UNSIGNED_WEIGHTS
static inline __m256i dot(__m256i acc, __m256i w, __m256i x) {
#if defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, w, x);
#else
    return _mm256_dpbusd_epi32(acc, w, x);
#endif
}
#else
static inline __m256i dot(__m256i acc, __m256i w, __m256i x) {
    /* |w|, |x| <= 127, so a pair of products fits int16 without saturating. */
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
#endif

/*
 * Software prefetch this many bytes ahead in each of the rows being read: the hardware prefetcher
 * alone leaves a third of the memory bandwidth unused on four interleaved row streams per thread.
 */
#define PREFETCH_BYTES 4096

/* Weight rows n..n+3 against activation rows r and r + 1 (`pair` 2) or r alone (`pair` 1). */
static inline void block(const mg_gemv_t *g, int n, int r, int pair, int prefetch) {
    const int k = g->m->cols;
    const int8_t *w = g->m->weight + (size_t)n * k;
    const int8_t *x0 = g->xq + (size_t)r * k, *x1 = x0 + (pair > 1 ? k : 0);
    __m256i a[GEMV_ROWS][2];
    for (int i = 0; i < GEMV_ROWS; i++) a[i][0] = a[i][1] = _mm256_setzero_si256();
    for (int i = 0; i < k; i += 32) {
        if (prefetch && i % 64 == 0)
            for (int j = 0; j < GEMV_ROWS; j++)
                _mm_prefetch((const char *)(w + (size_t)j * k + i + PREFETCH_BYTES), _MM_HINT_T0);
        __m256i xa = _mm256_loadu_si256((const __m256i *)(x0 + i));
        if (pair > 1) {
            __m256i xb = _mm256_loadu_si256((const __m256i *)(x1 + i));
            for (int j = 0; j < GEMV_ROWS; j++) {
                __m256i wv = _mm256_loadu_si256((const __m256i *)(w + (size_t)j * k + i));
                a[j][0] = dot(a[j][0], wv, xa);
                a[j][1] = dot(a[j][1], wv, xb);
            }
        } else {
            for (int j = 0; j < GEMV_ROWS; j++)
                a[j][0] = dot(a[j][0], _mm256_loadu_si256((const __m256i *)(w + (size_t)j * k + i)), xa);
        }
    }
    for (int j = 0; j < GEMV_ROWS; j++)
        for (int p = 0; p < pair; p++) store(g, r + p, n + j, hsum_epi32(a[j][p]));
}

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    for (int n = begin; n < end; n += GEMV_ROWS) {
        int r = 0;
        for (; r + 2 <= g->rows; r += 2) block(g, n, r, 2, r == 0);
        if (r < g->rows) block(g, n, r, 1, r == 0);
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

#else /* the scalar reference path */

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    const int k = g->m->cols;
    for (int n = begin; n < end; n++) {
        const int8_t *w = g->m->weight + (size_t)n * k;
        for (int r = 0; r < g->rows; r++) {
            const int8_t *x = g->xq + (size_t)r * k;
            int32_t sum = 0;
            for (int i = 0; i < k; i++) sum += (int32_t)w[i] * x[i];
            store(g, r, n, sum);
        }
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

#endif
