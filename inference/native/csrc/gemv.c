/*
 * The int8 matrix-vector product for up to MG_MAX_ROWS activation rows, split over output rows.
 *
 * Weights come in blocks of MG_BLOCK_ROWS rows laid out chunk by chunk (musicgen_step.h), so a block
 * is one sequential stream from memory. It is multiplied with GEMV_PASS activation rows per pass; for
 * the passes after the first, the block is still in the L1 cache. The AMX build multiplies each chunk
 * with every row at once, in tiles. The integer dot products are exact,
 * so a row's output is the same whatever other rows share the call.
 */
#include <string.h>

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

/*
 * Software prefetch this far ahead in the block's stream, into L2 (T1) rather than L1: a weight byte is
 * read once, and at 8 activation rows L1 must hold their bytes. Measured on Zen 4 (AVX-512 VNNI) against
 * 2 KB into L1: a 4-track step 17-22% faster, one track 7-10%; on its AVX2 build 10-16% and 0-5%.
 */
#ifndef PREFETCH_BYTES
#define PREFETCH_BYTES 4096
#endif
#ifndef PREFETCH_HINT
#define PREFETCH_HINT _MM_HINT_T1
#endif

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
                _mm_prefetch((const char *)chunk + PREFETCH_BYTES + line, PREFETCH_HINT);
        __m256i wv[MG_BLOCK_ROWS];
        for (int j = 0; j < MG_BLOCK_ROWS; j++)
            wv[j] = _mm256_loadu_si256((const __m256i *)(chunk + j * MG_BLOCK_COLS));
        for (int p = 0; p < pass; p++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *)(x + (size_t)p * k + i));
            for (int j = 0; j < MG_BLOCK_ROWS; j++) a[j][p] = dot_stored(a[j][p], wv[j], xv);
        }
    }
    for (int j = 0; j < MG_BLOCK_ROWS; j++)
        for (int p = 0; p < pass; p++) store(g, r + p, n + j, hsum_epi32(a[j][p]));
}

#if MG_AVX512

/*
 * The 512-bit form: a chunk's 4 rows x 32 bytes are two registers (rows 0-1, rows 2-3), each multiplied
 * by the activation's 32 bytes in both halves, so one instruction covers two weight rows; 8 activation
 * rows per pass take 16 accumulators of the 32 registers.
 */
#define PASS512 8

static inline __attribute__((always_inline)) void block512(const mg_gemv_t *g, int n, int r, int pass, int prefetch) {
    const int k = g->m->cols;
    const int8_t *w = g->m->weight + (size_t)n * k;
    const int8_t *x = g->xq + (size_t)r * k;
    __m512i a01[PASS512], a23[PASS512];
    for (int p = 0; p < pass; p++) a01[p] = a23[p] = _mm512_setzero_si512();
    for (int i = 0; i < k; i += MG_BLOCK_COLS) {
        const int8_t *chunk = w + (size_t)i * MG_BLOCK_ROWS;
        if (prefetch) {
            _mm_prefetch((const char *)chunk + PREFETCH_BYTES, PREFETCH_HINT);
            _mm_prefetch((const char *)chunk + PREFETCH_BYTES + 64, PREFETCH_HINT);
        }
        const __m512i w01 = _mm512_loadu_si512(chunk), w23 = _mm512_loadu_si512(chunk + 64);
        for (int p = 0; p < pass; p++) {
            const __m512i xv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x + (size_t)p * k + i)));
            a01[p] = _mm512_dpbusd_epi32(a01[p], w01, xv);
            a23[p] = _mm512_dpbusd_epi32(a23[p], w23, xv);
        }
    }
    const __m128 scale = _mm_loadu_ps(g->m->scale + n);
    for (int p = 0; p < pass; p++) {
        /* 128-bit lanes [r0 r0 r1 r1] and [r2 r2 r3 r3] -> [r0 r1 r2 r3], then each lane's 4 sums. */
        __m512i e = _mm512_add_epi32(_mm512_shuffle_i64x2(a01[p], a23[p], 0x88), _mm512_shuffle_i64x2(a01[p], a23[p], 0xDD));
        e = _mm512_add_epi32(e, _mm512_shuffle_epi32(e, 0x4E));
        e = _mm512_add_epi32(e, _mm512_shuffle_epi32(e, 0xB1));
        __m128i dots = _mm512_castsi512_si128(_mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), e));
        dots = _mm_sub_epi32(dots, _mm_set1_epi32(128 * g->xsum[r + p]));
        __m128 value = _mm_mul_ps(_mm_mul_ps(_mm_cvtepi32_ps(dots), _mm_set1_ps(g->xs[r + p])), scale);
        float *o = g->out[r + p] + n;
        _mm_storeu_ps(o, g->mode == MG_ADD ? _mm_add_ps(_mm_loadu_ps(o), value) : value);
    }
}

#if MG_AMX

/*
 * The AMX form: a block's chunk of 16 rows x 64 bytes is one tile (A, unsigned weights), the
 * activations' matching 64 columns of every row another (B: 16 rows of 4 bytes per activation row,
 * mg_gemv_operand's layout), and one instruction adds their products into the block's sums (C:
 * 16 x rows int32). A 32-byte last chunk (cols % 64) takes its own pair of tiles. Two blocks are
 * multiplied side by side, each into its own sums, so that two products are in flight at once. Every
 * row count goes through the tiles: one track's two rows stream their weights as fast as the vector
 * builds do. The sums are the same integers as the other builds', so the outputs are too, bit for bit.
 *
 * Tile registers are literal numbers: the intrinsics paste them into the instruction.
 */
#define TILE_SUMS0 0
#define TILE_SUMS1 1
#define TILE_W0 2
#define TILE_W1 3
#define TILE_X 4
#define TILE_W0_TAIL 5
#define TILE_W1_TAIL 6
#define TILE_X_TAIL 7

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} tile_config;

/*
 * The tiles configured for `rows` activation rows on this thread. The configuration is read back
 * first: other code on the thread (oneDNN) may have set its own or released the tiles since, and
 * loading it again costs more than checking.
 */
static void configure_tiles(int rows) {
    tile_config c, now;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    const int tail = MG_BLOCK_COLS / 2;
    const struct { int tile, rows, bytes; } tiles[] = {
        {TILE_SUMS0, MG_BLOCK_ROWS, 4 * rows}, {TILE_SUMS1, MG_BLOCK_ROWS, 4 * rows},
        {TILE_W0, MG_BLOCK_ROWS, MG_BLOCK_COLS}, {TILE_W1, MG_BLOCK_ROWS, MG_BLOCK_COLS},
        {TILE_X, MG_BLOCK_COLS / 4, 4 * rows},   {TILE_W0_TAIL, MG_BLOCK_ROWS, tail},
        {TILE_W1_TAIL, MG_BLOCK_ROWS, tail},     {TILE_X_TAIL, tail / 4, 4 * rows},
    };
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        c.rows[tiles[i].tile] = (uint8_t)tiles[i].rows;
        c.bytes_per_row[tiles[i].tile] = (uint16_t)tiles[i].bytes;
    }
    _tile_storeconfig(&now);
    if (memcmp(&c, &now, sizeof c) != 0) _tile_loadconfig(&c);
}

/*
 * A tile load waits for all 16 of its lines, so the weights are prefetched into L1, not L2 as the vector
 * form does (Intel Xeon, a 4-track step: 19.6 ms against 20.4-20.9 into L2, 4 KB ahead either way).
 */
static inline void prefetch_chunk(const int8_t *chunk) {
    for (int line = 0; line < CHUNK; line += 64) _mm_prefetch((const char *)chunk + PREFETCH_BYTES + line, _MM_HINT_T0);
}

/* Outputs n..n+15 of activation row r from their integer sums: store()'s arithmetic, 16 at once. */
static inline void store16(const mg_gemv_t *g, int r, int n, __m512i dots) {
    dots = _mm512_sub_epi32(dots, _mm512_set1_epi32(128 * g->xsum[r]));
    const __m512 value = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dots), _mm512_set1_ps(g->xs[r])),
                                       _mm512_loadu_ps(g->m->scale + n));
    float *o = g->out[r] + n;
    _mm512_storeu_ps(o, g->mode == MG_ADD ? _mm512_add_ps(_mm512_loadu_ps(o), value) : value);
}

/* The sums of a block (16 weight rows x g->rows, as the tile stores them) into the outputs. */
static void store_block(const mg_gemv_t *g, int n, int32_t sums[MG_BLOCK_ROWS][MG_MAX_ROWS]) {
    const __m512i column = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32(MG_MAX_ROWS));
    for (int r = 0; r < g->rows; r++)
        store16(g, r, n, _mm512_i32gather_epi32(_mm512_add_epi32(column, _mm512_set1_epi32(r)), &sums[0][0], 4));
}

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    const int k = g->m->cols, chunks = k / MG_BLOCK_COLS, x_stride = 4 * g->rows;
    const size_t x_chunk = (size_t)MG_BLOCK_COLS / 4 * x_stride, block = (size_t)MG_BLOCK_ROWS * k;
    const int8_t *x_tail = g->xq + chunks * x_chunk;
    int32_t sums[MG_BLOCK_ROWS][MG_MAX_ROWS];
    configure_tiles(g->rows);
    for (int n = begin; n < end; n += 2 * MG_BLOCK_ROWS) {
        /* An odd block at the end of the range goes as both of a pair (in the cache the second time). */
        const int pair = n + MG_BLOCK_ROWS < end;
        const int8_t *w0 = g->m->weight + (size_t)n * k, *w1 = pair ? w0 + block : w0;
        _tile_zero(TILE_SUMS0);
        _tile_zero(TILE_SUMS1);
        for (int i = 0; i < chunks; i++) {
            const int8_t *c0 = w0 + (size_t)i * CHUNK, *c1 = w1 + (size_t)i * CHUNK;
            prefetch_chunk(c0);
            if (pair) prefetch_chunk(c1);
            _tile_loadd(TILE_X, g->xq + i * x_chunk, x_stride);
            _tile_loadd(TILE_W0, c0, MG_BLOCK_COLS);
            _tile_dpbusd(TILE_SUMS0, TILE_W0, TILE_X);
            _tile_loadd(TILE_W1, c1, MG_BLOCK_COLS);
            _tile_dpbusd(TILE_SUMS1, TILE_W1, TILE_X);
        }
        if (k % MG_BLOCK_COLS) {
            _tile_loadd(TILE_X_TAIL, x_tail, x_stride);
            _tile_loadd(TILE_W0_TAIL, w0 + (size_t)chunks * CHUNK, MG_BLOCK_COLS / 2);
            _tile_dpbusd(TILE_SUMS0, TILE_W0_TAIL, TILE_X_TAIL);
            _tile_loadd(TILE_W1_TAIL, w1 + (size_t)chunks * CHUNK, MG_BLOCK_COLS / 2);
            _tile_dpbusd(TILE_SUMS1, TILE_W1_TAIL, TILE_X_TAIL);
        }
        _tile_stored(TILE_SUMS0, sums, sizeof sums[0]);
        store_block(g, n, sums);
        if (pair) {
            _tile_stored(TILE_SUMS1, sums, sizeof sums[0]);
            store_block(g, n + MG_BLOCK_ROWS, sums);
        }
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

const int8_t *mg_gemv_operand(const int8_t *xq, int rows, int cols, int8_t *scratch) {
    const int groups = cols / 4;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < groups; c++) memcpy(scratch + ((size_t)c * rows + r) * 4, xq + (size_t)r * cols + 4 * c, 4);
    return scratch;
}

#else

void mg_gemv_range(void *raw, int begin, int end) {
    const mg_gemv_t *g = raw;
    for (int n = begin; n < end; n += MG_BLOCK_ROWS) {
        int r = 0;
        for (; r + PASS512 <= g->rows; r += PASS512) block512(g, n, r, PASS512, r == 0);
        switch (g->rows - r) { /* the rest, each count its own unrolled copy */
        case 1: block512(g, n, r, 1, r == 0); break;
        case 2: block512(g, n, r, 2, r == 0); break;
        case 3: block512(g, n, r, 3, r == 0); break;
        case 4: block512(g, n, r, 4, r == 0); break;
        case 5: block512(g, n, r, 5, r == 0); break;
        case 6: block512(g, n, r, 6, r == 0); break;
        case 7: block512(g, n, r, 7, r == 0); break;
        default: break;
        }
    }
    if (g->mode == MG_STORE_GELU)
        for (int r = 0; r < g->rows; r++) mg_gelu(g->out[r] + begin, end - begin);
}

#endif /* MG_AMX */

#else

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

#endif /* MG_AVX512 */

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

#if !MG_AMX
const int8_t *mg_gemv_operand(const int8_t *xq, int rows, int cols, int8_t *scratch) {
    (void)rows, (void)cols, (void)scratch;
    return xq;
}
#endif
