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

/// The 4th-order direct-form-II-transposed filter (b, a) on 8 lanes, with its four state vectors.
typedef struct {
    lanes8 b0, b1, b2, b3, b4, a1, a2, a3, a4;
} coefficients;

typedef struct {
    lanes8 z0, z1, z2, z3;
} state;

static inline __attribute__((always_inline)) coefficients broadcast(const double b[5], const double a[5]) {
    const lanes8 one = {1, 1, 1, 1, 1, 1, 1, 1};
    coefficients c = {one * b[0], one * b[1], one * b[2], one * b[3], one * b[4], one * a[1], one * a[2], one * a[3], one * a[4]};
    return c;
}

/// Steady-state initial conditions zi · x0 (SciPy's filtfilt: zi times the first input of the pass).
static inline __attribute__((always_inline)) state initial(const double zi[4], lanes8 x0) {
    state s = {zi[0] * x0, zi[1] * x0, zi[2] * x0, zi[3] * x0};
    return s;
}

/// One step of the recursion: the output for input xn, in SciPy's order of operations.
static inline __attribute__((always_inline)) lanes8 step(state *s, const coefficients *c, lanes8 xn) {
    lanes8 yn = s->z0 + c->b0 * xn;
    s->z0 = s->z1 + xn * c->b1 - yn * c->a1;
    s->z1 = s->z2 + xn * c->b2 - yn * c->a2;
    s->z2 = s->z3 + xn * c->b3 - yn * c->a3;
    s->z3 = xn * c->b4 - yn * c->a4;
    return yn;
}

/// The forward pass over the first `count` − `count` mod 8 samples of 8 signals read in place, 8 samples × 8 signals at
/// a time through a register transpose, into out[0 …]; returns how many samples it took.
static inline __attribute__((always_inline)) size_t forward_transposed(lanes8 *out, const double *const *source, size_t count,
                                                                       state *s, const coefficients *c) {
    size_t k = 0;
    for (; k + 8 <= count; k += 8) {
        lanes8 r[8];
        for (int l = 0; l < 8; l++) r[l] = *(const lanes8_unaligned *)(source[l] + k);
        transpose8(r);
        for (int j = 0; j < 8; j++) out[k + j] = step(s, c, r[j]);
    }
    return k;
}

/// filtfilt and dV/dt of up to 8 signals (interleaved sample-major in `buffer`, m = n + 2·pad rows), with both passes
/// fused with the data movement: the forward pass reads the signals' bodies 8 samples × 8 signals at a time through a
/// register transpose (the odd extensions and the body's last n mod 8 samples are already in `buffer`), and the backward
/// pass turns each 8 outputs into derivatives and writes them transposed to `out`. The backward pass stops at the body's
/// first sample: its outputs over the leading extension are discarded by filtfilt.
static inline __attribute__((always_inline)) void filtfilt_derivative(
        lanes8 *buffer, size_t n, size_t pad, const double *const *source, int lanes,
        const double b[5], const double a[5], const double zi[4], const double *t, double *const *out) {
    const coefficients c = broadcast(b, a);
    const size_t m = n + 2 * pad, body = n / 8 * 8;
    // Forward.
    state s = initial(zi, buffer[0]);
    for (size_t i = 0; i < pad; i++) buffer[i] = step(&s, &c, buffer[i]);
    forward_transposed(buffer + pad, source, body, &s, &c);
    for (size_t i = pad + body; i < m; i++) buffer[i] = step(&s, &c, buffer[i]);
    // Backward: the end extension and the body's last samples, kept in `buffer`; their derivatives written one by one.
    const size_t count = n - 1, chunks = count / 8 * 8;
    s = initial(zi, buffer[m - 1]);
    for (size_t i = m; i-- > pad + chunks;) buffer[i] = step(&s, &c, buffer[i]);
    for (size_t k = chunks; k < count; k++) {
        double dt = t[k + 1] - t[k];
        for (int l = 0; l < lanes; l++) out[l][k] = 1e-3 * (buffer[pad + k + 1][l] - buffer[pad + k][l]) / dt;
    }
    // The rest, 8 derivatives at a time: y[k + 8] carried from the chunk above.
    lanes8 above = buffer[pad + chunks];
    for (size_t k = chunks; k > 0;) {
        k -= 8;
        lanes8 d[8];
        for (int j = 7; j >= 0; j--) {
            lanes8 y = step(&s, &c, buffer[pad + k + j]);
            d[j] = 1e-3 * (above - y) / (t[k + j + 1] - t[k + j]);
            above = y;
        }
        transpose8(d);
        for (int l = 0; l < lanes; l++) *(lanes8_unaligned *)(out[l] + k) = d[l];
    }
}

CLONES
int ionlink_filtered_derivative(const double b[5], const double a[5], const double zi[4], int pad,
                                const double *const *x, const double *t, size_t n, int lanes, double *const *out) {
    if (lanes < 1 || lanes > IONLINK_SIGNAL_LANES || pad < 1 || n <= (size_t)pad) return -1;
    const size_t m = n + 2 * (size_t)pad;
    lanes8 *buffer = scratch(sizeof(lanes8) * m);
    if (!buffer) return -1;
    // Eight signals at a time: the interleaved buffer of 8 (n · 64 bytes) stays nearer the core than one of 16, which
    // measured 1.3–1.6× slower per signal for the paper's 20 000 samples.
    for (int first = 0; first < lanes; first += 8) {
        const int group = lanes - first < 8 ? lanes - first : 8;
        // The odd extensions at both ends and the body's last n mod 8 samples, interleaved (unused lanes repeat the
        // group's first signal); the rest of the body is read by the forward pass itself.
        const double *source[8];
        for (int l = 0; l < 8; l++) source[l] = x[first + (l < group ? l : 0)];
        for (int i = 0; i < pad; i++)
            for (int l = 0; l < 8; l++) buffer[i][l] = 2 * source[l][0] - source[l][pad - i];
        for (size_t k = n / 8 * 8; k < n; k++)
            for (int l = 0; l < 8; l++) buffer[pad + k][l] = source[l][k];
        for (int i = 0; i < pad; i++)
            for (int l = 0; l < 8; l++) buffer[pad + n + (size_t)i][l] = 2 * source[l][n - 1] - source[l][n - 2 - i];
        filtfilt_derivative(buffer, n, (size_t)pad, source, group, b, a, zi, t, out + first);
    }
    return 0;
}

/// `ionlink_filtered_derivative_segments` for one group of 8 lanes (unused lanes repeat the first): the forward pass
/// through a register transpose into `buffer`, the backward pass in place, then the derivatives of [from, to).
static inline __attribute__((always_inline)) void filtfilt_segments(
        lanes8 *buffer, const double *const *xs, const double *const *ts, size_t m, size_t from, size_t to, int group,
        const double b[5], const double a[5], const double zi[4], double *const *out) {
    const coefficients c = broadcast(b, a);
    lanes8 x0;
    for (int l = 0; l < 8; l++) x0[l] = xs[l][0];
    state s = initial(zi, x0);
    size_t k = forward_transposed(buffer, xs, m, &s, &c);
    for (; k < m; k++) {
        lanes8 v;
        for (int l = 0; l < 8; l++) v[l] = xs[l][k];
        buffer[k] = step(&s, &c, v);
    }
    s = initial(zi, buffer[m - 1]);
    for (size_t i = m; i-- > 0;) buffer[i] = step(&s, &c, buffer[i]);
    size_t q = from;
    for (; q + 8 <= to; q += 8) {
        lanes8 t0[8], t1[8], d[8];
        for (int l = 0; l < 8; l++) {
            t0[l] = *(const lanes8_unaligned *)(ts[l] + q);
            t1[l] = *(const lanes8_unaligned *)(ts[l] + q + 1);
        }
        transpose8(t0);
        transpose8(t1);
        for (int j = 0; j < 8; j++) d[j] = 1e-3 * (buffer[q + j + 1] - buffer[q + j]) / (t1[j] - t0[j]);
        transpose8(d);
        for (int l = 0; l < group; l++) *(lanes8_unaligned *)(out[l] + (q - from)) = d[l];
    }
    for (; q < to; q++)
        for (int l = 0; l < group; l++) out[l][q - from] = 1e-3 * (buffer[q + 1][l] - buffer[q][l]) / (ts[l][q + 1] - ts[l][q]);
}

CLONES
int ionlink_filtered_derivative_segments(const double b[5], const double a[5], const double zi[4], const double *const *x,
                                         const double *const *t, size_t m, size_t from, size_t to, int lanes,
                                         double *const *out) {
    if (lanes < 1 || m < 2 || from > to || to > m - 1) return -1;
    lanes8 *buffer = scratch(sizeof(lanes8) * m);
    if (!buffer) return -1;
    for (int first = 0; first < lanes; first += 8) {
        const int group = lanes - first < 8 ? lanes - first : 8;
        const double *xs[8], *ts[8];
        for (int l = 0; l < 8; l++) {
            xs[l] = x[first + (l < group ? l : 0)];
            ts[l] = t[first + (l < group ? l : 0)];
        }
        filtfilt_segments(buffer, xs, ts, m, from, to, group, b, a, zi, out + first);
    }
    return 0;
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
                for (int l = 0; l < 8; l++) r[l] = *(const lanes8_unaligned *)(source_[g * 8 + l] + k_); \
                transpose8(r);                                                                          \
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
size_t ionlink_first_at_or_above(const double *x, size_t from, size_t to, double level) {
    size_t k = from;
    for (; k + 32 <= to; k += 32) {
        int any = 0;
        for (int j = 0; j < 32; j++) any |= x[k + j] >= level;
        if (any) break;
    }
    for (; k < to; k++)
        if (x[k] >= level) return k;
    return to;
}

CLONES
size_t ionlink_last_at_or_below(const double *x, size_t from, size_t to, double level) {
    size_t k = to;
    for (; k >= from + 32; k -= 32) {
        int any = 0;
        for (int j = 0; j < 32; j++) any |= x[k - 32 + j] <= level;
        if (any) break;
    }
    for (; k > from; k--)
        if (x[k - 1] <= level) return k - 1;
    return to;
}

CLONES
size_t ionlink_next_upward_crossing(const double *x, size_t from, size_t n, double level) {
    size_t i = from;
    for (; i + 33 <= n; i += 32) {
        int any = 0;
        for (int j = 0; j < 32; j++) any |= !(x[i + j] >= level) & (x[i + j + 1] >= level);
        if (any) break;
    }
    for (; i + 1 < n; i++)
        if (!(x[i] >= level) && x[i + 1] >= level) return i;
    return n;
}

CLONES
int ionlink_any_below(const double *x, size_t n, double level) {
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        int any = 0;
        for (int j = 0; j < 32; j++) any |= x[k + j] < level;
        if (any) return 1;
    }
    for (; k < n; k++)
        if (x[k] < level) return 1;
    return 0;
}

/// Eight 64-bit integers (the masks of lanes8 comparisons, and sample indices).
typedef long long lanes8i __attribute__((vector_size(64), aligned(64)));

/// The first index of the largest of sign·y[0…count−1] that is not NaN, or 0 if sign·y[0] is NaN (the scalar loop
/// `best = 0; for k where y[k] > y[best] { best = k }`), mapped back to x: y[k] is x[from + k] (forward) or x[to − 1 − k]
/// (backward, so that the first of ties is the last index of x). sign is +1 or −1 (negation is exact, so −1 gives the
/// scalar loop with `<`, i.e. argmin). One pass, 8 samples at a time: each lane keeps its largest value and the first
/// position where it rose to it; then the smallest such position among the lanes that hold the maximum. A lane's value
/// is replaced only where it rose (a select on the comparison already made), not through a NaN-aware max: that max
/// lengthened the loop's dependency chain ~4× (4.4 against 1.2 µs for 15 000 samples in cache, AMD EPYC); the lanes
/// never hold NaN, and where the two differ (−0 against +0) the comparisons and the positions are the same.
static inline __attribute__((always_inline)) size_t extremum(const double *x, size_t from, size_t to, double sign, int backward) {
    if (to <= from + 1) return from;
    const size_t count = to - from;
#define ELEMENT(k) (backward ? x[to - 1 - (k)] : x[from + (k)])
    if (ELEMENT(0) != ELEMENT(0)) return backward ? to - 1 : from;
    double best = sign * ELEMENT(0);
    size_t position = 0, k = 1;
    if (count - k >= 8) {
        lanes8 top = {best, best, best, best, best, best, best, best};
        lanes8i where = {0}, positions = {1, 2, 3, 4, 5, 6, 7, 8};
        for (; k + 8 <= count; k += 8, positions = positions + 8) {
            lanes8 v = backward ? __builtin_shufflevector(*(const lanes8_unaligned *)(x + to - 8 - k), (lanes8){0}, 7, 6, 5, 4, 3, 2, 1, 0)
                                : *(const lanes8_unaligned *)(x + from + k);
            v = sign * v;
            lanes8i rose = v > top; // NaN never rises
            where = (rose & positions) | (~rose & where);
            top = (lanes8)(((lanes8i)v & rose) | ((lanes8i)top & ~rose));
        }
        for (int l = 0; l < 8; l++) best = __builtin_elementwise_max(best, top[l]);
        position = count;
        for (int l = 0; l < 8; l++)
            if (top[l] == best && (size_t)where[l] < position) position = (size_t)where[l];
    }
    for (; k < count; k++) {
        double v = sign * ELEMENT(k);
        if (v > best) { best = v; position = k; }
    }
#undef ELEMENT
    return backward ? to - 1 - position : from + position;
}

CLONES
size_t ionlink_argmax(const double *x, size_t from, size_t to) { return extremum(x, from, to, 1.0, 0); }

CLONES
size_t ionlink_argmin(const double *x, size_t from, size_t to) { return extremum(x, from, to, -1.0, 0); }

CLONES
size_t ionlink_last_argmax(const double *x, size_t from, size_t to) { return extremum(x, from, to, 1.0, 1); }

#include <malloc.h>

void ionlink_keep_large_buffers_on_heap(void) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}
