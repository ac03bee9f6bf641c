/*
 * The decoder step: every layer for every row of every track, one token each (see musicgen_step.h).
 *
 * Rows are gathered from all tracks so each weight matrix is read once per step; attention runs per
 * row against that row's own cache or text. A track's rows compute the same values whatever else
 * shares the step: the integer products are exact and every row is quantised on its own.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct mg_model {
    mg_config c;
    int head_dim, outputs;
    mg_layer *layers;
    mg_norm final_norm;
    mg_matrix lm_heads;
    const float *embed, *positions;
    mg_pool *pool;
    float *x, *h, *qkv, *att, *ff; /* [MG_MAX_ROWS][...] */
    float *scores;
    uint8_t *planes;
    size_t scores_capacity;
    int8_t *xq, *operand; /* the quantised rows; as the GEMV reads them where that differs */
    float xs[MG_MAX_ROWS];
    int32_t xsum[MG_MAX_ROWS];
    int profiling;
    uint64_t phase_ns[MG_PHASES];
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The time since the last lap (or `*since`) to `phase`, where the model is being profiled. */
static inline void lap(mg_model *m, uint64_t *since, int phase) {
    if (!m->profiling) return;
    const uint64_t now = now_ns();
    m->phase_ns[phase] += now - *since;
    *since = now;
}

void mg_profile(mg_model *m, int32_t enable, uint64_t *ns) {
    if (ns) {
        memcpy(ns, m->phase_ns, sizeof(m->phase_ns));
        memset(m->phase_ns, 0, sizeof(m->phase_ns));
    }
    m->profiling = enable != 0;
}

static void *zeroed(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

static int matrix_ok(const mg_matrix *m, int rows, int cols) {
    return m->weight && m->scale && m->rows == rows && m->cols == cols;
}

static int norm_ok(const mg_norm *n) { return n->weight && n->bias; }

static int weights_ok(const mg_config *c, const mg_weights *w, int outputs) {
    const int H = c->hidden, F = c->ffn;
    if (!w->layers || !w->embed || !w->positions || !norm_ok(&w->final_norm) || !matrix_ok(&w->lm_heads, outputs, H))
        return 0;
    for (int i = 0; i < c->layers; i++) {
        const mg_layer *l = &w->layers[i];
        if (!norm_ok(&l->self_norm) || !norm_ok(&l->cross_norm) || !norm_ok(&l->ffn_norm) ||
            !matrix_ok(&l->qkv, 3 * H, H) || !matrix_ok(&l->self_out, H, H) || !matrix_ok(&l->cross_q, H, H) ||
            !matrix_ok(&l->cross_out, H, H) || !matrix_ok(&l->fc1, F, H) || !matrix_ok(&l->fc2, H, F))
            return 0;
    }
    return 1;
}

void mg_model_free(mg_model *m) {
    if (!m) return;
    mg_pool_free(m->pool);
    free(m->layers);
    free(m->x);
    free(m->h);
    free(m->qkv);
    free(m->att);
    free(m->ff);
    free(m->scores);
    free(m->planes);
    free(m->xq);
    free(m->operand);
    free(m);
}

int32_t mg_model_new(const mg_config *config, const mg_weights *weights, mg_model **out) {
    *out = NULL;
    const mg_config *c = config;
    if (c->layers < 1 || c->hidden % 32 || c->hidden < 32 || c->ffn % 32 || c->ffn < 32 || c->heads < 1 ||
        c->hidden % c->heads || (c->hidden / c->heads) % 8 ||
        c->hidden / c->heads > MG_MAX_HEAD_DIM || c->codebooks < 1 || c->entries < 1 || c->positions < 1)
        return MG_ERR_ARGUMENT;
    const int outputs = weights->lm_heads.rows;
    if (outputs < 32 || outputs % 32 || !weights_ok(c, weights, outputs)) return MG_ERR_ARGUMENT;
    if (MG_AMX && !mg_amx_usable()) return MG_ERR_CPU;
    mg_model *m = calloc(1, sizeof(mg_model));
    if (!m) return MG_ERR_MEMORY;
    m->c = *c;
    m->head_dim = c->hidden / c->heads;
    m->outputs = outputs;
    m->final_norm = weights->final_norm;
    m->lm_heads = weights->lm_heads;
    m->embed = weights->embed;
    m->positions = weights->positions;
    m->layers = malloc(sizeof(mg_layer) * (size_t)c->layers);
    const size_t H = (size_t)c->hidden, widest = (size_t)(c->ffn > c->hidden ? c->ffn : c->hidden);
    m->x = zeroed(sizeof(float) * MG_MAX_ROWS * H);
    m->h = zeroed(sizeof(float) * MG_MAX_ROWS * H);
    m->qkv = zeroed(sizeof(float) * MG_MAX_ROWS * 3 * H);
    m->att = zeroed(sizeof(float) * MG_MAX_ROWS * H);
    m->ff = zeroed(sizeof(float) * MG_MAX_ROWS * (size_t)c->ffn);
    m->xq = zeroed((size_t)MG_MAX_ROWS * widest);
    m->operand = zeroed((size_t)MG_MAX_ROWS * widest);
    if (!m->layers || !m->x || !m->h || !m->qkv || !m->att || !m->ff || !m->xq || !m->operand) {
        mg_model_free(m);
        return MG_ERR_MEMORY;
    }
    memcpy(m->layers, weights->layers, sizeof(mg_layer) * (size_t)c->layers);
    m->pool = mg_pool_new(c->threads);
    if (!m->pool) {
        mg_model_free(m);
        return MG_ERR_THREADS;
    }
    *out = m;
    return MG_OK;
}

int32_t mg_model_threads(const mg_model *m) { return mg_pool_threads(m->pool); }

/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const mg_track *track;
    int index; /* the row within its track: 0 conditional, 1 unconditional */
} row_t;

/* Rows `rows[0..n)` of x, normalised with `norm` and quantised into xq (compactly, in that order). */
static void norm_and_quantize(mg_model *m, const int *rows, int n, const mg_norm *norm) {
    const int H = m->c.hidden;
    for (int i = 0; i < n; i++) {
        float *h = m->h + (size_t)i * H;
        mg_layer_norm(m->x + (size_t)rows[i] * H, h, H, norm->weight, norm->bias, m->c.eps);
        m->xs[i] = mg_quantize_row(h, m->xq + (size_t)i * H, H, &m->xsum[i]);
    }
}

static void quantize_rows(mg_model *m, const float *x, int n, int width) {
    for (int i = 0; i < n; i++)
        m->xs[i] = mg_quantize_row(x + (size_t)i * width, m->xq + (size_t)i * width, width, &m->xsum[i]);
}

/* xq's first n rows times `w` into out[i] (STORE, ADD or STORE_GELU). */
static void gemv(mg_model *m, const mg_matrix *w, int n, float *const *out, int mode) {
    mg_gemv_t g = {w, mg_gemv_operand(m->xq, n, w->cols, m->operand), m->xs, m->xsum, n, {0}, mode};
    for (int i = 0; i < n; i++) g.out[i] = out[i];
    mg_pool_run(m->pool, mg_gemv_range, &g, w->rows, MG_GEMV_GRAIN);
}

static int attend(mg_model *m, const mg_attention_row_t *rows, int n) {
    size_t stride = 0;
    for (int i = 0; i < n; i++) stride = (size_t)rows[i].length > stride ? (size_t)rows[i].length : stride;
    stride = (stride + MG_KEY_TILE - 1) & ~(size_t)(MG_KEY_TILE - 1);
    size_t need = (size_t)n * m->c.heads * stride;
    if (need > m->scores_capacity) { /* twice what is needed: the positions grow a tile at a time */
        free(m->scores);
        free(m->planes);
        m->scores = zeroed(sizeof(float) * 2 * need);
        m->planes = zeroed(2 * 2 * need);
        m->scores_capacity = m->scores && m->planes ? 2 * need : 0;
        if (!m->scores_capacity) return MG_ERR_MEMORY;
    }
    mg_attention_t a = {rows, m->c.heads, m->head_dim, m->scores, m->planes, stride};
    mg_pool_run(m->pool, mg_attention_range, &a, n * m->c.heads, 1);
    return MG_OK;
}

static int track_ok(const mg_model *m, const mg_track *t) {
    if (t->rows < 1 || t->rows > 2 || t->text_rows < 0 || t->text_rows > t->rows || !t->tokens || !t->cache ||
        !t->cache_scales || !t->logits || t->position < 0 || t->position >= t->slots || t->slots % MG_KEY_TILE ||
        t->position >= m->c.positions)
        return 0;
    if (t->text_rows > 0 && t->text_len > 0 &&
        (!t->text || !t->text_mask || t->text_len > t->max_text || t->text_rows > t->text_batch))
        return 0;
    for (int c = 0; c < m->c.codebooks; c++)
        if (t->tokens[c] < 0 || t->tokens[c] >= m->c.entries) return 0;
    return 1;
}

/* Where one layer's cache of one row of a track lies. */
typedef struct {
    int8_t *keys, *values;             /* head h at + h * head */
    float *key_scales, *value_scales; /* head h at + h * slots */
    size_t head;
} cache_t;

static cache_t cache_of(const mg_model *m, const mg_track *t, int layer, int row) {
    const size_t d = (size_t)m->head_dim, per_row = (size_t)m->c.heads * t->slots; /* slots of one row */
    const size_t kv_block = 2 * per_row;                                            /* one of k or v, one layer */
    int8_t *keys = t->cache + ((size_t)layer * 2 * kv_block + row * per_row) * d;
    float *key_scales = t->cache_scales + (size_t)layer * 2 * kv_block + row * per_row;
    return (cache_t){keys, keys + kv_block * d, key_scales, key_scales + kv_block, (size_t)t->slots * d};
}

int32_t mg_cache_store(const mg_model *m, const mg_track *t, int32_t layer, const float *keys, const float *values,
                       int32_t count) {
    const int heads = m->c.heads, d = m->head_dim;
    if (layer < 0 || layer >= m->c.layers || count < 0 || count > t->slots || t->slots % MG_KEY_TILE || t->rows < 1 ||
        t->rows > 2 || !t->cache || !t->cache_scales || (count > 0 && (!keys || !values)))
        return MG_ERR_ARGUMENT;
    for (int r = 0; r < t->rows; r++) {
        cache_t c = cache_of(m, t, layer, r);
        for (int h = 0; h < heads; h++)
            for (int s = 0; s < count; s++) {
                const size_t at = (((size_t)r * heads + h) * count + s) * d;
                mg_cache_write(c.keys + c.head * h, c.values + c.head * h, c.key_scales + (size_t)h * t->slots,
                               c.value_scales + (size_t)h * t->slots, s, keys + at, values + at, d);
            }
    }
    return MG_OK;
}

int32_t mg_step(mg_model *m, const mg_track *tracks, int32_t count) {
    const int H = m->c.hidden, heads = m->c.heads, d = m->head_dim, F = m->c.ffn;
    row_t rows[MG_MAX_ROWS];
    int n = 0;
    if (count < 1) return MG_ERR_ARGUMENT;
    for (int t = 0; t < count; t++) {
        if (!track_ok(m, &tracks[t]) || n + tracks[t].rows > MG_MAX_ROWS) return MG_ERR_ARGUMENT;
        for (int b = 0; b < tracks[t].rows; b++) rows[n++] = (row_t){&tracks[t], b};
    }
    /* Rows that attend to a text, and every row, as lists of indices into x. */
    int all[MG_MAX_ROWS], texted[MG_MAX_ROWS], n_texted = 0;
    for (int r = 0; r < n; r++) {
        all[r] = r;
        const mg_track *t = rows[r].track;
        if (rows[r].index < t->text_rows && t->text_len > 0) texted[n_texted++] = r;
    }
    float *x_rows[MG_MAX_ROWS], *qkv_rows[MG_MAX_ROWS], *q_rows[MG_MAX_ROWS], *ff_rows[MG_MAX_ROWS],
        *cross_rows[MG_MAX_ROWS], *logit_rows[MG_MAX_ROWS];
    for (int r = 0; r < n; r++) {
        x_rows[r] = m->x + (size_t)r * H;
        qkv_rows[r] = m->qkv + (size_t)r * 3 * H;
        q_rows[r] = m->qkv + (size_t)r * H;
        ff_rows[r] = m->ff + (size_t)r * F;
        logit_rows[r] = rows[r].track->logits + (size_t)rows[r].index * m->outputs;
    }
    for (int i = 0; i < n_texted; i++) cross_rows[i] = x_rows[texted[i]];

    uint64_t since = m->profiling ? now_ns() : 0;
    for (int r = 0; r < n; r++) {
        const mg_track *t = rows[r].track;
        float *x = x_rows[r];
        memcpy(x, m->positions + (size_t)t->position * H, sizeof(float) * H);
        for (int c = 0; c < m->c.codebooks; c++)
            mg_add(x, m->embed + ((size_t)c * m->c.entries + t->tokens[c]) * H, H);
    }
    mg_attention_row_t attention[MG_MAX_ROWS];
    for (int index = 0; index < m->c.layers; index++) {
        const mg_layer *l = &m->layers[index];

        norm_and_quantize(m, all, n, &l->self_norm);
        lap(m, &since, MG_PHASE_ROWS);
        gemv(m, &l->qkv, n, qkv_rows, MG_STORE);
        lap(m, &since, MG_PHASE_PROJECTIONS);
        for (int r = 0; r < n; r++) {
            const mg_track *t = rows[r].track;
            cache_t c = cache_of(m, t, index, rows[r].index);
            attention[r] = (mg_attention_row_t){qkv_rows[r], c.keys, c.values, c.key_scales, c.value_scales, NULL,
                                                m->att + (size_t)r * H, t->slots, t->position + 1, qkv_rows[r] + H};
        }
        if (attend(m, attention, n)) return MG_ERR_MEMORY;
        lap(m, &since, MG_PHASE_SELF_ATTENTION);
        quantize_rows(m, m->att, n, H);
        lap(m, &since, MG_PHASE_ROWS);
        gemv(m, &l->self_out, n, x_rows, MG_ADD);
        lap(m, &since, MG_PHASE_PROJECTIONS);

        if (n_texted > 0) {
            norm_and_quantize(m, texted, n_texted, &l->cross_norm);
            lap(m, &since, MG_PHASE_ROWS);
            gemv(m, &l->cross_q, n_texted, q_rows, MG_STORE);
            lap(m, &since, MG_PHASE_PROJECTIONS);
            for (int i = 0; i < n_texted; i++) {
                const row_t *row = &rows[texted[i]];
                const mg_track *t = row->track;
                const size_t per_row = (size_t)heads * t->max_text * d;
                const size_t block = (size_t)t->text_batch * per_row; /* one of k or v, one layer */
                const float *k = t->text + (size_t)index * 2 * block + row->index * per_row;
                attention[i] = (mg_attention_row_t){q_rows[i], k, k + block, NULL, NULL,
                                                    t->text_mask + (size_t)row->index * t->max_text,
                                                    m->att + (size_t)i * H, t->max_text, t->text_len, NULL};
            }
            if (attend(m, attention, n_texted)) return MG_ERR_MEMORY;
            lap(m, &since, MG_PHASE_CROSS_ATTENTION);
            quantize_rows(m, m->att, n_texted, H);
            lap(m, &since, MG_PHASE_ROWS);
            gemv(m, &l->cross_out, n_texted, cross_rows, MG_ADD);
            lap(m, &since, MG_PHASE_PROJECTIONS);
        }

        norm_and_quantize(m, all, n, &l->ffn_norm);
        lap(m, &since, MG_PHASE_ROWS);
        gemv(m, &l->fc1, n, ff_rows, MG_STORE_GELU);
        lap(m, &since, MG_PHASE_FFN_UP);
        quantize_rows(m, m->ff, n, F);
        lap(m, &since, MG_PHASE_ROWS);
        gemv(m, &l->fc2, n, x_rows, MG_ADD);
        lap(m, &since, MG_PHASE_PROJECTIONS);
    }
    norm_and_quantize(m, all, n, &m->final_norm);
    gemv(m, &m->lm_heads, n, logit_rows, MG_STORE);
    lap(m, &since, MG_PHASE_HEADS);
    return MG_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* The operations one at a time, for op-level tests. */

void mg_op_quantize(const float *x, int32_t rows, int32_t n, int8_t *q, float *scale, int32_t *sum) {
    for (int r = 0; r < rows; r++) scale[r] = mg_quantize_row(x + (size_t)r * n, q + (size_t)r * n, n, &sum[r]);
}

int32_t mg_op_gemv(const mg_matrix *m, const int8_t *q, const float *scale, const int32_t *sum, int32_t rows,
                   float *out) {
    if (rows < 1 || rows > MG_MAX_ROWS || m->rows % MG_GEMV_GRAIN || m->cols % 32) return MG_ERR_ARGUMENT;
    if (MG_AMX && !mg_amx_usable()) return MG_ERR_CPU;
    int8_t *scratch = zeroed((size_t)rows * m->cols);
    if (!scratch) return MG_ERR_MEMORY;
    mg_gemv_t g = {m, mg_gemv_operand(q, rows, m->cols, scratch), scale, sum, rows, {0}, MG_STORE};
    for (int r = 0; r < rows; r++) g.out[r] = out + (size_t)r * m->rows;
    mg_gemv_range(&g, 0, m->rows);
    free(scratch);
    return MG_OK;
}

int32_t mg_op_attention(const float *q, const void *k, const void *v, const float *k_scale, const float *v_scale,
                        int32_t heads, int32_t head_dim, int32_t slots, int32_t length, const float *mask, float *out) {
    if (heads < 1 || head_dim % 8 || head_dim > MG_MAX_HEAD_DIM || length < 1 || length > slots ||
        (!k_scale) != (!v_scale) || (k_scale && slots % MG_KEY_TILE))
        return MG_ERR_ARGUMENT;
    const int d = head_dim;
    size_t stride = ((size_t)length + MG_KEY_TILE - 1) & ~(size_t)(MG_KEY_TILE - 1);
    float *scores = zeroed(sizeof(float) * stride * heads);
    uint8_t *planes = zeroed(2 * stride * heads);
    int8_t *tiles = k_scale ? zeroed(2 * (size_t)heads * slots * d) : NULL;
    int status = scores && planes && (tiles || !k_scale) ? MG_OK : MG_ERR_MEMORY;
    if (status == MG_OK) {
        mg_attention_row_t row = {q, k, v, k_scale, v_scale, mask, out, slots, length, NULL};
        if (tiles) { /* plain rows into the cache's tiles, as mg_step stores them */
            const int8_t *plain_k = k, *plain_v = v;
            int8_t *keys = tiles, *values = tiles + (size_t)heads * slots * d;
            for (size_t h = 0; h < (size_t)heads; h++)
                for (int s = 0; s < slots; s++) {
                    const size_t head = h * slots * d, plain = head + (size_t)s * d;
                    mg_cache_place(keys + head, values + head, s, plain_k + plain, plain_v + plain, d);
                }
            row.k = keys;
            row.v = values;
        }
        mg_attention_t a = {&row, heads, head_dim, scores, planes, stride};
        mg_attention_range(&a, 0, heads);
    }
    free(scores);
    free(planes);
    free(tiles);
    return status;
}
