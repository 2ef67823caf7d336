// Batched filtfilt + derivative: the signals of a block are interleaved sample-major so that the
// recursive filter, latency-bound for one signal, runs at full SIMD throughput across signals.
// FP contraction is off: every lane computes exactly what the scalar SciPy-order code computes.
#include "signal_kernel.h"

#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/// Eight doubles, one per signal (clang vector extension; element-wise IEEE arithmetic).
typedef double lanes8 __attribute__((vector_size(64), aligned(64)));

/// A per-thread work buffer, grown as needed and reused (a fresh multi-megabyte allocation per call
/// costs more in page faults than the filtering itself).
static void *scratch(size_t bytes) {
    static _Thread_local void *buffer = NULL;
    static _Thread_local size_t capacity = 0;
    if (bytes > capacity) {
        free(buffer);
        size_t rounded = (bytes + 63) / 64 * 64;
        buffer = aligned_alloc(64, rounded);
        capacity = buffer ? rounded : 0;
    }
    return buffer;
}

/// Eight doubles at any 8-byte-aligned address (for loading and storing one signal's consecutive samples).
typedef double lanes8_unaligned __attribute__((vector_size(64), aligned(8)));

/// Transposes the 8 × 8 block r (row l: 8 consecutive values of signal l) in place, so that row j holds value j of
/// every signal. Pure data movement: the values are not changed.
static inline __attribute__((always_inline)) void transpose8(lanes8 r[8]) {
    lanes8 t[8], u[8];
    for (int p = 0; p < 8; p += 2) {
        t[p] = __builtin_shufflevector(r[p], r[p + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[p + 1] = __builtin_shufflevector(r[p], r[p + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int q = 0; q < 8; q += 4) {
        u[q] = __builtin_shufflevector(t[q], t[q + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 1] = __builtin_shufflevector(t[q + 1], t[q + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[q + 2] = __builtin_shufflevector(t[q], t[q + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[q + 3] = __builtin_shufflevector(t[q + 1], t[q + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int j = 0; j < 4; j++) {
        r[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

// The helpers below take and return vectors by value; they are always inlined, so no call ABI applies.
#pragma clang diagnostic ignored "-Wpsabi"

/// Sixteen floats, one per signal, and eight (half of them).
typedef float lanes16f __attribute__((vector_size(64), aligned(64)));
typedef float lanes8f __attribute__((vector_size(32)));

/// r[j] = samples k … k + 7 of 8 signals, transposed: r[j] holds sample k + j of every signal.
#define LOAD_TRANSPOSED8(r, signals, k)                                                          \
    do {                                                                                         \
        for (int l_ = 0; l_ < 8; l_++) (r)[l_] = *(const lanes8_unaligned *)((signals)[l_] + (k)); \
        transpose8(r);                                                                           \
    } while (0)

/// The inverse: d[j] holds value k + j of every signal; writes 8 values to each of the first `lanes` of the 8 signals.
#define STORE_TRANSPOSED8(d, signals, k, lanes)                                                                      \
    do {                                                                                                             \
        transpose8(d);                                                                                               \
        for (int l_ = 0; l_ < 8 && l_ < (lanes); l_++) *(lanes8_unaligned *)((signals)[l_] + (k)) = (d)[l_];         \
    } while (0)

/// float32: 16 signals in one vector, rounded from the two transposed halves.
static inline __attribute__((always_inline)) void load_rounded16(lanes16f r[8], const double *const *source, size_t k) {
    lanes8 low[8], high[8];
    LOAD_TRANSPOSED8(low, source, k);
    LOAD_TRANSPOSED8(high, source + 8, k);
    for (int j = 0; j < 8; j++)
        r[j] = __builtin_shufflevector(__builtin_convertvector(low[j], lanes8f), __builtin_convertvector(high[j], lanes8f),
                                       0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

static inline __attribute__((always_inline)) void store_widened16(lanes16f d[8], double *const *out, size_t k, int lanes) {
    lanes8 low[8], high[8];
    for (int j = 0; j < 8; j++) {
        low[j] = __builtin_convertvector(__builtin_shufflevector(d[j], d[j], 0, 1, 2, 3, 4, 5, 6, 7), lanes8);
        high[j] = __builtin_convertvector(__builtin_shufflevector(d[j], d[j], 8, 9, 10, 11, 12, 13, 14, 15), lanes8);
    }
    STORE_TRANSPOSED8(low, out, k, lanes);
    if (lanes > 8) STORE_TRANSPOSED8(high, out + 8, k, lanes - 8);
}

#define VEC lanes8
#define SCALAR double
#define WIDTH 8
#define LOAD_SAMPLES(r, source, g, k) LOAD_TRANSPOSED8(r, (source) + (g) * 8, k)
#define STORE_DERIVATIVES(d, out, g, k, lanes) STORE_TRANSPOSED8(d, (out) + (g) * 8, k, (lanes) - (g) * 8)
#define NAME(f) f##_f64
#include "filtfilt.h"
#undef VEC
#undef SCALAR
#undef WIDTH
#undef LOAD_SAMPLES
#undef STORE_DERIVATIVES
#undef NAME

#define VEC lanes16f
#define SCALAR float
#define WIDTH 16
#define LOAD_SAMPLES(r, source, g, k) load_rounded16(r, source, k)
#define STORE_DERIVATIVES(d, out, g, k, lanes) store_widened16(d, out, k, lanes)
#define NAME(f) f##_f32
#include "filtfilt.h"
#undef VEC
#undef SCALAR
#undef WIDTH
#undef LOAD_SAMPLES
#undef STORE_DERIVATIVES
#undef NAME

CLONES
int ionlink_filtered_derivative(const double b[5], const double a[5], const double zi[4], int pad,
                                const double *const *x, const double *t, size_t n, int lanes, double *const *out) {
    return filtered_derivative_f64(b, a, zi, pad, x, t, n, lanes, out);
}

CLONES
int ionlink_filtered_derivative_f32(const double b[5], const double a[5], const double zi[4], int pad,
                                    const double *const *x, const double *t, size_t n, int lanes, double *const *out) {
    return filtered_derivative_f32(b, a, zi, pad, x, t, n, lanes, out);
}

/// Calls visit(group, r) for samples [from, to) of up to 16 signals, 8 samples × 8 signals at a time transposed so that
/// r[j] holds sample from + 8i + j of the group's 8 signals, in ascending order; then visit_tail for the last
/// (to − from) mod 8 samples one at a time (r[0] only). Unused lanes repeat signal 0.
#define FOR_EACH_SAMPLE(x, lanes, from, to, VISIT)                                                      \
    do {                                                                                                \
        const double *source_[IONLINK_SIGNAL_LANES];                                                    \
        const int groups_ = ((lanes) + 7) / 8;                                                          \
        for (int l = 0; l < groups_ * 8; l++) source_[l] = (x)[l < (lanes) ? l : 0];                    \
        size_t k_ = (from);                                                                             \
        for (; k_ + 8 <= (to); k_ += 8)                                                                 \
            for (int g = 0; g < groups_; g++) {                                                         \
                lanes8 r[8];                                                                            \
                LOAD_TRANSPOSED8(r, source_ + g * 8, k_);                                               \
                for (int j = 0; j < 8; j++) { lanes8 v = r[j]; VISIT; }                                 \
            }                                                                                           \
        for (; k_ < (to); k_++)                                                                         \
            for (int g = 0; g < groups_; g++) {                                                         \
                lanes8 v;                                                                               \
                for (int l = 0; l < 8; l++) v[l] = source_[g * 8 + l][k_];                              \
                VISIT;                                                                                  \
            }                                                                                           \
    } while (0)

CLONES
void ionlink_add_sums(const double *const *x, int lanes, size_t from, size_t to, double *sums) {
    if (lanes < 1 || lanes > IONLINK_SIGNAL_LANES) return;
    lanes8 total[2] = {{0}, {0}};
    for (int l = 0; l < lanes; l++) total[l / 8][l % 8] = sums[l];
    FOR_EACH_SAMPLE(x, lanes, from, to, total[g] = total[g] + v);
    for (int l = 0; l < lanes; l++) sums[l] = total[l / 8][l % 8];
}

CLONES
void ionlink_central_moments(const double *const *x, int lanes, size_t from, size_t to, const double *mean,
                             double *m2, double *m3) {
    if (lanes < 1 || lanes > IONLINK_SIGNAL_LANES) return;
    lanes8 center[2] = {{0}, {0}}, second[2] = {{0}, {0}}, third[2] = {{0}, {0}};
    for (int l = 0; l < lanes; l++) center[l / 8][l % 8] = mean[l];
    FOR_EACH_SAMPLE(x, lanes, from, to, {
        lanes8 d = v - center[g];
        second[g] = second[g] + d * d;
        third[g] = third[g] + d * d * d;
    });
    for (int l = 0; l < lanes; l++) {
        m2[l] = second[l / 8][l % 8];
        m3[l] = third[l / 8][l % 8];
    }
}

CLONES
int ionlink_reaches(const double *x, size_t n, double level) {
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        int any = 0;
        for (int j = 0; j < 32; j++) any |= x[k + j] >= level;
        if (any) return 1;
    }
    for (; k < n; k++)
        if (x[k] >= level) return 1;
    return 0;
}

#include <malloc.h>

void ionlink_keep_large_buffers_on_heap(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}
