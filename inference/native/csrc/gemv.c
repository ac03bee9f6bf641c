/*
 * The int8 matrix-vector product for up to MG_MAX_ROWS activation rows, split over output rows.
 *
 * Weights come in blocks of MG_BLOCK_ROWS rows laid out chunk by chunk (musicgen_step.h), so a block
 * is one sequential stream from memory. It is multiplied with GEMV_PASS activation rows per pass; for
 * the passes after the first, the block is still in the L1 cache. The integer dot products are exact,
 * so a row's output is the same whatever other rows share the call.
 */
#include "internal.h"
#include "simd.h"

static inline void store(const mg_gemv_t *g, int row, int n, int32_t dot) {
    if (MG_UNSIGNED_WEIGHTS) dot -= 128 * g->xsum[row];
    float value = (float)dot * g->xs[row] * g->m->scale[n];
    float *o = g->out[row] + n;
    *o = g->mode == MG_ADD ? *o + value : value;
}

#if MG_AVX2

/*
 * Activation rows per pass over a block: each takes MG_BLOCK_ROWS accumulators, so 2 fit AVX2's 16
 * vector registers, 4 the 32 of AVX-512 (whose VNNI product is one instruction). A build may set it.
 */
#ifndef GEMV_PASS
#if defined(__AVX512VL__)
#define GEMV_PASS 4
#else
#define GEMV_PASS 2
#endif
#endif

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

/* Software prefetch this far ahead in the block's stream (measured: 1-4 KB all reach the read rate). */
#define PREFETCH_BYTES 2048

#define CHUNK (MG_BLOCK_ROWS * MG_BLOCK_COLS)

/* The block of weight rows n.. against activation rows r..r+pass-1 (pass a constant once inlined). */
static inline __attribute__((always_inline)) void block(const mg_gemv_t *g, int n, int r, int pass, int prefetch) {
    const int k = g->m->cols;
    const int8_t *w = g->m->weight + (size_t)n * k;
    const int8_t *x = g->xq + (size_t)r * k;
    __m256i a[MG_BLOCK_ROWS][GEMV_PASS];
    for (int j = 0; j < MG_BLOCK_ROWS; j++)
        for (int p = 0; p < pass; p++) a[j][p] = _mm256_setzero_si256();
    for (int i = 0; i < k; i += MG_BLOCK_COLS) {
        const int8_t *chunk = w + (size_t)i * MG_BLOCK_ROWS;
        if (prefetch)
            for (int line = 0; line < CHUNK; line += 64)
                _mm_prefetch((const char *)chunk + PREFETCH_BYTES + line, _MM_HINT_T0);
        __m256i wv[MG_BLOCK_ROWS];
        for (int j = 0; j < MG_BLOCK_ROWS; j++)
            wv[j] = _mm256_loadu_si256((const __m256i *)(chunk + j * MG_BLOCK_COLS));
        for (int p = 0; p < pass; p++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *)(x + (size_t)p * k + i));
            for (int j = 0; j < MG_BLOCK_ROWS; j++) a[j][p] = dot(a[j][p], wv[j], xv);
        }
    }
    for (int j = 0; j < MG_BLOCK_ROWS; j++)
        for (int p = 0; p < pass; p++) store(g, r + p, n + j, hsum_epi32(a[j][p]));
}

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    for (int n = begin; n < end; n += MG_BLOCK_ROWS) {
        int r = 0;
        for (; r + GEMV_PASS <= g->rows; r += GEMV_PASS) block(g, n, r, GEMV_PASS, r == 0);
        switch (g->rows - r) { /* the rest, each count its own unrolled copy */
        case 1: block(g, n, r, 1, r == 0); break;
#if GEMV_PASS > 2
        case 2: block(g, n, r, 2, r == 0); break;
        case 3: block(g, n, r, 3, r == 0); break;
#endif
        default: break;
        }
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

#else /* the scalar reference path */

/* One weight row of a block (every MG_BLOCK_ROWS-th chunk from `w`) times x. */
static int32_t dot_row(const int8_t *w, const int8_t *x, int k) {
    int32_t total = 0;
    for (int i = 0; i < k; i += MG_BLOCK_COLS) {
        const int8_t *chunk = w + (size_t)i * MG_BLOCK_ROWS;
        int32_t sum = 0; /* a dot product of 32 bytes: a loop compilers vectorise */
        for (int b = 0; b < MG_BLOCK_COLS; b++) sum += (int32_t)chunk[b] * x[i + b];
        total += sum;
    }
    return total;
}

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    const int k = g->m->cols;
    for (int n = begin; n < end; n += MG_BLOCK_ROWS) {
        const int8_t *w = g->m->weight + (size_t)n * k;
        for (int r = 0; r < g->rows; r++)
            for (int j = 0; j < MG_BLOCK_ROWS; j++)
                store(g, r, n + j, dot_row(w + j * MG_BLOCK_COLS, g->xq + (size_t)r * k, k));
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

#endif
