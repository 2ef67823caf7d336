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

/// exp(x) by Cody–Waite reduction and a degree-12 Taylor polynomial; relative error < 2e-16 on
/// [-708, 708], arguments outside are clamped (NaN propagates).
static inline __attribute__((always_inline)) double fast_exp(double x) {
    x = x < -708.0 ? -708.0 : x;
    x = x > 708.0 ? 708.0 : x;
    const double magic = 6755399441055744.0; // 1.5·2^52: adding it rounds to an integer
    double t = x * 1.4426950408889634 + magic;
    double n = t - magic;
    double r = FMA(-n, 0.693147180369123816490, x);
    r = FMA(-n, 1.90821492927058770002e-10, r);
    double p = 1.0 / 479001600.0;
    p = FMA(p, r, 1.0 / 39916800.0);
    p = FMA(p, r, 1.0 / 3628800.0);
    p = FMA(p, r, 1.0 / 362880.0);
    p = FMA(p, r, 1.0 / 40320.0);
    p = FMA(p, r, 1.0 / 5040.0);
    p = FMA(p, r, 1.0 / 720.0);
    p = FMA(p, r, 1.0 / 120.0);
    p = FMA(p, r, 1.0 / 24.0);
    p = FMA(p, r, 1.0 / 6.0);
    p = FMA(p, r, 0.5);
    p = FMA(p, r, 1.0);
    p = FMA(p, r, 1.0);
    uint64_t scale = (bits_of(t) << 52) + ((uint64_t)1023 << 52);
    return p * double_of(scale);
}

/// log(u) for u in (0, 1] (normal, positive numbers); atanh series on the reduced mantissa.
static inline __attribute__((always_inline)) double fast_log(double u) {
    uint64_t b = bits_of(u);
    double exponent = double_of(0x4330000000000000ULL | (b >> 52)) - 4503599627370496.0 - 1023.0;
    double m = double_of((b & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL); // [1, 2)
    int big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    exponent = big ? exponent + 1.0 : exponent;
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

/// Two independent standard normals (Box–Muller).
static inline __attribute__((always_inline)) void normal_pair(uint64_t *s0, uint64_t *s1, uint64_t *s2, uint64_t *s3, double *z0, double *z1) {
    double u1 = 1.0 - rng_uniform(s0, s1, s2, s3); // (0, 1]
    double u2 = rng_uniform(s0, s1, s2, s3) - 0.5;  // [-0.5, 0.5)
    double radius = __builtin_elementwise_sqrt(-2.0 * fast_log(u1));
    double s, c;
    sincos_2pi(u2, &s, &c);
    *z0 = radius * c;
    *z1 = radius * s;
}

void ionlink_hh_normal_stream(uint64_t key, size_t count, double *out) {
    rng_state s = rng_seed(key);
    for (size_t i = 0; i < count; i += 2) {
        double z0, z1;
        normal_pair(&s.s0, &s.s1, &s.s2, &s.s3, &z0, &z1);
        out[i] = z0;
        if (i + 1 < count) out[i + 1] = z1;
    }
}

// MARK: - Rate functions

/// x / (1 - exp(-x/s)) given e = exp(-x/s), with its limit s·(1 + y/2 + y²/12), y = x/s, near x = 0.
static inline __attribute__((always_inline)) double vtrap(double x, double s, double e) {
    double y = x / s;
    double regular = x / (1.0 - e);
    double series = s * (1.0 + y * (0.5 + y * (1.0 / 12.0)));
    return fabs(y) < 1e-6 ? series : regular;
}

/// Exponential-Euler update of an α/β gate with rate factor k.
static inline __attribute__((always_inline)) double advance_gate(double x, double alpha, double beta, double k, double dt) {
    double sum = alpha + beta;
    double steady = alpha / sum;
    return steady + (x - steady) * fast_exp(-sum * k * dt);
}

/// Exponential-Euler update of a gate relaxing to `steady` at rate `rate` (1/ms).
static inline __attribute__((always_inline)) double relax(double x, double steady, double rate, double dt) {
    return steady + (x - steady) * fast_exp(-rate * dt);
}

typedef struct {
    double a_m, b_m, a_h, b_h;   // Nat (Hay)
    double a_mt, b_mt, a_ht, b_ht; // Na (Pospischil), VT-shifted
    double a_n, b_n;             // Kd, VT-shifted
    double p_inf, p_rate_e;      // M: steady state, and 3.3·e + 1/e of τ_p (τ_p = τ_max / that)
    double v_inf, v_tau;         // Kv3.1
    double a_q, b_q, a_r, b_r;   // L-type Ca
} rates;

static inline __attribute__((always_inline)) rates compute_rates(double v, double vt) {
    rates r;
    double xm = v + 38.0, em = fast_exp(-xm * (1.0 / 6.0));
    double tm = vtrap(xm, 6.0, em);
    r.a_m = 0.182 * tm;
    r.b_m = 0.124 * tm * em; // = 0.124·vtrap(-x)
    double xh = v + 66.0, eh = fast_exp(-xh * (1.0 / 6.0));
    double th = vtrap(xh, 6.0, eh);
    r.b_h = 0.015 * th;
    r.a_h = 0.015 * th * eh;
    double u = v - vt;
    double xa = u - 13.0;
    r.a_mt = 0.32 * vtrap(xa, 4.0, fast_exp(-xa * 0.25));
    double xb = -(u - 40.0);
    r.b_mt = 0.28 * vtrap(xb, 5.0, fast_exp(-xb * 0.2));
    r.a_ht = 0.128 * fast_exp(-(u - 17.0) * (1.0 / 18.0));
    r.b_ht = 4.0 / (1.0 + fast_exp(-(u - 40.0) * 0.2));
    double xn = u - 15.0;
    r.a_n = 0.032 * vtrap(xn, 5.0, fast_exp(-xn * 0.2));
    r.b_n = 0.5 * fast_exp(-(u - 10.0) * (1.0 / 40.0));
    double e20 = fast_exp((v + 35.0) * 0.05);
    double inv_e20 = 1.0 / e20;
    r.p_inf = 1.0 / (1.0 + inv_e20 * inv_e20);
    r.p_rate_e = 3.3 * e20 + inv_e20;
    r.v_inf = 1.0 / (1.0 + fast_exp(-(v - 18.7) * (1.0 / 9.7)));
    r.v_tau = 4.0 / (1.0 + fast_exp(-(v + 56.56) * (1.0 / 44.14)));
    double xq = v + 27.0;
    r.a_q = 0.055 * vtrap(xq, 3.8, fast_exp(-xq * (1.0 / 3.8)));
    r.b_q = 0.94 * fast_exp(-(75.0 + v) * (1.0 / 17.0));
    r.a_r = 0.000457 * fast_exp(-(13.0 + v) * (1.0 / 50.0));
    r.b_r = 0.0065 / (1.0 + fast_exp(-(15.0 + v) * (1.0 / 28.0)));
    return r;
}

// MARK: - The block kernel

static inline __attribute__((always_inline))
void simulate_block(const ionlink_hh_model *model, const ionlink_hh_protocol *protocol,
                    int lanes, const double *parameters, const uint64_t *noise_keys,
                    double *trace, size_t trace_stride, uint8_t *valid) {
    const double dt = protocol->dt_ms;
    const double phi_hay = model->phi_hay, phi_pos = model->phi_pospischil;
    const double e_na = model->e_na, e_k = model->e_k, e_ca = model->e_ca;
    const double noise_sd = protocol->noise_sd_pa;

    // Per-lane constants; unused lanes copy lane 0 so that every lane computes finite numbers.
    double g_nat[L], g_na[L], g_kd[L], g_m[L], g_kv31[L], g_l[L], g_leak[L], e_leak[L];
    double inv_c[L], current_scale[L], vt[L], k_pos[L], m_rate_scale[L], amplitude[L];
    double V[L], m[L], h[L], mt[L], ht[L], n[L], p[L], w[L], q[L], r[L], ok[L];
    uint64_t s0[L], s1[L], s2[L], s3[L];
    for (int l = 0; l < L; l++) {
        const double *theta = parameters + (size_t)(l < lanes ? l : 0) * IONLINK_HH_PARAMETERS;
        double c = theta[0], r_input = theta[1], tau = theta[2];
        g_nat[l] = theta[3] * model->channel_enabled[0];
        g_na[l] = theta[4] * model->channel_enabled[1];
        g_kd[l] = theta[5] * model->channel_enabled[2];
        g_m[l] = theta[6] * model->channel_enabled[3];
        g_kv31[l] = theta[7] * model->channel_enabled[4];
        g_l[l] = theta[8] * model->channel_enabled[5];
        e_leak[l] = theta[9];
        g_leak[l] = c / tau;                       // mS/cm²
        inv_c[l] = 1.0 / c;
        current_scale[l] = 1e-3 * c * r_input / tau; // pA → µA/cm²: 1e-6 / A, A = 1e-3·τ/(C·R) cm²
        m_rate_scale[l] = phi_pos / theta[10];     // φ_Pos / τ_max
        vt[l] = theta[11];
        k_pos[l] = phi_pos / theta[12];            // φ_Pos / r_SS
        amplitude[l] = theta[13];
        rng_state s = rng_seed(noise_keys[l < lanes ? l : 0]);
        s0[l] = s.s0; s1[l] = s.s1; s2[l] = s.s2; s3[l] = s.s3;
        // Initial state: V = E_leak, every gate at its steady state there.
        double v0 = e_leak[l];
        rates k = compute_rates(v0, vt[l]);
        V[l] = v0;
        m[l] = k.a_m / (k.a_m + k.b_m);
        h[l] = k.a_h / (k.a_h + k.b_h);
        mt[l] = k.a_mt / (k.a_mt + k.b_mt);
        ht[l] = k.a_ht / (k.a_ht + k.b_ht);
        n[l] = k.a_n / (k.a_n + k.b_n);
        p[l] = k.p_inf;
        w[l] = k.v_inf;
        q[l] = k.a_q / (k.a_q + k.b_q);
        r[l] = k.a_r / (k.a_r + k.b_r);
        ok[l] = 1.0;
    }

    double noise[NOISE_CHUNK][L];
    int64_t segment = 0;
    for (int64_t k0 = 0; k0 < protocol->steps; k0 += NOISE_CHUNK) {
        int64_t chunk = protocol->steps - k0 < NOISE_CHUNK ? protocol->steps - k0 : NOISE_CHUNK;
        if (noise_sd != 0.0) {
            for (int64_t j = 0; j < chunk; j += 2) {
                for (int l = 0; l < L; l++) {
                    double z0, z1;
                    normal_pair(&s0[l], &s1[l], &s2[l], &s3[l], &z0, &z1);
                    noise[j][l] = z0 * noise_sd;
                    noise[j + 1][l] = z1 * noise_sd;
                }
            }
        } else {
            memset(noise, 0, sizeof(noise));
        }
        for (int64_t j = 0; j < chunk; j++) {
            int64_t step = k0 + j;
            while (segment + 1 < protocol->segment_count && step >= protocol->end_step[segment]) segment++;
            const double fixed = protocol->fixed_pa[segment];
            const double scale = protocol->amplitude_scale[segment];
            if (trace) {
                for (int l = 0; l < lanes; l++) trace[(size_t)l * trace_stride + (size_t)step] = V[l];
            }
            for (int l = 0; l < L; l++) {
                double v = V[l];
                rates k = compute_rates(v, vt[l]);
                double m3h = m[l] * m[l] * m[l] * h[l];
                double mt3ht = mt[l] * mt[l] * mt[l] * ht[l];
                double n2 = n[l] * n[l];
                double g_a = g_nat[l] * m3h;
                double g_b = g_na[l] * mt3ht;
                double g_c = g_kd[l] * (n2 * n2);
                double g_d = g_m[l] * p[l];
                double g_e = g_kv31[l] * w[l];
                double g_f = g_l[l] * (q[l] * q[l] * r[l]);
                double g_total = g_a + g_b + g_c + g_d + g_e + g_f + g_leak[l];
                double injected = (fixed + scale * amplitude[l] + noise[j][l]) * current_scale[l];
                double drive = (g_a + g_b) * e_na + (g_c + g_d + g_e) * e_k + g_f * e_ca
                             + g_leak[l] * e_leak[l] + injected;
                double b_v = -g_total * inv_c[l];
                double a_v = drive * inv_c[l];
                double ba = a_v / b_v;
                double v_next = -ba + (ba + v) * fast_exp(b_v * dt);

                m[l] = advance_gate(m[l], k.a_m, k.b_m, phi_hay, dt);
                h[l] = advance_gate(h[l], k.a_h, k.b_h, phi_hay, dt);
                mt[l] = advance_gate(mt[l], k.a_mt, k.b_mt, k_pos[l], dt);
                ht[l] = advance_gate(ht[l], k.a_ht, k.b_ht, k_pos[l], dt);
                n[l] = advance_gate(n[l], k.a_n, k.b_n, k_pos[l], dt);
                p[l] = relax(p[l], k.p_inf, m_rate_scale[l] * k.p_rate_e, dt);
                w[l] = relax(w[l], k.v_inf, phi_hay / k.v_tau, dt);
                q[l] = advance_gate(q[l], k.a_q, k.b_q, 1.0, dt);
                r[l] = advance_gate(r[l], k.a_r, k.b_r, 1.0, dt);
                V[l] = v_next;
                ok[l] = (fabs(v_next) < INFINITY) ? ok[l] : 0.0;
            }
        }
    }
    for (int l = 0; l < lanes; l++) {
        double gates = m[l] + h[l] + mt[l] + ht[l] + n[l] + p[l] + w[l] + q[l] + r[l];
        valid[l] = (ok[l] != 0.0 && fabs(gates) < INFINITY) ? 1 : 0;
    }
}

// MARK: - One compiled variant per instruction set, chosen at run time

#define BLOCK_ARGUMENTS const ionlink_hh_model *model, const ionlink_hh_protocol *protocol, int lanes, \
    const double *parameters, const uint64_t *noise_keys, double *trace, size_t trace_stride, uint8_t *valid
#define BLOCK_CALL simulate_block(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid)

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
    case ISA_AVX512: simulate_block_avx512(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
    case ISA_AVX2: simulate_block_avx2(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
#endif
    default: simulate_block_baseline(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return;
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
    case 1: simulate_block_baseline(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
#if defined(__x86_64__) && defined(__clang__)
    case 2:
        if (available < ISA_AVX2) return 0;
        simulate_block_avx2(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
    case 3:
        if (available < ISA_AVX512) return 0;
        simulate_block_avx512(model, protocol, lanes, parameters, noise_keys, trace, trace_stride, valid); return 1;
#endif
    default: return 0;
    }
}
