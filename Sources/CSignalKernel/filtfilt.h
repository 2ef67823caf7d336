// filtfilt + derivative, written once for both arithmetics: signal_kernel.c includes this file twice, with
//   VEC     a vector of WIDTH signals' values (8 doubles, or 16 floats),
//   SCALAR  its element type,
//   WIDTH   signals per vector,
//   LOAD_SAMPLES(r, source, g, k)      r[j] = sample k + j of the signals of group g (8 samples, as VEC),
//   STORE_DERIVATIVES(d, out, g, k, lanes)  out[signal][k + j] = d[j]'s lane, for the group's signals below lanes,
//   NAME(f) the function's name for that arithmetic.
// The traces and the derivatives are doubles in both; the float32 variant rounds at the load and widens at the store.

/// The 4th-order direct-form-II-transposed filter (b, a) on WIDTH lanes, with its four state vectors.
typedef struct {
    VEC b0, b1, b2, b3, b4, a1, a2, a3, a4;
} NAME(coefficients);

typedef struct {
    VEC z0, z1, z2, z3;
} NAME(state);

static inline __attribute__((always_inline)) NAME(coefficients) NAME(broadcast)(const double b[5], const double a[5]) {
    const VEC zero = {0};
    NAME(coefficients) c = {zero + (SCALAR)b[0], zero + (SCALAR)b[1], zero + (SCALAR)b[2], zero + (SCALAR)b[3], zero + (SCALAR)b[4],
                            zero + (SCALAR)a[1], zero + (SCALAR)a[2], zero + (SCALAR)a[3], zero + (SCALAR)a[4]};
    return c;
}

/// Steady-state initial conditions zi · x0 (SciPy's filtfilt: zi times the first input of the pass).
static inline __attribute__((always_inline)) NAME(state) NAME(initial)(const double zi[4], VEC x0) {
    NAME(state) s = {(SCALAR)zi[0] * x0, (SCALAR)zi[1] * x0, (SCALAR)zi[2] * x0, (SCALAR)zi[3] * x0};
    return s;
}

/// One step of the recursion: the output for input xn, in SciPy's order of operations.
static inline __attribute__((always_inline)) VEC NAME(step)(NAME(state) *s, const NAME(coefficients) *c, VEC xn) {
    VEC yn = s->z0 + c->b0 * xn;
    s->z0 = s->z1 + xn * c->b1 - yn * c->a1;
    s->z1 = s->z2 + xn * c->b2 - yn * c->a2;
    s->z2 = s->z3 + xn * c->b3 - yn * c->a3;
    s->z3 = xn * c->b4 - yn * c->a4;
    return yn;
}

/// filtfilt and dV/dt of `groups` × WIDTH signals (interleaved sample-major in `buffer`, m = n + 2·pad rows), with both
/// passes fused with the data movement: the forward pass reads the signals' bodies 8 samples at a time through a
/// register transpose (the odd extensions and the body's last n mod 8 samples are already in `buffer`), and the backward
/// pass turns each 8 outputs into derivatives and writes them transposed to `out`. The backward pass stops at the
/// body's first sample: its outputs over the leading extension are discarded by filtfilt.
static inline __attribute__((always_inline)) void NAME(filtfilt_derivative)(
        const int groups, VEC *buffer, size_t n, size_t pad, const double *const *source, int lanes,
        const double b[5], const double a[5], const double zi[4], const double *t, double *const *out) {
    const NAME(coefficients) c = NAME(broadcast)(b, a);
    const size_t m = n + 2 * pad, body = n / 8 * 8;
    NAME(state) s[2];
    // Forward.
    for (int g = 0; g < groups; g++) s[g] = NAME(initial)(zi, buffer[g]);
    for (size_t i = 0; i < pad; i++)
        for (int g = 0; g < groups; g++) buffer[i * groups + g] = NAME(step)(&s[g], &c, buffer[i * groups + g]);
    for (size_t k = 0; k < body; k += 8)
        for (int g = 0; g < groups; g++) {
            VEC r[8];
            LOAD_SAMPLES(r, source, g, k);
            for (int j = 0; j < 8; j++) buffer[(pad + k + j) * groups + g] = NAME(step)(&s[g], &c, r[j]);
        }
    for (size_t i = pad + body; i < m; i++)
        for (int g = 0; g < groups; g++) buffer[i * groups + g] = NAME(step)(&s[g], &c, buffer[i * groups + g]);
    // Backward: the end extension and the body's last samples, kept in `buffer`; their derivatives written one by one.
    const size_t count = n - 1, chunks = count / 8 * 8;
    for (int g = 0; g < groups; g++) s[g] = NAME(initial)(zi, buffer[(m - 1) * groups + g]);
    for (size_t i = m; i-- > pad + chunks;)
        for (int g = 0; g < groups; g++) buffer[i * groups + g] = NAME(step)(&s[g], &c, buffer[i * groups + g]);
    const SCALAR *flat = (const SCALAR *)buffer;
    const int width = groups * WIDTH;
    for (size_t k = chunks; k < count; k++) {
        SCALAR dt = (SCALAR)(t[k + 1] - t[k]);
        for (int l = 0; l < lanes; l++) {
            SCALAR y0 = flat[(pad + k) * width + l], y1 = flat[(pad + k + 1) * width + l];
            out[l][k] = (SCALAR)1e-3 * (y1 - y0) / dt;
        }
    }
    // The rest, 8 derivatives at a time: y[k + 8] carried from the chunk above.
    VEC above[2];
    for (int g = 0; g < groups; g++) above[g] = buffer[(pad + chunks) * groups + g];
    for (size_t k = chunks; k > 0;) {
        k -= 8;
        for (int g = 0; g < groups; g++) {
            VEC d[8];
            for (int j = 7; j >= 0; j--) {
                VEC y = NAME(step)(&s[g], &c, buffer[(pad + k + j) * groups + g]);
                d[j] = (SCALAR)1e-3 * (above[g] - y) / (SCALAR)(t[k + j + 1] - t[k + j]);
                above[g] = y;
            }
            STORE_DERIVATIVES(d, out, g, k, lanes);
        }
    }
}

/// Fills the interleaved buffer's odd extensions at both ends and the body's last n mod 8 samples (unused lanes repeat
/// lane 0; the rest of the body is read by the forward pass itself), then filters and differentiates.
static inline __attribute__((always_inline)) int NAME(filtered_derivative)(
        const double b[5], const double a[5], const double zi[4], int pad, const double *const *x, const double *t,
        size_t n, int lanes, double *const *out) {
    if (lanes < 1 || lanes > IONLINK_SIGNAL_LANES || pad < 1 || n <= (size_t)pad) return -1;
    const int groups = (lanes + WIDTH - 1) / WIDTH;
    const int width = groups * WIDTH;
    const size_t m = n + 2 * (size_t)pad;
    VEC *buffer = scratch(sizeof(VEC) * groups * m);
    if (!buffer) return -1;
    SCALAR *flat = (SCALAR *)buffer;
    const double *source[IONLINK_SIGNAL_LANES];
    for (int l = 0; l < width; l++) source[l] = x[l < lanes ? l : 0];
    for (int i = 0; i < pad; i++)
        for (int l = 0; l < width; l++) flat[(size_t)i * width + l] = (SCALAR)(2 * source[l][0] - source[l][pad - i]);
    for (size_t k = n / 8 * 8; k < n; k++)
        for (int l = 0; l < width; l++) flat[(pad + k) * width + l] = (SCALAR)source[l][k];
    for (int i = 0; i < pad; i++)
        for (int l = 0; l < width; l++) flat[(pad + n + (size_t)i) * width + l] = (SCALAR)(2 * source[l][n - 1] - source[l][n - 2 - i]);
    if (groups == 1) {
        NAME(filtfilt_derivative)(1, buffer, n, (size_t)pad, source, lanes, b, a, zi, t, out);
    } else {
        NAME(filtfilt_derivative)(2, buffer, n, (size_t)pad, source, lanes, b, a, zi, t, out);
    }
    return 0;
}
