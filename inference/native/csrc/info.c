/* What the loader asks a build: its ABI, variant and weight encoding, the CPU's features; a memory probe. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifndef MG_VARIANT
#error "build with -DMG_VARIANT=\"<name>\" (setup.py does)"
#endif

int32_t mg_abi_version(void) { return MG_ABI_VERSION; }

int32_t mg_weight_encoding(void) { return MG_UNSIGNED_WEIGHTS ? MG_WEIGHTS_OFFSET_128 : MG_WEIGHTS_SIGNED; }

void mg_weight_blocks(int32_t *rows, int32_t *cols) {
    *rows = MG_BLOCK_ROWS;
    *cols = MG_BLOCK_COLS;
}

const char *mg_variant(void) { return MG_VARIANT; }

/*
 * AMX-TILE and AMX-INT8 in CPUID, their state enabled in XCR0 (bits 17, 18), and on Linux the process's
 * permission to use the tile data, asked for once (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
 */
static int amx_check(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 24)) || !(d & (1u << 25))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;
#if defined(__linux__)
    enum { GET_PERMITTED = 0x1022, REQUEST = 0x1023, TILE_DATA = 18 };
    unsigned long permitted = 0;
    if (syscall(SYS_arch_prctl, REQUEST, TILE_DATA) != 0) return 0;
    if (syscall(SYS_arch_prctl, GET_PERMITTED, &permitted) != 0) return 0;
    return (permitted >> TILE_DATA) & 1;
#else
    return 0; /* other OSes: not tried */
#endif
#else
    return 0;
#endif
}

int mg_amx_usable(void) {
    static atomic_int known = -1;
    int usable = atomic_load(&known);
    if (usable < 0) atomic_store(&known, usable = amx_check());
    return usable;
}

int32_t mg_cpu_features(void) {
    int32_t features = 0;
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    /* libgcc's checks include the OS's support for the wider registers (XSAVE state). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) features |= MG_CPU_AVX2;
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
    if ((features & MG_CPU_AVX2) && __builtin_cpu_supports("avxvnni")) features |= MG_CPU_AVX_VNNI;
#endif
    if ((features & MG_CPU_AVX2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni"))
        features |= MG_CPU_AVX512_VNNI;
    if ((features & MG_CPU_AVX512_VNNI) && mg_amx_usable()) features |= MG_CPU_AMX_INT8;
#endif
    return features;
}

size_t mg_sizeof(int32_t which) {
    switch (which) {
        case 0: return sizeof(mg_matrix);
        case 1: return sizeof(mg_norm);
        case 2: return sizeof(mg_layer);
        case 3: return sizeof(mg_config);
        case 4: return sizeof(mg_weights);
        case 5: return sizeof(mg_track);
        default: return 0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* How fast this machine reads memory right now (it varies on shared hosts): the step's floor. */

typedef struct {
    const int8_t *data;
    size_t chunk;
    atomic_llong sum; /* keeps the reads from being optimised away */
} read_t;

static void read_range(void *raw, int begin, int end) {
    read_t *r = raw;
    long long sum = 0;
    for (int c = begin; c < end; c++) {
        const int64_t *p = (const int64_t *)(r->data + (size_t)c * r->chunk);
        int64_t a = 0, b = 0, x = 0, y = 0;
        for (size_t i = 0; i < r->chunk / 8; i += 8) {
            /* Prefetched as the GEMV prefetches its weights: the rate the step can reach, not the
             * hardware prefetcher's alone (on AMD EPYC about a fifth less). */
            __builtin_prefetch(p + i + 256);
            a += p[i];
            b += p[i + 2];
            x += p[i + 4];
            y += p[i + 6];
        }
        sum += a + b + x + y;
    }
    atomic_fetch_add_explicit(&r->sum, sum, memory_order_relaxed);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

double mg_read_bandwidth(size_t bytes, int32_t threads, int32_t repeats) {
    const size_t chunk = 1 << 16;
    int chunks = (int)(bytes / chunk);
    if (chunks < 1 || repeats < 1) return 0;
    int8_t *data = NULL;
    if (posix_memalign((void **)&data, 64, (size_t)chunks * chunk) != 0) return 0;
    memset(data, 1, (size_t)chunks * chunk);
    mg_pool *pool = mg_pool_new(threads);
    if (!pool) {
        free(data);
        return 0;
    }
    read_t r = {data, chunk, 0};
    double best = 0;
    for (int i = 0; i < repeats; i++) {
        double start = now_us();
        mg_pool_run(pool, read_range, &r, chunks, 1);
        double rate = (double)chunks * chunk / ((now_us() - start) * 1e3);
        if (rate > best) best = rate;
    }
    mg_pool_free(pool);
    free(data);
    return best;
}
