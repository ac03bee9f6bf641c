/*
 * MusicGen's decoder step on the CPU: int8 weights and KV cache, float32 activations, AVX2.
 *
 * One call runs every decoder layer for one token of both guidance halves (batch 1 or 2) and writes
 * the logits. The weights are read once per step: each int8 row is multiplied with both rows of
 * activations (quantised to int8 per row) while it is in registers. Work is split over a small pool
 * of threads that spin between the step's phases and sleep between steps, so a step costs a few
 * hundred microseconds of synchronisation instead of one dispatch per tensor operation.
 *
 * Layouts (all row-major, float32 unless noted), made by inference/native/step.py:
 *   weights        int8 [out, in], one float32 scale per output row (symmetric, -127..127)
 *   self KV cache  int8 [layers][2 (k, v)][2 (batch)][heads][slots][head_dim], with one float32
 *                  scale per (layer, k/v, batch, head, slot) in [layers][2][2][heads][slots]: a
 *                  quarter of float32's bytes, which is what a long clip's attention reads
 *   cross K/V      [layers][2 (k, v)][cross_batch][heads][max_text][head_dim], additive masks
 *                  [cross_batch][max_text]: row 0 the prompt's; row 1 a negative prompt's, when the
 *                  unconditional half attends to one (cross_rows 2), both padded to the longer text
 */
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(__AVX2__) || !defined(__FMA__)
#error "the native MusicGen step needs a CPU with AVX2 and FMA"
#endif

#define MAX_THREADS 64
#define MAX_BATCH 2
#define SPIN_MICROSECONDS 2000.0
#define CHUNKS_PER_THREAD 8

/* ------------------------------------------------------------------------------------------ */
/* Thread pool: the caller runs chunk 0, workers the others; workers spin briefly, then sleep. */

typedef void (*range_fn)(void *ctx, int begin, int end);

typedef struct pool pool_t;

typedef struct {
    pool_t *pool;
    int index;
    unsigned generation; /* the pool's generation when the worker was made: it waits for the next */
} worker_arg_t;

struct pool {
    int threads;
    pthread_t handles[MAX_THREADS];
    worker_arg_t args[MAX_THREADS];
    atomic_uint generation;
    atomic_int pending;
    atomic_int sleepers;
    atomic_int stop;
    range_fn fn;
    void *ctx;
    int total;
    int chunk;
    atomic_int next; /* the first item no thread has taken yet */
    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/*
 * Take chunks until none is left. Chunks are handed out as threads ask, not fixed per thread: on a
 * shared host a virtual CPU may be paused for a while, and the other threads then take its share
 * instead of waiting for it.
 */
static void run_chunks(pool_t *p) {
    for (;;) {
        int begin = atomic_fetch_add_explicit(&p->next, p->chunk, memory_order_relaxed);
        if (begin >= p->total) return;
        int end = begin + p->chunk < p->total ? begin + p->chunk : p->total;
        p->fn(p->ctx, begin, end);
    }
}

static void *worker_main(void *raw) {
    worker_arg_t *arg = raw;
    pool_t *p = arg->pool;
    /* Not the generation now: a dispatch may have happened before this thread first ran. */
    unsigned seen = arg->generation;
    for (;;) {
        unsigned current;
        double spin_start = 0;
        int spins = 0;
        while ((current = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            _mm_pause();
            if (++spins % 256 != 0) continue;
            double t = now_us();
            if (spin_start == 0) {
                spin_start = t;
            } else if (t - spin_start > SPIN_MICROSECONDS) {
                pthread_mutex_lock(&p->mutex);
                atomic_fetch_add(&p->sleepers, 1);
                while (atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mutex);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mutex);
                spin_start = 0;
            }
        }
        seen = current;
        if (atomic_load(&p->stop)) return NULL;
        run_chunks(p);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

static int pool_start(pool_t *p, int threads) {
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    memset(p, 0, sizeof(*p));
    p->threads = threads;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    for (int i = 1; i < threads; i++) {
        p->args[i].pool = p;
        p->args[i].index = i;
        p->args[i].generation = atomic_load(&p->generation);
        if (pthread_create(&p->handles[i], NULL, worker_main, &p->args[i]) != 0) {
            p->threads = i;
            return -1;
        }
    }
    return 0;
}

static void pool_wake(pool_t *p) {
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
}

static void pool_stop(pool_t *p) {
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 1; i < p->threads; i++) pthread_join(p->handles[i], NULL);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
}

/*
 * Run fn over [0, total) in chunks that are multiples of grain (about CHUNKS_PER_THREAD per thread:
 * long enough to stream weight rows, short enough to rebalance); returns when all are done.
 */
static void pool_run(pool_t *p, range_fn fn, void *ctx, int total, int grain) {
    if (p->threads == 1 || total <= grain) {
        fn(ctx, 0, total);
        return;
    }
    int grains = (total + grain - 1) / grain;
    int per_chunk = (grains + p->threads * CHUNKS_PER_THREAD - 1) / (p->threads * CHUNKS_PER_THREAD);
    p->fn = fn;
    p->ctx = ctx;
    p->total = total;
    p->chunk = per_chunk * grain;
    atomic_store(&p->next, 0);
    atomic_store(&p->pending, p->threads - 1);
    atomic_fetch_add(&p->generation, 1);
    pool_wake(p);
    run_chunks(p);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) _mm_pause();
}

/* ------------------------------------------------------------------------------------------ */
/* Vector math: exp (Cephes' polynomial) and erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */

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

static inline __m256 gelu256(__m256 x) {
    /* 0.5 x (1 + erf(x / sqrt 2)): GELU as MusicGen's decoder computes it (not the tanh form). */
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 sign = _mm256_and_ps(z, sign_bit);
    __m256 a = _mm256_andnot_ps(sign_bit, z);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 poly = _mm256_set1_ps(1.061405429f);
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-1.453152027f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(1.421413741f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(-0.284496736f));
    poly = _mm256_fmadd_ps(poly, t, _mm256_set1_ps(0.254829592f));
    poly = _mm256_mul_ps(poly, t);
    __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    __m256 erf_abs = _mm256_fnmadd_ps(poly, e, _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_or_ps(erf_abs, sign);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

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

static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/*
 * With VNNI, weights are stored offset to unsigned (w + 128) and multiplied by the signed
 * activations in one instruction; the offset comes back out as 128 * sum(x). Plain AVX2 has no
 * int32-accumulating u8 x s8 product without int16 saturation, so there the signs move onto x.
 */
#if defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
#define UNSIGNED_WEIGHTS 1
static inline __m256i dot_u8s8(__m256i acc, __m256i w, __m256i x) {
#if defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, w, x);
#else
    return _mm256_dpbusd_epi32(acc, w, x);
#endif
}
#define DOT(acc, w, x) dot_u8s8(acc, w, x)
#else
#define UNSIGNED_WEIGHTS 0
static inline __m256i dot_signed(__m256i acc, __m256i w, __m256i x) {
    /* |w|, |x| <= 127, so a pair of products fits int16 without saturating. */
    __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}
#define DOT(acc, w, x) dot_signed(acc, w, x)
#endif

/* ------------------------------------------------------------------------------------------ */
/* Row operations (single-threaded: rows are at most a few thousand floats). */

static void layer_norm(const float *x, float *out, int n, const float *w, const float *b, float eps) {
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

/* x [n] -> int8 q [n] with x ~= q * scale, scale = max|x| / 127 (n a multiple of 32); *sum = sum(q). */
static float quantize_row(const float *x, int8_t *q, int n, int *sum) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)));
    float max = hmax_ps(amax);
    float scale = max / 127.0f;
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
    return scale;
}

/* ------------------------------------------------------------------------------------------ */
/* The int8 matrix-vector product for up to two activation rows, split over output rows. */

typedef struct {
    const int8_t *w;
    const float *scale;
    int rows, cols;
} qmatrix_t;

enum { STORE = 0, ADD = 1, STORE_GELU = 2 };

typedef struct {
    const qmatrix_t *m;
    const int8_t *xq; /* [batch][cols] */
    const float *xs;  /* [batch] scales */
    const int *xsum;  /* [batch] sums of xq */
    int batch;
    float *out;
    int out_stride;
    int mode;
} gemv_t;

#define GEMV_ROWS 4
/*
 * Software prefetch this many bytes ahead in each of the rows being read: the hardware prefetcher
 * alone leaves a third of the memory bandwidth unused on four interleaved row streams per thread.
 */
#define PREFETCH_BYTES 4096

static inline void gemv_store(const gemv_t *g, int row, int n, __m256i acc) {
    int dot = hsum_epi32(acc) - (UNSIGNED_WEIGHTS ? 128 * g->xsum[row] : 0);
    float value = (float)dot * g->xs[row] * g->m->scale[n];
    float *o = g->out + (size_t)row * g->out_stride + n;
    *o = g->mode == ADD ? *o + value : value;
}

/* Output rows [begin, end) (multiples of GEMV_ROWS); each weight vector is used for every batch row. */
static void gemv_range(void *raw, int begin, int end) {
    const gemv_t *g = raw;
    const int k = g->m->cols;
    const int8_t *x0 = g->xq, *x1 = g->xq + (g->batch > 1 ? k : 0);
    for (int n = begin; n < end; n += GEMV_ROWS) {
        const int8_t *w = g->m->w + (size_t)n * k;
        __m256i a[GEMV_ROWS][MAX_BATCH];
        for (int r = 0; r < GEMV_ROWS; r++) a[r][0] = a[r][1] = _mm256_setzero_si256();
        if (g->batch > 1) {
            for (int i = 0; i < k; i += 32) {
                if (i % 64 == 0)
                    for (int r = 0; r < GEMV_ROWS; r++)
                        _mm_prefetch((const char *)(w + (size_t)r * k + i + PREFETCH_BYTES), _MM_HINT_T0);
                __m256i xa = _mm256_loadu_si256((const __m256i *)(x0 + i));
                __m256i xb = _mm256_loadu_si256((const __m256i *)(x1 + i));
                for (int r = 0; r < GEMV_ROWS; r++) {
                    __m256i wv = _mm256_loadu_si256((const __m256i *)(w + (size_t)r * k + i));
                    a[r][0] = DOT(a[r][0], wv, xa);
                    a[r][1] = DOT(a[r][1], wv, xb);
                }
            }
        } else {
            for (int i = 0; i < k; i += 32) {
                if (i % 64 == 0)
                    for (int r = 0; r < GEMV_ROWS; r++)
                        _mm_prefetch((const char *)(w + (size_t)r * k + i + PREFETCH_BYTES), _MM_HINT_T0);
                __m256i xa = _mm256_loadu_si256((const __m256i *)(x0 + i));
                for (int r = 0; r < GEMV_ROWS; r++)
                    a[r][0] = DOT(a[r][0], _mm256_loadu_si256((const __m256i *)(w + (size_t)r * k + i)), xa);
            }
        }
        for (int r = 0; r < GEMV_ROWS; r++)
            for (int b = 0; b < g->batch; b++) gemv_store(g, b, n + r, a[r][b]);
    }
    if (g->mode == STORE_GELU) {
        /* Chunks are whole multiples of 8 rows, so each thread applies GELU to vectors of its own. */
        for (int b = 0; b < g->batch; b++) {
            float *o = g->out + (size_t)b * g->out_stride;
            for (int n = begin; n < end; n += 8) _mm256_storeu_ps(o + n, gelu256(_mm256_loadu_ps(o + n)));
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Attention of one query row per (batch, head) over `length` cached keys/values. */

typedef struct {
    const float *q; /* [batch][q_stride], head h at h * head_dim */
    int q_stride;
    const void *k, *v; /* [batch][heads][slots][head_dim], float32, or int8 with scales */
    const float *k_scale, *v_scale; /* [batch][heads][slots] for int8, else NULL */
    int slots, length, heads, head_dim;
    const float *mask; /* additive, [batch][mask_stride] (row b at b * mask_stride), or NULL */
    float *scores;     /* [batch * heads][length] */
    float *out;        /* [batch][out_stride] */
    int out_stride;
    int mask_stride;
} attention_t;

static inline void prefetch_row(const void *base, size_t index, int int8) {
    _mm_prefetch((const char *)base + index * (int8 ? 1 : 4), _MM_HINT_T0);
}

static inline __m256 load8(const void *base, size_t index, int int8) {
    if (int8) return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)base + index))));
    return _mm256_loadu_ps((const float *)base + index);
}

/* x [n] (n a multiple of 8) -> int8 q [n], returning the scale (max|x| / 127). */
static float quantize_short_row(const float *x, int8_t *q, int n) {
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8) amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, _mm256_loadu_ps(x + i)));
    float max = hmax_ps(amax);
    __m256 inv = _mm256_set1_ps(max > 0 ? 127.0f / max : 0.0f);
    for (int i = 0; i < n; i += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
        __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(words, words));
    }
    return max / 127.0f;
}

/* Keys/values are read in order; fetch this many rows ahead (see PREFETCH_BYTES). */
#define ATTENTION_PREFETCH_ROWS 32

/* Sum each of 8 vectors: {hsum(v[0]), ..., hsum(v[7])}. */
static inline __m256 hsum8(const __m256 v[8]) {
    __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
    __m256 c = _mm256_hadd_ps(v[4], v[5]), d = _mm256_hadd_ps(v[6], v[7]);
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
    /* ab = {0 1 2 3 | 0 1 2 3} halves per lane, likewise cd for 4..7: add the lanes. */
    __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20), hi = _mm256_permute2f128_ps(ab, cd, 0x31);
    return _mm256_add_ps(lo, hi);
}

/* s[j] = q . k_j * scale + mask[j] for j < length (mask may be NULL); returns the maximum. */
static float attention_scores(const attention_t *a, const float *q, size_t head, const float *mask, float *s) {
    const int d = a->head_dim, int8 = a->k_scale != NULL;
    const float *k_scale = int8 ? a->k_scale + head / d : NULL;
    const __m256 scale = _mm256_set1_ps(1.0f / sqrtf((float)d));
    __m256 max = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= a->length; j += 8) {
        __m256 acc[8];
        for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
        for (int i = 0; i < 8 * d; i += int8 ? 64 : 16) prefetch_row(a->k, head + (size_t)(j + ATTENTION_PREFETCH_ROWS) * d + i, int8);
        for (int i = 0; i < d; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            for (int r = 0; r < 8; r++)
                acc[r] = _mm256_fmadd_ps(qv, load8(a->k, head + (size_t)(j + r) * d + i, int8), acc[r]);
        }
        __m256 score = _mm256_mul_ps(hsum8(acc), scale);
        if (int8) score = _mm256_mul_ps(score, _mm256_loadu_ps(k_scale + j));
        if (mask) score = _mm256_add_ps(score, _mm256_loadu_ps(mask + j));
        _mm256_storeu_ps(s + j, score);
        max = _mm256_max_ps(max, score);
    }
    float top = hmax_ps(max);
    for (; j < a->length; j++) {
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < d; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(a->k, head + (size_t)j * d + i, int8), acc);
        s[j] = hsum_ps(acc) / sqrtf((float)d) * (int8 ? k_scale[j] : 1.0f) + (mask ? mask[j] : 0.0f);
        if (s[j] > top) top = s[j];
    }
    return top;
}

/* s[j] = exp(s[j] - max); returns the sum. */
static float softmax_numerators(float *s, int length, float max) {
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

static void attention_range(void *raw, int begin, int end) {
    const attention_t *a = raw;
    const int d = a->head_dim, int8 = a->v_scale != NULL;
    for (int task = begin; task < end; task++) {
        int b = task / a->heads, h = task % a->heads;
        const float *q = a->q + (size_t)b * a->q_stride + h * d;
        const size_t head = (size_t)(b * a->heads + h) * a->slots * d;
        float *s = a->scores + (size_t)task * a->length;
        const float *mask = a->mask ? a->mask + (size_t)b * a->mask_stride : NULL;
        const __m256 inv = _mm256_set1_ps(1.0f / softmax_numerators(s, a->length, attention_scores(a, q, head, mask, s)));
        if (int8) {
            /* Each value row's scale folds into its weight. */
            const float *v_scale = a->v_scale + head / d;
            int t = 0;
            for (; t + 8 <= a->length; t += 8)
                _mm256_storeu_ps(s + t, _mm256_mul_ps(_mm256_loadu_ps(s + t), _mm256_loadu_ps(v_scale + t)));
            for (; t < a->length; t++) s[t] *= v_scale[t];
        }
        float *o = a->out + (size_t)b * a->out_stride + h * d;
        /* Weighted sum of values, 32 columns at a time so the accumulators stay in registers. */
        for (int c = 0; c < d; c += 32) {
            const int width = d - c < 32 ? (d - c) / 8 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int t = 0; t < a->length; t++) {
                const __m256 p = _mm256_set1_ps(s[t]);
                const size_t row = head + (size_t)t * d + c;
                prefetch_row(a->v, row + (size_t)ATTENTION_PREFETCH_ROWS * d, int8);
                for (int i = 0; i < width; i++) acc[i] = _mm256_fmadd_ps(p, load8(a->v, row + 8 * i, int8), acc[i]);
            }
            for (int i = 0; i < width; i++) _mm256_storeu_ps(o + c + 8 * i, _mm256_mul_ps(acc[i], inv));
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The model: weights owned by the caller (Python keeps the tensors alive), scratch owned here. */

typedef struct {
    const float *self_ln_w, *self_ln_b, *cross_ln_w, *cross_ln_b, *ffn_ln_w, *ffn_ln_b;
    qmatrix_t qkv, self_out, cross_q, cross_out, fc1, fc2;
} layer_t;

typedef struct {
    int layers, hidden, heads, head_dim, ffn, outputs;
    float eps;
    layer_t *layer;
    const float *final_ln_w, *final_ln_b;
    qmatrix_t lm_heads;
    const float *embed, *positions; /* [codebooks][entries][hidden], [num_positions][hidden] */
    int codebooks, entries, num_positions;
    pool_t pool;
    float *x, *h, *qkv, *att, *ff, *scores;
    size_t scores_capacity;
    int8_t *xq;
    float xs[MAX_BATCH];
    int xsum[MAX_BATCH];
} model_t;

/* Takes the weights over: with VNNI they are offset to unsigned in place, so hand each matrix over once. */
static qmatrix_t qmatrix(int8_t *w, const float *scale, int rows, int cols) {
    if (UNSIGNED_WEIGHTS) {
        size_t n = (size_t)rows * cols;
        const __m256i offset = _mm256_set1_epi8((char)0x80);
        for (size_t i = 0; i < n; i += 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(w + i));
            _mm256_storeu_si256((__m256i *)(w + i), _mm256_xor_si256(v, offset));
        }
    }
    qmatrix_t m = {w, scale, rows, cols};
    return m;
}

static void *zeroed(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) return NULL;
    memset(p, 0, bytes ? bytes : 64);
    return p;
}

static void model_free_buffers(model_t *m) {
    free(m->layer);
    free(m->x);
    free(m->h);
    free(m->qkv);
    free(m->att);
    free(m->ff);
    free(m->scores);
    free(m->xq);
}

/* Returns NULL when out of memory or when a dimension is not a multiple of 32 (8 for head_dim). */
model_t *mg_model_new(int layers, int hidden, int heads, int ffn, int outputs, float eps, int threads) {
    if (hidden % 32 || ffn % 32 || outputs % 32 || heads <= 0 || hidden % heads || (hidden / heads) % 8) return NULL;
    model_t *m = calloc(1, sizeof(model_t));
    if (!m) return NULL;
    m->layers = layers;
    m->hidden = hidden;
    m->heads = heads;
    m->head_dim = hidden / heads;
    m->ffn = ffn;
    m->outputs = outputs;
    m->eps = eps;
    m->layer = calloc((size_t)layers, sizeof(layer_t));
    m->x = zeroed(sizeof(float) * MAX_BATCH * hidden);
    m->h = zeroed(sizeof(float) * MAX_BATCH * hidden);
    m->qkv = zeroed(sizeof(float) * MAX_BATCH * 3 * hidden);
    m->att = zeroed(sizeof(float) * MAX_BATCH * hidden);
    m->ff = zeroed(sizeof(float) * MAX_BATCH * ffn);
    int widest = ffn > hidden ? ffn : hidden;
    m->xq = zeroed((size_t)MAX_BATCH * widest);
    if (!m->layer || !m->x || !m->h || !m->qkv || !m->att || !m->ff || !m->xq || pool_start(&m->pool, threads) != 0) {
        if (m->pool.threads > 0) pool_stop(&m->pool);
        model_free_buffers(m);
        free(m);
        return NULL;
    }
    return m;
}

void mg_model_free(model_t *m) {
    if (!m) return;
    pool_stop(&m->pool);
    model_free_buffers(m);
    free(m);
}

int mg_model_threads(const model_t *m) { return m->pool.threads; }

/* What the library adds to the int8 weights it is handed (in place): 128 with VNNI, else 0. */
int mg_weight_offset(void) { return UNSIGNED_WEIGHTS ? 128 : 0; }

/*
 * Layer `index`'s layer norms (weight, bias) and int8 weights with their per-row scales. The weights
 * are taken over (see qmatrix): the caller keeps them alive and no longer reads them itself.
 */
int mg_set_layer(model_t *m, int index, const float *self_ln_w, const float *self_ln_b, int8_t *qkv_w,
                 const float *qkv_s, int8_t *self_out_w, const float *self_out_s, const float *cross_ln_w,
                 const float *cross_ln_b, int8_t *cross_q_w, const float *cross_q_s, int8_t *cross_out_w,
                 const float *cross_out_s, const float *ffn_ln_w, const float *ffn_ln_b, int8_t *fc1_w,
                 const float *fc1_s, int8_t *fc2_w, const float *fc2_s) {
    if (index < 0 || index >= m->layers) return -1;
    int H = m->hidden, F = m->ffn;
    layer_t *l = &m->layer[index];
    l->self_ln_w = self_ln_w;
    l->self_ln_b = self_ln_b;
    l->qkv = qmatrix(qkv_w, qkv_s, 3 * H, H);
    l->self_out = qmatrix(self_out_w, self_out_s, H, H);
    l->cross_ln_w = cross_ln_w;
    l->cross_ln_b = cross_ln_b;
    l->cross_q = qmatrix(cross_q_w, cross_q_s, H, H);
    l->cross_out = qmatrix(cross_out_w, cross_out_s, H, H);
    l->ffn_ln_w = ffn_ln_w;
    l->ffn_ln_b = ffn_ln_b;
    l->fc1 = qmatrix(fc1_w, fc1_s, F, H);
    l->fc2 = qmatrix(fc2_w, fc2_s, H, F);
    return 0;
}

void mg_set_head(model_t *m, const float *final_ln_w, const float *final_ln_b, int8_t *lm_w, const float *lm_s) {
    m->final_ln_w = final_ln_w;
    m->final_ln_b = final_ln_b;
    m->lm_heads = qmatrix(lm_w, lm_s, m->outputs, m->hidden);
}

/* The codebooks' embedding tables (entries = vocabulary + 1 for the pad token) and position table. */
void mg_set_embeddings(model_t *m, const float *embed, int codebooks, int entries, const float *positions,
                       int num_positions) {
    m->embed = embed;
    m->codebooks = codebooks;
    m->entries = entries;
    m->positions = positions;
    m->num_positions = num_positions;
}

/* Normalise `batch` rows of x with (w, b), quantise them into m->xq / m->xs. */
static void norm_and_quantize(model_t *m, const float *x, int batch, const float *w, const float *b) {
    for (int r = 0; r < batch; r++) {
        layer_norm(x + (size_t)r * m->hidden, m->h + (size_t)r * m->hidden, m->hidden, w, b, m->eps);
        m->xs[r] = quantize_row(m->h + (size_t)r * m->hidden, m->xq + (size_t)r * m->hidden, m->hidden, &m->xsum[r]);
    }
}

static void quantize_rows(model_t *m, const float *x, int batch, int n) {
    for (int r = 0; r < batch; r++) m->xs[r] = quantize_row(x + (size_t)r * n, m->xq + (size_t)r * n, n, &m->xsum[r]);
}

static void gemv(model_t *m, const qmatrix_t *w, int batch, float *out, int out_stride, int mode) {
    gemv_t g = {w, m->xq, m->xs, m->xsum, batch, out, out_stride, mode};
    pool_run(&m->pool, gemv_range, &g, w->rows, 8);
}

static int attend(model_t *m, const float *q, int q_stride, const void *k, const void *v, const float *k_scale,
                  const float *v_scale, int slots, int length, const float *mask, int mask_stride, int batch) {
    size_t need = (size_t)batch * m->heads * length;
    if (need > m->scores_capacity) {
        free(m->scores);
        m->scores = zeroed(sizeof(float) * need);
        m->scores_capacity = m->scores ? need : 0;
        if (!m->scores) return -1;
    }
    attention_t a = {q,        q_stride,    k,    v,         k_scale, v_scale,   slots,      length,
                     m->heads, m->head_dim, mask, m->scores, m->att,  m->hidden, mask_stride};
    pool_run(&m->pool, attention_range, &a, batch * m->heads, 1);
    return 0;
}

/*
 * One decoder step for tokens [codebooks] (the same input for every batch row) at `position`. The
 * step's keys/values are quantised into cache slot `position` (of `slots`), then attended with
 * slots 0..position. Rows 0..cross_rows-1 attend to their text's first `text_len` keys/values (of
 * `cross_batch` rows laid out): row 0 (the conditional half) always, row 1 (the unconditional half)
 * only with a negative prompt; without one it adds exactly zero and is skipped.
 * Writes logits [batch][outputs]. Returns 0, or -1 on bad arguments / out of memory.
 */
int mg_step(model_t *m, const int64_t *tokens, int batch, int position, int8_t *cache, float *cache_scales, int slots,
            const float *cross, const float *cross_mask, int cross_batch, int cross_rows, int max_text, int text_len,
            float *logits) {
    if (batch < 1 || batch > MAX_BATCH || position < 0 || position >= slots || position >= m->num_positions ||
        text_len > max_text || cross_rows < 0 || cross_rows > batch || cross_rows > cross_batch || !m->embed)
        return -1;
    const int H = m->hidden, heads = m->heads, d = m->head_dim;
    const size_t kv_block = (size_t)MAX_BATCH * heads * slots * d; /* one of k or v, one layer */
    const size_t cross_block = (size_t)cross_batch * heads * max_text * d;
    memcpy(m->x, m->positions + (size_t)position * H, sizeof(float) * H);
    for (int c = 0; c < m->codebooks; c++) {
        if (tokens[c] < 0 || tokens[c] >= m->entries) return -1;
        const float *e = m->embed + ((size_t)c * m->entries + tokens[c]) * H;
        for (int i = 0; i < H; i += 8) _mm256_storeu_ps(m->x + i, _mm256_add_ps(_mm256_loadu_ps(m->x + i), _mm256_loadu_ps(e + i)));
    }
    for (int b = 1; b < batch; b++) memcpy(m->x + (size_t)b * H, m->x, sizeof(float) * H);
    for (int index = 0; index < m->layers; index++) {
        const layer_t *l = &m->layer[index];
        int8_t *keys = cache + (size_t)index * 2 * kv_block, *values = keys + kv_block;
        float *key_scales = cache_scales + (size_t)index * 2 * (kv_block / d), *value_scales = key_scales + kv_block / d;

        norm_and_quantize(m, m->x, batch, l->self_ln_w, l->self_ln_b);
        gemv(m, &l->qkv, batch, m->qkv, 3 * H, STORE);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                size_t row = (size_t)(b * heads + h) * slots + position;
                const float *k = m->qkv + (size_t)b * 3 * H + H + h * d, *v = k + H;
                key_scales[row] = quantize_short_row(k, keys + row * d, d);
                value_scales[row] = quantize_short_row(v, values + row * d, d);
            }
        }
        if (attend(m, m->qkv, 3 * H, keys, values, key_scales, value_scales, slots, position + 1, NULL, 0, batch))
            return -1;
        quantize_rows(m, m->att, batch, H);
        gemv(m, &l->self_out, batch, m->x, H, ADD);

        if (text_len > 0 && cross_rows > 0) {
            const float *ck = cross + (size_t)index * 2 * cross_block, *cv = ck + cross_block;
            norm_and_quantize(m, m->x, cross_rows, l->cross_ln_w, l->cross_ln_b);
            gemv(m, &l->cross_q, cross_rows, m->qkv, H, STORE);
            if (attend(m, m->qkv, H, ck, cv, NULL, NULL, max_text, text_len, cross_mask, max_text, cross_rows))
                return -1;
            quantize_rows(m, m->att, cross_rows, H);
            gemv(m, &l->cross_out, cross_rows, m->x, H, ADD);
        }

        norm_and_quantize(m, m->x, batch, l->ffn_ln_w, l->ffn_ln_b);
        gemv(m, &l->fc1, batch, m->ff, m->ffn, STORE_GELU);
        quantize_rows(m, m->ff, batch, m->ffn);
        gemv(m, &l->fc2, batch, m->x, H, ADD);
    }
    norm_and_quantize(m, m->x, batch, m->final_ln_w, m->final_ln_b);
    gemv(m, &m->lm_heads, batch, logits, m->outputs, STORE);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* A probe for benchmarks: how fast this machine reads memory right now (it varies on shared hosts). */

typedef struct {
    const int8_t *data;
    size_t chunk;
    atomic_int sum; /* keeps the reads from being optimised away */
} read_t;

static void read_range(void *raw, int begin, int end) {
    read_t *r = raw;
    __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    for (int c = begin; c < end; c++) {
        const int8_t *p = r->data + (size_t)c * r->chunk;
        for (size_t i = 0; i < r->chunk; i += 64) {
            a = _mm256_add_epi8(a, _mm256_loadu_si256((const __m256i *)(p + i)));
            b = _mm256_add_epi8(b, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        }
    }
    atomic_fetch_add_explicit(&r->sum, hsum_epi32(_mm256_add_epi32(a, b)), memory_order_relaxed);
}

/* The best of `repeats` reads of `bytes` (rounded to 64 KiB chunks) with `threads` threads, in GB/s. */
double mg_read_bandwidth(size_t bytes, int threads, int repeats) {
    const size_t chunk = 1 << 16;
    int chunks = (int)(bytes / chunk);
    if (chunks < 1 || repeats < 1) return 0;
    int8_t *data = zeroed((size_t)chunks * chunk);
    pool_t *pool = calloc(1, sizeof(pool_t));
    if (!data || !pool || pool_start(pool, threads) != 0) {
        if (pool && pool->threads > 0) pool_stop(pool);
        free(pool);
        free(data);
        return 0;
    }
    read_t r = {data, chunk, 0};
    double best = 0;
    for (int i = 0; i < repeats; i++) {
        double start = now_us();
        pool_run(pool, read_range, &r, chunks, 1);
        double rate = (double)chunks * chunk / ((now_us() - start) * 1e3);
        if (rate > best) best = rate;
    }
    pool_stop(pool);
    free(pool);
    free(data);
    return best;
}
