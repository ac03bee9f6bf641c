/*
 * The thread pool: the caller and its workers take chunks of one range at a time.
 *
 * Chunks are handed out as threads ask, not fixed per thread: on a shared host a virtual CPU may be
 * paused for a while, and the other threads then take its share. The caller returns as soon as every
 * chunk is done, not when every worker has checked in: a worker still asleep, or descheduled by a
 * neighbour, costs nothing unless it holds a chunk. Idle workers spin for a while (yielding their core
 * after the first microseconds, so a second pool in the process or another job can run), then sleep.
 * A forked child, which inherits no threads, starts its own on its first run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define SPIN_MICROSECONDS 2000.0 /* spinning, then sleeping until the next run */
#define YIELD_AFTER_MICROSECONDS 20.0
#define CHUNKS_PER_THREAD 8

/* One run's work. Two of them alternate, so a late worker never reads a job being written. */
typedef struct {
    _Atomic(mg_range_fn) fn;
    _Atomic(void *) ctx;
    atomic_int total, chunk;
} job_t;

struct mg_pool {
    int threads;
    unsigned epoch; /* the fork epoch the workers were started in */
    pthread_t handles[MG_MAX_THREADS];
    job_t jobs[2];
    /* (run << 32) | the first item no thread has taken: a claim is valid for its run only */
    _Atomic uint64_t ticket;
    atomic_int done; /* items finished in this run */
    atomic_uint generation; /* the current run: workers wake when it moves */
    atomic_int sleepers;
    atomic_int stop;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

static atomic_uint fork_epoch;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) { atomic_fetch_add(&fork_epoch, 1); }
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, on_fork_child); }

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

#if !MG_AVX2 && defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline void cpu_relax(void) {
#if MG_AVX2 || defined(__SSE2__)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Take chunks of run `run` until none is left (or the run is over). */
static void take_chunks(mg_pool *p, unsigned run) {
    job_t *job = &p->jobs[run & 1];
    for (;;) {
        uint64_t ticket = atomic_load_explicit(&p->ticket, memory_order_acquire);
        if ((unsigned)(ticket >> 32) != run) return;
        int begin = (int)(uint32_t)ticket;
        int total = atomic_load_explicit(&job->total, memory_order_relaxed);
        int chunk = atomic_load_explicit(&job->chunk, memory_order_relaxed);
        if (begin >= total) return;
        /* A claim succeeds only while the ticket is still this run's, so the job read is this run's:
         * the other job slot is the one written for the next run. */
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &ticket, ticket + (uint64_t)chunk,
                                                   memory_order_acq_rel, memory_order_relaxed))
            continue;
        int end = begin + chunk < total ? begin + chunk : total;
        mg_range_fn fn = atomic_load_explicit(&job->fn, memory_order_relaxed);
        fn(atomic_load_explicit(&job->ctx, memory_order_relaxed), begin, end);
        atomic_fetch_add_explicit(&p->done, end - begin, memory_order_release);
    }
}

/* Wait until the generation moves past `seen`: spin, then yield, then sleep. */
static unsigned wait_for_run(mg_pool *p, unsigned seen) {
    double start = 0;
    for (int spins = 1;; spins++) {
        unsigned current = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (current != seen) return current;
        cpu_relax();
        if (spins % 64 != 0) continue;
        double t = now_us();
        if (start == 0) start = t;
        if (t - start > SPIN_MICROSECONDS) {
            pthread_mutex_lock(&p->mutex);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mutex);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mutex);
            start = 0;
        } else if (t - start > YIELD_AFTER_MICROSECONDS) {
            sched_yield();
        }
    }
}

typedef struct {
    mg_pool *pool;
    unsigned generation; /* the pool's generation when the worker was made: it waits for the next */
} worker_start_t;

static void *worker_main(void *raw) {
    worker_start_t start = *(worker_start_t *)raw;
    free(raw);
    mg_pool *p = start.pool;
    unsigned seen = start.generation;
    for (;;) {
        seen = wait_for_run(p, seen);
        if (atomic_load(&p->stop)) return NULL;
        take_chunks(p, seen);
    }
}

static int start_workers(mg_pool *p, int threads) {
    p->threads = 1;
    p->epoch = atomic_load(&fork_epoch);
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    atomic_store(&p->stop, 0);
    atomic_store(&p->sleepers, 0);
    for (int i = 1; i < threads; i++) {
        worker_start_t *start = malloc(sizeof(*start));
        if (!start) return -1;
        start->pool = p;
        start->generation = atomic_load(&p->generation);
        if (pthread_create(&p->handles[i], NULL, worker_main, start) != 0) {
            free(start);
            return -1;
        }
        p->threads = i + 1;
    }
    return 0;
}

static void stop_workers(mg_pool *p) {
    atomic_store(&p->stop, 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 1; i < p->threads; i++) pthread_join(p->handles[i], NULL);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
    p->threads = 1;
}

mg_pool *mg_pool_new(int threads) {
    pthread_once(&fork_once, register_fork_handler);
    if (threads < 1) threads = 1;
    if (threads > MG_MAX_THREADS) threads = MG_MAX_THREADS;
    mg_pool *p = calloc(1, sizeof(mg_pool));
    if (!p) return NULL;
    if (start_workers(p, threads) != 0) {
        stop_workers(p);
        free(p);
        return NULL;
    }
    return p;
}

void mg_pool_free(mg_pool *p) {
    if (!p) return;
    if (p->epoch == atomic_load(&fork_epoch)) stop_workers(p);
    /* else: a forked child's copy whose workers never existed here; nothing to join */
    free(p);
}

int mg_pool_threads(const mg_pool *p) { return p->threads; }

/* A forked child has the caller's thread only: start the workers again (or run alone). */
static void restart_after_fork(mg_pool *p) {
    int threads = p->threads;
    /* The parent's mutex and condition may have been held at the fork: start_workers makes new ones. */
    if (start_workers(p, threads) != 0) {
        atomic_store(&p->stop, 1); /* the workers that did start leave at the next generation */
        p->threads = 1;
    }
}

void mg_pool_run(mg_pool *p, mg_range_fn fn, void *ctx, int total, int grain) {
    if (p->epoch != atomic_load(&fork_epoch)) restart_after_fork(p);
    if (p->threads == 1 || total <= grain) {
        fn(ctx, 0, total);
        return;
    }
    int grains = (total + grain - 1) / grain;
    int per_chunk = (grains + p->threads * CHUNKS_PER_THREAD - 1) / (p->threads * CHUNKS_PER_THREAD);
    unsigned run = atomic_load(&p->generation) + 1; /* only the caller moves it while the pool lives */
    job_t *job = &p->jobs[run & 1];
    atomic_store_explicit(&job->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job->total, total, memory_order_relaxed);
    atomic_store_explicit(&job->chunk, per_chunk * grain, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->ticket, (uint64_t)run << 32, memory_order_release);
    atomic_store(&p->generation, run);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    take_chunks(p, run);
    double start = 0;
    for (int spins = 1; atomic_load_explicit(&p->done, memory_order_acquire) < total; spins++) {
        cpu_relax();
        if (spins % 64 != 0) continue;
        /* A worker holding a chunk may have lost its core: after a while, offer it ours. */
        double t = now_us();
        if (start == 0) start = t;
        if (t - start > YIELD_AFTER_MICROSECONDS) sched_yield();
    }
}
