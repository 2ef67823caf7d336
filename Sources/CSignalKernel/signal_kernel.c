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

/// One direct-form-II-transposed pass over `m` samples of GROUPS × 8 interleaved signals, in place,
/// forwards or backwards, starting from zi · (first input of the pass). All groups advance in the same
/// loop iteration, so their independent recursions overlap in the pipeline.
#define DEFINE_PASS(NAME, GROUPS)                                                                        \
static inline __attribute__((always_inline)) void NAME(lanes8 *buffer, size_t m, int backwards,         \
                                                      const double b[5], const double a[5],            \
                                                      const double zi[4]) {                            \
    const lanes8 one = {1, 1, 1, 1, 1, 1, 1, 1};                                                       \
    const lanes8 b0 = one * b[0], b1 = one * b[1], b2 = one * b[2], b3 = one * b[3], b4 = one * b[4];  \
    const lanes8 a1 = one * a[1], a2 = one * a[2], a3 = one * a[3], a4 = one * a[4];                   \
    lanes8 z0[GROUPS], z1[GROUPS], z2[GROUPS], z3[GROUPS];                                             \
    size_t first = backwards ? m - 1 : 0;                                                              \
    for (int g = 0; g < GROUPS; g++) {                                                                 \
        lanes8 x0 = buffer[first * GROUPS + g];                                                        \
        z0[g] = zi[0] * x0; z1[g] = zi[1] * x0; z2[g] = zi[2] * x0; z3[g] = zi[3] * x0;                \
    }                                                                                                  \
    for (size_t i = 0; i < m; i++) {                                                                   \
        size_t k = backwards ? m - 1 - i : i;                                                          \
        for (int g = 0; g < GROUPS; g++) {                                                             \
            lanes8 xn = buffer[k * GROUPS + g];                                                        \
            lanes8 yn = z0[g] + b0 * xn;                                                               \
            z0[g] = z1[g] + xn * b1 - yn * a1;                                                         \
            z1[g] = z2[g] + xn * b2 - yn * a2;                                                         \
            z2[g] = z3[g] + xn * b3 - yn * a3;                                                         \
            z3[g] = xn * b4 - yn * a4;                                                                 \
            buffer[k * GROUPS + g] = yn;                                                               \
        }                                                                                              \
    }                                                                                                  \
}
DEFINE_PASS(pass1, 1)
DEFINE_PASS(pass2, 2)

CLONES
int ionlink_filtered_derivative(const double b[5], const double a[5], const double zi[4], int pad,
                                const double *x, size_t x_stride, const double *t, size_t n, int lanes,
                                double *out, size_t out_stride) {
    if (lanes < 1 || lanes > IONLINK_SIGNAL_LANES || pad < 1 || n <= (size_t)pad) return -1;
    const int groups = (lanes + 7) / 8;
    const int width = groups * 8;
    const size_t m = n + 2 * (size_t)pad;
    lanes8 *buffer = scratch(sizeof(lanes8) * groups * m);
    if (!buffer) return -1;
    double *flat = (double *)buffer;
    // Odd extension at both ends, interleaved (sample-major, so writes are sequential and each signal is
    // read as one sequential stream); unused lanes repeat lane 0.
    const double *source[IONLINK_SIGNAL_LANES];
    for (int l = 0; l < width; l++) source[l] = x + (size_t)(l < lanes ? l : 0) * x_stride;
    for (int i = 0; i < pad; i++)
        for (int l = 0; l < width; l++) flat[(size_t)i * width + l] = 2 * source[l][0] - source[l][pad - i];
    for (size_t k = 0; k < n; k++)
        for (int l = 0; l < width; l++) flat[(pad + k) * width + l] = source[l][k];
    for (int i = 0; i < pad; i++)
        for (int l = 0; l < width; l++) flat[(pad + n + (size_t)i) * width + l] = 2 * source[l][n - 1] - source[l][n - 2 - i];
    if (groups == 1) {
        pass1(buffer, m, 0, b, a, zi);
        pass1(buffer, m, 1, b, a, zi);
    } else {
        pass2(buffer, m, 0, b, a, zi);
        pass2(buffer, m, 1, b, a, zi);
    }
    // Derivative in V/s: 1e-3 · (y[i+1] − y[i]) / (t[i+1] − t[i]), vectorised across signals in place,
    // then copied out signal by signal.
    lanes8 *y = buffer + (size_t)pad * groups;
    for (size_t i = 0; i + 1 < n; i++) {
        double dt = t[i + 1] - t[i];
        for (int g = 0; g < groups; g++) y[i * groups + g] = 1e-3 * (y[(i + 1) * groups + g] - y[i * groups + g]) / dt;
    }
    const double *d = (const double *)y;
    for (size_t i = 0; i + 1 < n; i++)
        for (int l = 0; l < lanes; l++) out[(size_t)l * out_stride + i] = d[i * width + l];
    return 0;
}

#include <malloc.h>

void ionlink_keep_large_buffers_on_heap(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}
