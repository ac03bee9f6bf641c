/*
 * The native MusicGen decoder step: the library's ABI.
 *
 * One call (mg_step) runs every decoder layer for one token of any number of tracks, each of one row
 * or two (the guidance pair), reading each weight once for all rows. Weights are int8 with one float32
 * scale per output row; activations are quantised to int8 per row; the self-attention KV cache is
 * int8 with one scale per key or value row, and attention over it multiplies in integers too (the
 * query quantised to int8 per head, the softmax weights to 14 bits).
 *
 * Ownership: the library borrows every array it is given and never writes to weights, embeddings,
 * norms or texts. The caller keeps them alive and unchanged for the model's life (weights) or the
 * call (tracks). mg_step writes only each track's cache slot `position` and its logits, mg_cache_store
 * the slots it is given.
 *
 * inference/native/library.py mirrors these declarations with ctypes; MG_ABI_VERSION changes with any
 * change to them, and the loader refuses a library of another version.
 */
#ifndef MUSICGEN_STEP_H
#define MUSICGEN_STEP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MG_ABI_VERSION 6
#define MG_MAX_ROWS 16 /* rows of activations in one step: the sum of every track's rows */
#define MG_MAX_THREADS 64
#define MG_MAX_HEAD_DIM 256

/* Status codes. */
enum {
    MG_OK = 0,
    MG_ERR_ARGUMENT = -1, /* a bad shape, position, token or track */
    MG_ERR_MEMORY = -2,
    MG_ERR_THREADS = -3,
    MG_ERR_CPU = -4, /* this build's instructions are not usable here (the OS refused AMX's tile state) */
};

/* How the int8 weight bytes are to be encoded (mg_weight_encoding): the VNNI builds multiply
 * unsigned bytes by signed ones, so there each weight is stored as (w + 128) read as uint8. */
enum { MG_WEIGHTS_SIGNED = 0, MG_WEIGHTS_OFFSET_128 = 1 };

/* CPU features (mg_cpu_features): which builds this CPU (and its OS) can run. */
enum { MG_CPU_AVX2 = 1, MG_CPU_AVX_VNNI = 2, MG_CPU_AVX512_VNNI = 4, MG_CPU_AMX_INT8 = 8 };

/*
 * Weights are stored in blocks of R rows so that a thread reads one sequential stream: a block holds
 * its rows' first C bytes one row after another, then their next C, and so on; where cols is not a
 * multiple of C, the last chunk holds the rows' last cols % C bytes the same way. Weight (r, c) is byte
 * (r / R) * R * cols + (c / C) * R * C + (r % R) * w + c % C, w = min(C, cols - c / C * C). R x C is
 * the build's (mg_weight_blocks): 4 x 32, or 16 x 64 (one AMX tile a chunk) in the amx build.
 */

/*
 * The self-attention cache holds, per layer, kind (k, v), row and head, `slots` rows of head_dim int8
 * values in tiles that the integer dot products read whole (slots a multiple of MG_KEY_TILE):
 * key (s, i) is byte (s / 16) * 16 * d + (i / 4) * 64 + (s % 16) * 4 + i % 4, stored in
 * mg_weight_encoding() like the weights; value (s, i) is byte (s / 4) * 4 * d + i * 4 + s % 4, signed.
 * Only the library writes it (mg_step, mg_cache_store); the caller allocates and zeroes it.
 */
#define MG_KEY_TILE 16
#define MG_VALUE_GROUP 4

typedef struct {
    const int8_t *weight; /* rows x cols in blocks (above), each byte in mg_weight_encoding() */
    const float *scale;   /* [rows]: row r's values are weight[r] * scale[r] */
    int32_t rows, cols;
} mg_matrix;

typedef struct {
    const float *weight, *bias; /* [hidden] each */
} mg_norm;

typedef struct {
    mg_norm self_norm;
    mg_matrix qkv;      /* [3 * hidden][hidden]: q, k, v */
    mg_matrix self_out; /* [hidden][hidden] */
    mg_norm cross_norm;
    mg_matrix cross_q;   /* [hidden][hidden] */
    mg_matrix cross_out; /* [hidden][hidden] */
    mg_norm ffn_norm;
    mg_matrix fc1; /* [ffn][hidden] */
    mg_matrix fc2; /* [hidden][ffn] */
} mg_layer;

typedef struct {
    int32_t layers, hidden, heads, ffn;
    int32_t codebooks, entries; /* entries per codebook's embedding: vocabulary + 1 (the pad token) */
    int32_t positions;          /* rows of the position table */
    float eps;                  /* the layer norms' epsilon */
    int32_t threads;            /* the pool's threads, the caller's included */
} mg_config;

typedef struct {
    const mg_layer *layers; /* [config.layers]; the structs are copied, the arrays borrowed */
    mg_norm final_norm;
    mg_matrix lm_heads;     /* [codebooks * vocabulary][hidden] */
    const float *embed;     /* [codebooks][entries][hidden] */
    const float *positions; /* [positions][hidden] */
} mg_weights;

/*
 * One track's step. Its rows all take `tokens` as input: row 0 the conditional half of guidance,
 * row 1 (when rows is 2) the unconditional half. Rows 0..text_rows-1 attend to their own text row;
 * an unconditional row without a negative prompt adds exactly zero there and is skipped.
 */
typedef struct {
    const int64_t *tokens; /* [codebooks] */
    int32_t position;      /* the sequence index: the cache slot written, slots 0..position attended */
    int32_t rows;          /* 1 or 2 */
    int32_t text_rows;     /* 0..rows */
    int8_t *cache;         /* [layers][2 (k, v)][2 (rows)][heads][slots * head_dim], tiled (above) */
    float *cache_scales;   /* [layers][2][2][heads][slots] */
    int32_t slots;         /* a multiple of MG_KEY_TILE */
    const float *text;      /* keys/values [layers][2 (k, v)][text_batch][heads][max_text][head_dim] */
    const float *text_mask; /* additive, [text_batch][max_text] */
    int32_t text_batch, max_text, text_len;
    float *logits; /* [rows][codebooks * vocabulary] */
} mg_track;

typedef struct mg_model mg_model;

int32_t mg_abi_version(void);
/* MG_WEIGHTS_SIGNED or MG_WEIGHTS_OFFSET_128: how this build reads weight bytes. */
int32_t mg_weight_encoding(void);
/* R and C of the weights' row blocks (above) for this build. */
void mg_weight_blocks(int32_t *rows, int32_t *cols);
/* The instruction set this build was compiled for: "portable", "avx2", "avxvnni", "avx512vnni" or "amx". */
const char *mg_variant(void);
/* MG_CPU_* bits: what this CPU and OS can run (0 on CPUs other than x86-64). On Linux, AMX counts only
 * once the OS grants the process AMX's tile state, which this call asks for (ARCH_REQ_XCOMP_PERM). */
int32_t mg_cpu_features(void);
/* sizeof the ABI's structs, for the loader's check: 0 mg_matrix, 1 mg_norm, 2 mg_layer, 3 mg_config,
 * 4 mg_weights, 5 mg_track; 0 for another index. */
size_t mg_sizeof(int32_t which);

/* A model over borrowed weights; *out is NULL unless MG_OK. Needs hidden, ffn and the outputs to be
 * multiples of 32 and a head width that is a multiple of 8, at most MG_MAX_HEAD_DIM. */
int32_t mg_model_new(const mg_config *config, const mg_weights *weights, mg_model **out);
void mg_model_free(mg_model *model);
int32_t mg_model_threads(const mg_model *model);

/* One decoder step for `count` tracks (their rows summing to at most MG_MAX_ROWS). */
int32_t mg_step(mg_model *model, const mg_track *tracks, int32_t count);

/* A prefill's keys and values of `layer` into the track's cache slots 0..count-1, quantised as mg_step
 * quantises its own: keys and values float32 [track rows][heads][count][head_dim]. */
int32_t mg_cache_store(const mg_model *model, const mg_track *track, int32_t layer, const float *keys,
                       const float *values, int32_t count);

/* The parts of mg_step that mg_profile times (the calling thread's wall clock; it takes part in, and
 * waits for, every parallel part). */
enum {
    MG_PHASE_ROWS = 0,            /* embeddings, layer norms, activations quantised: the calling thread alone */
    MG_PHASE_PROJECTIONS = 1,     /* qkv, both attention outputs, the cross-attention queries, fc2 */
    MG_PHASE_FFN_UP = 2,          /* fc1 with its GELU */
    MG_PHASE_SELF_ATTENTION = 3,  /* over the int8 cache, this step's keys and values written into it */
    MG_PHASE_CROSS_ATTENTION = 4, /* over the texts' keys and values */
    MG_PHASE_HEADS = 5,           /* the final norm and the codebooks' output heads */
    MG_PHASES = 6,
};

/* Time mg_step's phases from now on (enable 1) or not (0, the default: a clock read per phase is not
 * free). With `ns` not NULL, it receives the nanoseconds spent per phase (MG_PHASE_*) since the model was
 * made or `ns` was last read, and the counts restart. */
void mg_profile(mg_model *model, int32_t enable, uint64_t *ns);

/* How fast `threads` threads read `bytes` of memory (best of `repeats`), in GB/s; 0 on failure. */
double mg_read_bandwidth(size_t bytes, int32_t threads, int32_t repeats);

/*
 * The step's operations one at a time, for op-level tests (single-threaded).
 * mg_op_quantize: x [rows][n] -> q [rows][n], scale [rows], sum [rows] (n a multiple of 32).
 * mg_op_gemv: out [rows][m.rows] = (q . weight) * scale_x * m.scale, q as from mg_op_quantize (m.rows a
 *   multiple of 16, m.cols of 32).
 * mg_op_attention: out [heads * head_dim] for one query row over `length` keys/values laid out
 *   [heads][slots][head_dim] (plain rows, not tiles), int8 (signed) with scales [heads][slots] (k_scale/v_scale
 *   not NULL, slots a multiple of MG_KEY_TILE) or float32; mask additive [length] or NULL.
 */
void mg_op_quantize(const float *x, int32_t rows, int32_t n, int8_t *q, float *scale, int32_t *sum);
int32_t mg_op_gemv(const mg_matrix *m, const int8_t *q, const float *scale, const int32_t *sum, int32_t rows,
                   float *out);
int32_t mg_op_attention(const float *q, const void *k, const void *v, const float *k_scale, const float *v_scale,
                        int32_t heads, int32_t head_dim, int32_t slots, int32_t length, const float *mask, float *out);

#ifdef __cplusplus
}
#endif
#endif
