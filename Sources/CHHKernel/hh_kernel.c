// Fused Hodgkin–Huxley batch kernel: the model of Bernaerts et al. (2025), hh_sbi `EphysModel`,
// integrated with Brian2's exponential Euler (every state variable x written as dx/dt = A + B·x with
// A, B from the state at t_k; x_{k+1} = -A/B + (x_k + A/B)·exp(B·dt); all updates simultaneous).
//
// Lanes are independent: a lane's result depends only on its parameters and noise key, never on the
// other lanes, the block it sits in, or the CPU clone that runs it (FP contraction is off, so the
// AVX-512, AVX2 and baseline clones give bit-identical results).
#include "hh_kernel.h"

#include <math.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#define L IONLINK_HH_LANES
#define NOISE_CHUNK 64 /* steps of noise drawn ahead (even) */

/// Fused multiply-add, written out where it matters (polynomials): the result is then the same whether
/// the CPU has FMA units (AVX2 and AVX-512 variants) or not (baseline variant, where it is a libm call).
#define FMA(a, b, c) __builtin_fma((a), (b), (c))

// MARK: - Elementary functions that vectorise

static inline __attribute__((always_inline)) uint64_t bits_of(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static inline __attribute__((always_inline)) double double_of(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }

/// u = 2^exponent · m with m in [1/√2, √2), exactly (u normal and positive): the reduction of fast_log and fast_log_f32.
static inline __attribute__((always_inline)) void log_reduction(double u, double *exponent, double *m) {
    uint64_t b = bits_of(u);
    double e = double_of(0x4330000000000000ULL | (b >> 52)) - 4503599627370496.0 - 1023.0;
    double mantissa = double_of((b & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL); // [1, 2)
    int big = mantissa > 1.4142135623730951;
    *m = big ? mantissa * 0.5 : mantissa;
    *exponent = big ? e + 1.0 : e;
}

/// log(u) for u in (0, 1] (normal, positive numbers); atanh series on the reduced mantissa.
static inline __attribute__((always_inline)) double fast_log(double u) {
    double exponent, m;
    log_reduction(u, &exponent, &m);
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 21.0;
    p = FMA(p, s2, 1.0 / 19.0);
    p = FMA(p, s2, 1.0 / 17.0);
    p = FMA(p, s2, 1.0 / 15.0);
    p = FMA(p, s2, 1.0 / 13.0);
    p = FMA(p, s2, 1.0 / 11.0);
    p = FMA(p, s2, 1.0 / 9.0);
    p = FMA(p, s2, 1.0 / 7.0);
    p = FMA(p, s2, 1.0 / 5.0);
    p = FMA(p, s2, 1.0 / 3.0);
    p = FMA(p, s2, 1.0);
    return exponent * 0.6931471805599453 + 2.0 * s * p;
}

/// sin and cos of 2π·t for t in [-0.5, 0.5], by quadrant reduction and Taylor polynomials on [-π/4, π/4].
static inline __attribute__((always_inline)) void sincos_2pi(double t, double *sine, double *cosine) {
    const double magic = 6755399441055744.0;
    double q = (t * 4.0 + magic) - magic; // nearest quadrant, -2 … 2
    double a = (t - q * 0.25) * 6.283185307179586;
    double a2 = a * a;
    double s = 1.0 / 355687428096000.0;       // 1/17!
    s = FMA(s, (-a2), 1.0 / 1307674368000.0);    // 1/15!
    s = FMA(s, (-a2), 1.0 / 6227020800.0);       // 1/13!
    s = FMA(s, (-a2), 1.0 / 39916800.0);
    s = FMA(s, (-a2), 1.0 / 362880.0);
    s = FMA(s, (-a2), 1.0 / 5040.0);
    s = FMA(s, (-a2), 1.0 / 120.0);
    s = FMA(s, (-a2), 1.0 / 6.0);
    s = FMA(s, (-a2), 1.0);
    s = s * a;
    double c = 1.0 / 6402373705728000.0;      // 1/18!
    c = FMA(c, (-a2), 1.0 / 20922789888000.0);   // 1/16!
    c = FMA(c, (-a2), 1.0 / 87178291200.0);      // 1/14!
    c = FMA(c, (-a2), 1.0 / 479001600.0);
    c = FMA(c, (-a2), 1.0 / 3628800.0);
    c = FMA(c, (-a2), 1.0 / 40320.0);
    c = FMA(c, (-a2), 1.0 / 720.0);
    c = FMA(c, (-a2), 1.0 / 24.0);
    c = FMA(c, (-a2), 0.5);
    c = FMA(c, (-a2), 1.0);
    // rotate by q quarter turns
    double rs = (q == 1.0) ? c : ((q == -1.0) ? -c : ((q == 0.0) ? s : -s));
    double rc = (q == 1.0) ? -s : ((q == -1.0) ? s : ((q == 0.0) ? c : -c));
    *sine = rs;
    *cosine = rc;
}

// MARK: - Random numbers: xoshiro256+ per lane, seeded by SplitMix64 from the lane's key

static inline __attribute__((always_inline)) uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct { uint64_t s0, s1, s2, s3; } rng_state;

static inline __attribute__((always_inline)) rng_state rng_seed(uint64_t key) {
    rng_state s;
    s.s0 = splitmix64(&key);
    s.s1 = splitmix64(&key);
    s.s2 = splitmix64(&key);
    s.s3 = splitmix64(&key);
    return s;
}

/// Uniform double in [0, 1) from the top 52 bits of one xoshiro256+ output.
static inline __attribute__((always_inline)) double rng_uniform(uint64_t *s0, uint64_t *s1, uint64_t *s2, uint64_t *s3) {
    uint64_t result = *s0 + *s3;
    uint64_t t = *s1 << 17;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = (*s3 << 45) | (*s3 >> 19);
    return double_of(0x3FF0000000000000ULL | (result >> 12)) - 1.0;
}

static inline __attribute__((always_inline)) uint32_t bits_of_float(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static inline __attribute__((always_inline)) float float_of(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }

/// log(u) for u in (0, 1] (normal, positive numbers): fast_log's reduction, exact in double, then its series in float
/// (relative error ~1e-7, also where u is near 1 and log(u) near 0).
static inline __attribute__((always_inline)) float fast_log_f32(double u) {
    double exponent, m;
    log_reduction(u, &exponent, &m);
    float s = (float)(m - 1.0) / (float)(m + 1.0);
    float s2 = s * s;
    float p = 1.0f / 9.0f;
    p = __builtin_fmaf(p, s2, 1.0f / 7.0f);
    p = __builtin_fmaf(p, s2, 1.0f / 5.0f);
    p = __builtin_fmaf(p, s2, 1.0f / 3.0f);
    p = __builtin_fmaf(p, s2, 1.0f);
    return (float)exponent * 0.693147181f + 2.0f * s * p;
}

/// sin and cos of 2π·t for t in [-0.5, 0.5]: sincos_2pi's quadrant reduction in double, then Taylor polynomials on
/// [-π/4, π/4] in float (error < 2e-9 before rounding).
static inline __attribute__((always_inline)) void sincos_2pi_f32(double t, float *sine, float *cosine) {
    const double magic = 6755399441055744.0;
    double quadrant = (t * 4.0 + magic) - magic; // nearest quadrant, -2 … 2
    float q = (float)quadrant;
    float a = (float)((t - quadrant * 0.25) * 6.283185307179586);
    float a2 = a * a;
    float s = 1.0f / 362880.0f;
    s = __builtin_fmaf(s, -a2, 1.0f / 5040.0f);
    s = __builtin_fmaf(s, -a2, 1.0f / 120.0f);
    s = __builtin_fmaf(s, -a2, 1.0f / 6.0f);
    s = __builtin_fmaf(s, -a2, 1.0f);
    s = s * a;
    float c = 1.0f / 3628800.0f;
    c = __builtin_fmaf(c, -a2, 1.0f / 40320.0f);
    c = __builtin_fmaf(c, -a2, 1.0f / 720.0f);
    c = __builtin_fmaf(c, -a2, 1.0f / 24.0f);
    c = __builtin_fmaf(c, -a2, 0.5f);
    c = __builtin_fmaf(c, -a2, 1.0f);
    *sine = (q == 1.0f) ? c : ((q == -1.0f) ? -c : ((q == 0.0f) ? s : -s));
    *cosine = (q == 1.0f) ? -s : ((q == -1.0f) ? s : ((q == 0.0f) ? c : -c));
}

/// Two independent standard normals by Box–Muller, from two uniforms of the lane's stream: `name` computes them in
/// `type` with `log_function` and `sincos_function` (normal_pair in double; normal_pair_f32 in float, whose draws are
/// normal_pair's to float precision, ~1e-7: the same uniforms, the reductions in double, the polynomials in float).
#define BOX_MULLER(name, type, log_function, sincos_function)                                                      \
    static inline __attribute__((always_inline)) void name(uint64_t *s0, uint64_t *s1, uint64_t *s2, uint64_t *s3, \
                                                           type *z0, type *z1) {                                   \
        double u1 = 1.0 - rng_uniform(s0, s1, s2, s3); /* (0, 1] */                                                \
        double u2 = rng_uniform(s0, s1, s2, s3) - 0.5;  /* [-0.5, 0.5) */                                          \
        type radius = __builtin_elementwise_sqrt((type)-2.0 * log_function(u1));                                   \
        type s, c;                                                                                                 \
        sincos_function(u2, &s, &c);                                                                               \
        *z0 = radius * c;                                                                                          \
        *z1 = radius * s;                                                                                          \
    }
BOX_MULLER(normal_pair, double, fast_log, sincos_2pi)
BOX_MULLER(normal_pair_f32, float, fast_log_f32, sincos_2pi_f32)

#define NORMAL_STREAM(function, type, pair)                     \
    void function(uint64_t key, size_t count, type *out) {      \
        rng_state s = rng_seed(key);                            \
        for (size_t i = 0; i < count; i += 2) {                 \
            type z0, z1;                                        \
            pair(&s.s0, &s.s1, &s.s2, &s.s3, &z0, &z1);         \
            out[i] = z0;                                        \
            if (i + 1 < count) out[i + 1] = z1;                 \
        }                                                       \
    }
NORMAL_STREAM(ionlink_hh_normal_stream, double, normal_pair)
NORMAL_STREAM(ionlink_hh_normal_stream_f32, float, normal_pair_f32)

/// 1/k! for k = 0 … 12: the Taylor coefficients of exp (hh_block.h's polynomial in double).
static const double inverse_factorials[13] = {
    1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0,
    1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0,
};

/// exp's polynomial in float: Chebyshev fit of degree 6 on [-ln 2/2, ln 2/2] (mpmath.chebyfit, rounded to float),
/// relative error < 8e-8 evaluated in float.
static const float exp_coefficients_f32[7] = {
    1.0f, 1.0f, 0.5f, 0.16666415333747864f, 0.04166635125875473f, 0.00837512593716383f, 0.0013941108481958508f,
};

// MARK: - The block kernel, in float64 (the reference) and float32

#define REAL double
#define C(x) (x)
#define FMA_REAL __builtin_fma
#define BITS_OF bits_of
#define REAL_OF double_of
#define BITS_TYPE uint64_t
#define MANTISSA_BITS 52
#define EXPONENT_BIAS 1023
#define EXP_LIMIT 708.0
#define EXP_MAGIC 6755399441055744.0 /* 1.5·2^52: adding it rounds to an integer */
#define LN2_HIGH 0.693147180369123816490
#define LN2_LOW 1.90821492927058770002e-10
#define EXP_DEGREE 12
#define EXP_COEFFICIENTS inverse_factorials
#define VTRAP_SERIES_BELOW 1e-6
#define NAME(f) f##_f64
#define NORMAL_PAIR normal_pair
#define REASSOCIATE 0
#include "hh_block.h"

// float32: the series of vtrap is used up to |x/s| = 0.1, where its truncation error (y⁴/720) and the
// cancellation in 1 − e (ε/y) are both about 1e-7 relative.
#define REAL float
#define C(x) ((float)(x))
#define FMA_REAL __builtin_fmaf
#define BITS_OF bits_of_float
#define REAL_OF float_of
#define BITS_TYPE uint32_t
#define MANTISSA_BITS 23
#define EXPONENT_BIAS 127
#define EXP_LIMIT 87.0f /* 2^-126 … 2^127: normal floats */
#define EXP_MAGIC 12582912.0f /* 1.5·2^23 */
#define LN2_HIGH 0.693145751953125f
#define LN2_LOW 1.42860677e-06f
#define EXP_DEGREE 6
#define EXP_COEFFICIENTS exp_coefficients_f32
#define VTRAP_SERIES_BELOW 0.1f
#define NAME(f) f##_f32
#define NORMAL_PAIR normal_pair_f32
#define REASSOCIATE 1
#include "hh_block.h"

// MARK: - One compiled variant per instruction set, chosen at run time

#define BLOCK_ARGUMENTS ionlink_hh_precision precision, const ionlink_hh_model *model, const ionlink_hh_protocol *protocol, \
    int lanes, const double *parameters, const uint64_t *noise_keys, double *trace, size_t trace_stride, uint8_t *valid
#define BLOCK_CALL simulate_block(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid)

static inline __attribute__((always_inline)) void simulate_block(BLOCK_ARGUMENTS) {
    if (precision == IONLINK_HH_FLOAT32) {
        simulate_block_f32(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid);
    } else {
        simulate_block_f64(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid);
    }
}

#if defined(__x86_64__) && defined(__clang__)
__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
static void simulate_block_avx512(BLOCK_ARGUMENTS) { BLOCK_CALL; }
__attribute__((target("avx2,fma")))
static void simulate_block_avx2(BLOCK_ARGUMENTS) { BLOCK_CALL; }
#endif
static void simulate_block_baseline(BLOCK_ARGUMENTS) { BLOCK_CALL; }

typedef enum { ISA_UNKNOWN = 0, ISA_BASELINE, ISA_AVX2, ISA_AVX512 } isa_level;

static isa_level detected_isa(void) {
    static _Atomic int cached = ISA_UNKNOWN;
    int level = cached;
    if (level != ISA_UNKNOWN) return (isa_level)level;
    level = ISA_BASELINE;
#if defined(__x86_64__) && defined(__clang__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = ISA_AVX2;
    if (level == ISA_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl")) level = ISA_AVX512;
#endif
    cached = level;
    return (isa_level)level;
}

void ionlink_hh_simulate_block(BLOCK_ARGUMENTS) {
    if (lanes < 1) return;
    if (lanes > L) lanes = L;
    switch (detected_isa()) {
#if defined(__x86_64__) && defined(__clang__)
    case ISA_AVX512: simulate_block_avx512(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
    case ISA_AVX2: simulate_block_avx2(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
#endif
    default: simulate_block_baseline(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
    }
}

const char *ionlink_hh_instruction_set(void) {
    switch (detected_isa()) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2+fma";
    default: return "baseline";
    }
}

int ionlink_hh_simulate_block_variant(int variant, BLOCK_ARGUMENTS) {
    if (lanes < 1) return 1;
    if (lanes > L) lanes = L;
    isa_level available = detected_isa();
    switch (variant) {
    case 1: simulate_block_baseline(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
#if defined(__x86_64__) && defined(__clang__)
    case 2:
        if (available < ISA_AVX2) return 0;
        simulate_block_avx2(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
    case 3:
        if (available < ISA_AVX512) return 0;
        simulate_block_avx512(precision, model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
#endif
    default: return 0;
    }
}
