// glibc's tanh, exp and log are scalar calls per element (~20 ns), and Swift's SIMD square root is a libm call
// per lane; the flows evaluate millions of these per second, and Adam updates 41 630 weights per step.
#include "math_kernel.h"

#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

static inline __attribute__((always_inline)) double bits_to_double(unsigned long long b) { double x; memcpy(&x, &b, 8); return x; }
static inline __attribute__((always_inline)) unsigned long long double_to_bits(double x) { unsigned long long b; memcpy(&b, &x, 8); return b; }

/// exp(x) for x in [0, 708] (Cody–Waite reduction, degree-12 Taylor polynomial).
static inline __attribute__((always_inline)) double exp_nonnegative(double x) {
    x = x > 708.0 ? 708.0 : x;
    const double magic = 6755399441055744.0;
    double t = x * 1.4426950408889634 + magic;
    double n = t - magic;
    double r = x - n * 0.693147180369123816490;
    r = r - n * 1.90821492927058770002e-10;
    double p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0; p = p * r + 1.0 / 3628800.0; p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0; p = p * r + 1.0 / 5040.0; p = p * r + 1.0 / 720.0; p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0; p = p * r + 1.0 / 6.0; p = p * r + 0.5; p = p * r + 1.0; p = p * r + 1.0;
    return p * bits_to_double((double_to_bits(t) << 52) + (1023ULL << 52));
}

CLONES
void ionlink_tanh(double *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double a = v < 0 ? -v : v;
        double a2 = a * a;
        // |x| < 0.125: odd Taylor series to x^15 (truncation < 1e-17 relative).
        double s = -929569.0 / 638512875.0;
        s = s * a2 + 21844.0 / 6081075.0;
        s = s * a2 - 1382.0 / 155925.0;
        s = s * a2 + 62.0 / 2835.0;
        s = s * a2 - 17.0 / 315.0;
        s = s * a2 + 2.0 / 15.0;
        s = s * a2 - 1.0 / 3.0;
        s = s * a2 + 1.0;
        double small = a * s;
        double large = 1.0 - 2.0 / (exp_nonnegative(2.0 * a) + 1.0);
        double t = a < 0.125 ? small : large;
        x[i] = v < 0 ? -t : t;
    }
}

/// log(x) for positive normal x: x = 2^k·m with m in [√½, √2), log m = 2·atanh((m − 1)/(m + 1)) as an odd
/// series to f^21 (truncation below 1e-18); branch-free so that it vectorises.
static inline __attribute__((always_inline)) double log_positive(double x) {
    unsigned long long b = double_to_bits(x);
    double k = bits_to_double((b >> 52) | 0x4330000000000000ULL) - 4503599627370496.0 - 1023.0;
    double m = bits_to_double((b & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL);
    int high = m > 1.4142135623730951;
    m = high ? 0.5 * m : m;
    k = high ? k + 1.0 : k;
    double f = (m - 1.0) / (m + 1.0), s = f * f;
    double p = 1.0 / 21.0;
    p = p * s + 1.0 / 19.0; p = p * s + 1.0 / 17.0; p = p * s + 1.0 / 15.0; p = p * s + 1.0 / 13.0;
    p = p * s + 1.0 / 11.0; p = p * s + 1.0 / 9.0; p = p * s + 1.0 / 7.0; p = p * s + 1.0 / 5.0;
    p = p * s + 1.0 / 3.0; p = p * s + 1.0;
    return k * 0.693147180369123816490 + (2.0 * f * p + k * 1.90821492927058770002e-10);
}

CLONES
void ionlink_softplus_scale(const double *s, size_t n, double *scale, double *slope, double *log_scale) {
    for (size_t i = 0; i < n; i++) {
        double v = s[i];
        double e = 1.0 / exp_nonnegative(v < 0 ? -v : v);      // e^{-|s|}, in (0, 1]
        double u = 1.0 + e;                                      // log1p(e) = log(u)·e/(u − 1) (Goldberg)
        double log1p_e = u == 1.0 ? e : log_positive(u) * (e / (u - 1.0));
        double softplus = (v > 0 ? v : 0.0) + log1p_e;
        slope[i] = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        scale[i] = softplus + 1e-3;
        log_scale[i] = log_positive(softplus + 1e-3);
    }
}

CLONES
void ionlink_adam_step(double *restrict p, double *restrict m, double *restrict v, const double *restrict g, size_t n,
                       double beta1, double beta2, double rate, double c1, double c2, double eps) {
    for (size_t i = 0; i < n; i++) {
        double mi = beta1 * m[i] + (1.0 - beta1) * g[i];
        double vi = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] -= rate * (mi / c1) / (__builtin_elementwise_sqrt(vi / c2) + eps);
    }
}

CLONES
double ionlink_sum_of_squares(const double *x, size_t n) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) lanes[l] += x[i + l] * x[i + l];
    }
    double tail = 0;
    for (; i < n; i++) tail += x[i] * x[i];
    return (((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))) + tail;
}
