// The block kernel, written once for both precisions: hh_kernel.c includes this file twice, with
//   REAL   the floating-point type of the state and the arithmetic (double or float),
//   C(x)   a literal in that type,
//   FMA_REAL, BITS_OF, REAL_OF, BITS_TYPE, MANTISSA_BITS, EXPONENT_BIAS  its fused multiply-add and bit layout,
//   EXP_LIMIT, EXP_MAGIC, LN2_HIGH, LN2_LOW  exp's clamp, rounding constant and split ln 2,
//   EXP_COEFFICIENTS, EXP_DEGREE  its polynomial on [-ln 2/2, ln 2/2] (coefficient k of r^k) and that one's degree,
//   VTRAP_SERIES_BELOW  |x/s| under which vtrap uses its series (where 1 − e would cancel),
//   NORMAL_PAIR  the Box–Muller of the current noise, in REAL (both draw the same uniforms),
//   REASSOCIATE  1 for algebraically equal forms with fewer exponentials and divisions (other rounding: float),
//   NAME(f) the function's name for that precision;
// and undefines them at its end.

/// exp(x) by Cody–Waite reduction and a polynomial of degree EXP_DEGREE (in double, Taylor's of degree 12: relative
/// error < 2e-16; in float, a near-minimax one of degree 6: < 8e-8, as Taylor's of degree 7); arguments beyond ±EXP_LIMIT are clamped (NaN propagates). Written to vectorise.
static inline __attribute__((always_inline)) REAL NAME(exp)(REAL x) {
    x = x < -EXP_LIMIT ? -EXP_LIMIT : x;
    x = x > EXP_LIMIT ? EXP_LIMIT : x;
    const REAL magic = EXP_MAGIC;
    REAL t = x * C(1.4426950408889634) + magic;
    REAL n = t - magic;
    REAL r = FMA_REAL(-n, LN2_HIGH, x);
    r = FMA_REAL(-n, LN2_LOW, r);
    REAL p = (REAL)EXP_COEFFICIENTS[EXP_DEGREE];
    for (int k = EXP_DEGREE - 1; k >= 0; k--) p = FMA_REAL(p, r, (REAL)EXP_COEFFICIENTS[k]);
    BITS_TYPE scale = (BITS_OF(t) << MANTISSA_BITS) + ((BITS_TYPE)EXPONENT_BIAS << MANTISSA_BITS);
    return p * REAL_OF(scale);
}
#define EXP NAME(exp)

/// x / (1 - exp(-x/s)) given e = exp(-x/s), with its limit s·(1 + y/2 + y²/12), y = x/s, near x = 0.
static inline __attribute__((always_inline)) REAL NAME(vtrap)(REAL x, REAL s, REAL e) {
#if REASSOCIATE
    REAL y = x * (C(1.0) / s);
#else
    REAL y = x / s;
#endif
    REAL regular = x / (C(1.0) - e);
    REAL series = s * (C(1.0) + y * (C(0.5) + y * (C(1.0) / C(12.0))));
    return __builtin_elementwise_abs(y) < VTRAP_SERIES_BELOW ? series : regular;
}

/// Exponential-Euler update of an α/β gate with rate factor k.
static inline __attribute__((always_inline)) REAL NAME(advance_gate)(REAL x, REAL alpha, REAL beta, REAL k, REAL dt) {
    REAL sum = alpha + beta;
    REAL steady = alpha / sum;
    return steady + (x - steady) * EXP(-sum * k * dt);
}

/// Exponential-Euler update of a gate relaxing to `steady` at rate `rate` (1/ms).
static inline __attribute__((always_inline)) REAL NAME(relax)(REAL x, REAL steady, REAL rate, REAL dt) {
    return steady + (x - steady) * EXP(-rate * dt);
}

typedef struct {
    REAL a_m, b_m, a_h, b_h;   // Nat (Hay)
    REAL a_mt, b_mt, a_ht, b_ht; // Na (Pospischil), VT-shifted
    REAL a_n, b_n;             // Kd, VT-shifted
    REAL p_inf, p_rate_e;      // M: steady state, and 3.3·e + 1/e of τ_p (τ_p = τ_max / that)
    REAL v_inf, w_rate;        // Kv3.1: steady state and rate φ_Hay/τ (1/ms)
    REAL a_q, b_q, a_r, b_r;   // L-type Ca
} NAME(rates);

static inline __attribute__((always_inline)) NAME(rates) NAME(compute_rates)(REAL v, REAL vt, REAL phi_hay) {
    NAME(rates) r;
    REAL xm = v + C(38.0), em = EXP(-xm * (C(1.0) / C(6.0)));
    REAL tm = NAME(vtrap)(xm, C(6.0), em);
    r.a_m = C(0.182) * tm;
    r.b_m = C(0.124) * tm * em; // = 0.124·vtrap(-x)
#if REASSOCIATE
    REAL xh = v + C(66.0), eh = em * C(0.009403562551495206); // e^{-28/6}: exp(-(v + 66)/6) = exp(-(v + 38)/6)·e^{-28/6}
#else
    REAL xh = v + C(66.0), eh = EXP(-xh * (C(1.0) / C(6.0)));
#endif
    REAL th = NAME(vtrap)(xh, C(6.0), eh);
    r.b_h = C(0.015) * th;
    r.a_h = C(0.015) * th * eh;
    REAL u = v - vt;
    REAL xa = u - C(13.0);
    r.a_mt = C(0.32) * NAME(vtrap)(xa, C(4.0), EXP(-xa * C(0.25)));
    REAL xb = -(u - C(40.0));
    REAL xn = u - C(15.0);
#if REASSOCIATE
    // One exponential for three rates: e40 = exp(-(u − 40)/5); exp((u − 40)/5) = 1/e40, exp(-(u − 15)/5) = e40·e^{-5}.
    REAL e40 = EXP(-(u - C(40.0)) * C(0.2));
    r.b_mt = C(0.28) * NAME(vtrap)(xb, C(5.0), C(1.0) / e40);
    r.b_ht = C(4.0) / (C(1.0) + e40);
    r.a_n = C(0.032) * NAME(vtrap)(xn, C(5.0), e40 * C(0.006737946999085467));
#else
    r.b_mt = C(0.28) * NAME(vtrap)(xb, C(5.0), EXP(-xb * C(0.2)));
    r.b_ht = C(4.0) / (C(1.0) + EXP(-(u - C(40.0)) * C(0.2)));
    r.a_n = C(0.032) * NAME(vtrap)(xn, C(5.0), EXP(-xn * C(0.2)));
#endif
    r.a_ht = C(0.128) * EXP(-(u - C(17.0)) * (C(1.0) / C(18.0)));
    r.b_n = C(0.5) * EXP(-(u - C(10.0)) * (C(1.0) / C(40.0)));
    REAL e20 = EXP((v + C(35.0)) * C(0.05));
    REAL inv_e20 = C(1.0) / e20;
    r.p_inf = C(1.0) / (C(1.0) + inv_e20 * inv_e20);
    r.p_rate_e = C(3.3) * e20 + inv_e20;
    r.v_inf = C(1.0) / (C(1.0) + EXP(-(v - C(18.7)) * (C(1.0) / C(9.7))));
#if REASSOCIATE
    r.w_rate = phi_hay * C(0.25) * (C(1.0) + EXP(-(v + C(56.56)) * (C(1.0) / C(44.14)))); // φ/τ_w, τ_w = 4/(1 + e)
#else
    r.w_rate = phi_hay / (C(4.0) / (C(1.0) + EXP(-(v + C(56.56)) * (C(1.0) / C(44.14)))));
#endif
    REAL xq = v + C(27.0);
    r.a_q = C(0.055) * NAME(vtrap)(xq, C(3.8), EXP(-xq * (C(1.0) / C(3.8))));
    r.b_q = C(0.94) * EXP(-(C(75.0) + v) * (C(1.0) / C(17.0)));
    r.a_r = C(0.000457) * EXP(-(C(13.0) + v) * (C(1.0) / C(50.0)));
    r.b_r = C(0.0065) / (C(1.0) + EXP(-(C(15.0) + v) * (C(1.0) / C(28.0))));
    return r;
}

static inline __attribute__((always_inline))
void NAME(simulate_block)(const ionlink_hh_model *model, const ionlink_hh_protocol *protocol,
                          int lanes, const double *parameters, const uint64_t *noise_keys,
                          double *trace, size_t trace_stride, uint8_t *valid) {
    const REAL dt = (REAL)protocol->dt_ms;
    const REAL phi_hay = (REAL)model->phi_hay, phi_pos = (REAL)model->phi_pospischil;
    const REAL e_na = (REAL)model->e_na, e_k = (REAL)model->e_k, e_ca = (REAL)model->e_ca;
    const double noise_sd = protocol->noise_sd_pa;

    // Per-lane constants, derived in double and then rounded; unused lanes copy lane 0 so that every
    // lane computes finite numbers.
    REAL g_nat[L], g_na[L], g_kd[L], g_m[L], g_kv31[L], g_l[L], g_leak[L], e_leak[L];
    REAL inv_c[L], current_scale[L], vt[L], k_pos[L], m_rate_scale[L], amplitude[L];
    REAL V[L], m[L], h[L], mt[L], ht[L], n[L], p[L], w[L], q[L], r[L], ok[L];
    uint64_t s0[L], s1[L], s2[L], s3[L];
    for (int l = 0; l < L; l++) {
        const double *theta = parameters + (size_t)(l < lanes ? l : 0) * IONLINK_HH_PARAMETERS;
        double c = theta[0], r_input = theta[1], tau = theta[2];
        g_nat[l] = (REAL)(theta[3] * model->channel_enabled[0]);
        g_na[l] = (REAL)(theta[4] * model->channel_enabled[1]);
        g_kd[l] = (REAL)(theta[5] * model->channel_enabled[2]);
        g_m[l] = (REAL)(theta[6] * model->channel_enabled[3]);
        g_kv31[l] = (REAL)(theta[7] * model->channel_enabled[4]);
        g_l[l] = (REAL)(theta[8] * model->channel_enabled[5]);
        e_leak[l] = (REAL)theta[9];
        g_leak[l] = (REAL)(c / tau);                       // mS/cm²
        inv_c[l] = (REAL)(1.0 / c);
        current_scale[l] = (REAL)(1e-3 * c * r_input / tau); // pA → µA/cm²: 1e-6 / A, A = 1e-3·τ/(C·R) cm²
        m_rate_scale[l] = (REAL)(model->phi_pospischil / theta[10]); // φ_Pos / τ_max
        vt[l] = (REAL)theta[11];
        k_pos[l] = (REAL)(model->phi_pospischil / theta[12]);        // φ_Pos / r_SS
        amplitude[l] = (REAL)theta[13];
        rng_state s = rng_seed(noise_keys[l < lanes ? l : 0]);
        s0[l] = s.s0; s1[l] = s.s1; s2[l] = s.s2; s3[l] = s.s3;
        // Initial state: V = E_leak, every gate at its steady state there.
        REAL v0 = e_leak[l];
        NAME(rates) k = NAME(compute_rates)(v0, vt[l], phi_hay);
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
        ok[l] = C(1.0);
    }

    REAL noise[NOISE_CHUNK][L];
    int64_t segment = 0;
    for (int64_t k0 = 0; k0 < protocol->steps; k0 += NOISE_CHUNK) {
        int64_t chunk = protocol->steps - k0 < NOISE_CHUNK ? protocol->steps - k0 : NOISE_CHUNK;
        if (noise_sd != 0.0) {
            for (int64_t j = 0; j < chunk; j += 2) {
                for (int l = 0; l < L; l++) {
                    REAL z0, z1;
                    NORMAL_PAIR(&s0[l], &s1[l], &s2[l], &s3[l], &z0, &z1);
                    noise[j][l] = z0 * (REAL)noise_sd;
                    noise[j + 1][l] = z1 * (REAL)noise_sd;
                }
            }
        } else {
            memset(noise, 0, sizeof(noise));
        }
        for (int64_t j = 0; j < chunk; j++) {
            int64_t step = k0 + j;
            while (segment + 1 < protocol->segment_count && step >= protocol->end_step[segment]) segment++;
            const REAL fixed = (REAL)protocol->fixed_pa[segment];
            const REAL scale = (REAL)protocol->amplitude_scale[segment];
            if (trace) {
                for (int l = 0; l < lanes; l++) trace[(size_t)l * trace_stride + (size_t)step] = (double)V[l];
            }
            for (int l = 0; l < L; l++) {
                REAL v = V[l];
                NAME(rates) k = NAME(compute_rates)(v, vt[l], phi_hay);
                REAL m3h = m[l] * m[l] * m[l] * h[l];
                REAL mt3ht = mt[l] * mt[l] * mt[l] * ht[l];
                REAL n2 = n[l] * n[l];
                REAL g_a = g_nat[l] * m3h;
                REAL g_b = g_na[l] * mt3ht;
                REAL g_c = g_kd[l] * (n2 * n2);
                REAL g_d = g_m[l] * p[l];
                REAL g_e = g_kv31[l] * w[l];
                REAL g_f = g_l[l] * (q[l] * q[l] * r[l]);
                REAL g_total = g_a + g_b + g_c + g_d + g_e + g_f + g_leak[l];
                REAL injected = (fixed + scale * amplitude[l] + noise[j][l]) * current_scale[l];
                REAL drive = (g_a + g_b) * e_na + (g_c + g_d + g_e) * e_k + g_f * e_ca
                           + g_leak[l] * e_leak[l] + injected;
                REAL b_v = -g_total * inv_c[l];
                REAL a_v = drive * inv_c[l];
                REAL ba = a_v / b_v;
                REAL v_next = -ba + (ba + v) * EXP(b_v * dt);

                m[l] = NAME(advance_gate)(m[l], k.a_m, k.b_m, phi_hay, dt);
                h[l] = NAME(advance_gate)(h[l], k.a_h, k.b_h, phi_hay, dt);
                mt[l] = NAME(advance_gate)(mt[l], k.a_mt, k.b_mt, k_pos[l], dt);
                ht[l] = NAME(advance_gate)(ht[l], k.a_ht, k.b_ht, k_pos[l], dt);
                n[l] = NAME(advance_gate)(n[l], k.a_n, k.b_n, k_pos[l], dt);
                p[l] = NAME(relax)(p[l], k.p_inf, m_rate_scale[l] * k.p_rate_e, dt);
                w[l] = NAME(relax)(w[l], k.v_inf, k.w_rate, dt);
                q[l] = NAME(advance_gate)(q[l], k.a_q, k.b_q, C(1.0), dt);
                r[l] = NAME(advance_gate)(r[l], k.a_r, k.b_r, C(1.0), dt);
                V[l] = v_next;
                ok[l] = (__builtin_elementwise_abs(v_next) < (REAL)INFINITY) ? ok[l] : C(0.0);
            }
        }
    }
    for (int l = 0; l < lanes; l++) {
        REAL gates = m[l] + h[l] + mt[l] + ht[l] + n[l] + p[l] + w[l] + q[l] + r[l];
        valid[l] = (ok[l] != C(0.0) && __builtin_elementwise_abs(gates) < (REAL)INFINITY) ? 1 : 0;
    }
}
#undef EXP
#undef REAL
#undef C
#undef FMA_REAL
#undef BITS_OF
#undef REAL_OF
#undef BITS_TYPE
#undef MANTISSA_BITS
#undef EXPONENT_BIAS
#undef EXP_LIMIT
#undef EXP_MAGIC
#undef LN2_HIGH
#undef LN2_LOW
#undef EXP_DEGREE
#undef EXP_COEFFICIENTS
#undef VTRAP_SERIES_BELOW
#undef NAME
#undef NORMAL_PAIR
#undef REASSOCIATE
