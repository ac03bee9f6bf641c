/*
 * What the library's parts share: the instruction set this build targets, the thread pool, the row
 * operations, the GEMV and attention kernels. Each kernel has a vector path (AVX2, with VNNI where
 * the build has it) and a scalar reference path (the portable build, any CPU).
 */
#ifndef MUSICGEN_INTERNAL_H
#define MUSICGEN_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "musicgen_step.h"

#if defined(__AVX2__) && defined(__FMA__)
#define MG_AVX2 1
#include <immintrin.h>
#else
#define MG_AVX2 0
#endif

/*
 * With VNNI, weights are stored offset to unsigned (w + 128) and multiplied by the signed activations
 * in one instruction; the offset comes back out as 128 * sum(x). Plain AVX2 has no int32-accumulating
 * u8 x s8 product without int16 saturation, so there the signs move onto x.
 */
#if MG_AVX2 && (defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__)))
#define MG_UNSIGNED_WEIGHTS 1
#else
#define MG_UNSIGNED_WEIGHTS 0
#endif

/* The AVX-512 VNNI build multiplies in 512-bit registers: two weight rows or sixteen keys at once. */
#if MG_UNSIGNED_WEIGHTS && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define MG_AVX512 1
#else
#define MG_AVX512 0
#endif

/* The AMX build is the AVX-512 VNNI build whose GEMV multiplies in AMX tiles (gemv.c). */
#if MG_AVX512 && defined(__AMX_TILE__) && defined(__AMX_INT8__)
#define MG_AMX 1
#else
#define MG_AMX 0
#endif

/*
 * The weights' row blocks (musicgen_step.h): 4 rows x 32 bytes, a chunk the vector GEMV reads in
 * registers; in the AMX build 16 x 64, one tile. Matrices' rows are a multiple of MG_GEMV_GRAIN.
 */
#if MG_AMX
#define MG_BLOCK_ROWS 16
#define MG_BLOCK_COLS 64
#else
#define MG_BLOCK_ROWS 4
#define MG_BLOCK_COLS 32
#endif
#define MG_GEMV_GRAIN 16

/* Whether this process may use AMX tiles: the CPU has them and the OS granted their state (info.c). */
int mg_amx_usable(void);

/* ------------------------------------------------------------------------------------------ */
/* Thread pool (pool.c). */

typedef void (*mg_range_fn)(void *ctx, int begin, int end);

typedef struct mg_pool mg_pool;

/* A pool of `threads` threads, the caller's included; NULL when threads cannot be made. */
mg_pool *mg_pool_new(int threads);
void mg_pool_free(mg_pool *pool);
int mg_pool_threads(const mg_pool *pool);
/* fn over [0, total) in chunks that are multiples of `grain`; returns when every chunk is done. */
void mg_pool_run(mg_pool *pool, mg_range_fn fn, void *ctx, int total, int grain);

/* ------------------------------------------------------------------------------------------ */
/* Row operations (rowops.c). */

void mg_layer_norm(const float *x, float *out, int n, const float *w, const float *b, float eps);
/* x [n] -> int8 q [n], x ~= q * scale, scale = max|x| / 127 (n a multiple of 32); *sum = sum(q). */
float mg_quantize_row(const float *x, int8_t *q, int n, int32_t *sum);
/* The same for a short row (n a multiple of 8), without the sum. */
float mg_quantize_short_row(const float *x, int8_t *q, int n);
/* x[i] = GELU(x[i]) (the erf form MusicGen's decoder uses), n a multiple of 8. */
void mg_gelu(float *x, int n);
/* out[i] += x[i] */
void mg_add(float *out, const float *x, int n);

/* ------------------------------------------------------------------------------------------ */
/* The int8 matrix-vector product (gemv.c). */

enum { MG_STORE = 0, MG_ADD = 1, MG_STORE_GELU = 2 };

typedef struct {
    const mg_matrix *m;
    const int8_t *xq;    /* [rows][m->cols], in the AMX build as mg_gemv_operand lays it out */
    const float *xs;     /* [rows] activation scales */
    const int32_t *xsum; /* [rows] sums of xq */
    int rows;
    float *out[MG_MAX_ROWS]; /* row r's output [m->rows] */
    int mode;
} mg_gemv_t;

/* Output rows [begin, end) (multiples of MG_GEMV_GRAIN) of every activation row: a range function for the pool. */
void mg_gemv_range(void *gemv, int begin, int end);

/*
 * The activations as this build's GEMV reads them: xq [rows][cols] itself, or in the AMX build its
 * groups of 4 bytes column-major (group g of row r at (g * rows + r) * 4) in `scratch` [rows * cols].
 */
const int8_t *mg_gemv_operand(const int8_t *xq, int rows, int cols, int8_t *scratch);

/* ------------------------------------------------------------------------------------------ */
/* Attention of one query row per (row, head) over its keys/values (attention.c). */

/* Byte of key (slot, i) and of value (slot, i) within one head's cache (musicgen_step.h). */
static inline size_t mg_key_at(int slot, int i, int d) {
    return (size_t)(slot / MG_KEY_TILE) * MG_KEY_TILE * d + (size_t)(i / 4) * MG_KEY_TILE * 4 + (slot % MG_KEY_TILE) * 4 + i % 4;
}
static inline size_t mg_value_at(int slot, int i, int d) {
    return (size_t)(slot / MG_VALUE_GROUP) * MG_VALUE_GROUP * d + (size_t)i * MG_VALUE_GROUP + slot % MG_VALUE_GROUP;
}

/* A signed key byte as the cache stores it: in mg_weight_encoding(), like the weights. */
static inline int8_t mg_key_stored(int8_t k) { return MG_UNSIGNED_WEIGHTS ? (int8_t)((uint8_t)k ^ 0x80) : k; }

/* One head's int8 key and value rows (signed, d each) into `slot` of its cache, in the cache's layout. */
void mg_cache_place(int8_t *keys, int8_t *values, int slot, const int8_t *k, const int8_t *v, int d);

/* One head's key and value rows (d floats each) quantised into `slot` of its cache and scales. */
void mg_cache_write(int8_t *keys, int8_t *values, float *k_scale, float *v_scale, int slot, const float *k,
                    const float *v, int d);

typedef struct {
    const float *q;                 /* [heads * head_dim] */
    const void *k, *v;              /* [heads][slots * head_dim]: float32 rows, or the int8 cache's tiles */
    const float *k_scale, *v_scale; /* [heads][slots] for the int8 cache, else NULL */
    const float *mask;              /* additive [length], or NULL */
    float *out;                     /* [heads * head_dim] */
    int slots, length;
    const float *new_kv; /* the int8 cache's: this step's keys then values [2][heads * head_dim] for slot
                            length - 1, written before attending (NULL: nothing to write) */
} mg_attention_row_t;

typedef struct {
    const mg_attention_row_t *rows;
    int heads, head_dim;
    float *scores;   /* [rows * heads][stride] */
    uint8_t *planes; /* [rows * heads][2 * stride]: the int8 cache's quantised weights */
    size_t stride;   /* a multiple of MG_KEY_TILE, at least every row's length */
} mg_attention_t;

/* Tasks [begin, end), task = row * heads + head: a range function for the pool. */
void mg_attention_range(void *attention, int begin, int end);

#endif
