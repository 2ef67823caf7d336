// Vectorised elementary functions for the neural-network layers of IonLinkInference.
#ifndef IONLINK_MATH_KERNEL_H
#define IONLINK_MATH_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// x[i] = tanh(x[i]) for i < n. Absolute error below 2e-16, relative below 1e-15 (Taylor series near 0,
/// 1 − 2/(e^{2|x|} + 1) elsewhere with a polynomial exp); the same result on every CPU variant.
void ionlink_tanh(double *x, size_t n);

/// For each s[i]: scale[i] = softplus(s) + 1e-3, slope[i] = sigmoid(s) = d softplus/ds, log_scale[i] =
/// log(scale[i]) — the affine terms of a MAF transform. Polynomial exp and log (relative error about 1e-16),
/// no overflow for any finite s; the same result on every CPU variant.
void ionlink_softplus_scale(const double *s, size_t n, double *scale, double *slope, double *log_scale);

/// One Adam step over n weights: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − rate·(m/c1)/(√(v/c2) + eps),
/// with c1, c2 the bias corrections; elementwise IEEE arithmetic in this order, so every CPU variant agrees.
void ionlink_adam_step(double *p, double *m, double *v, const double *g, size_t n,
                       double beta1, double beta2, double rate, double c1, double c2, double eps);

/// Σ x[i]², summed in eight interleaved partial sums added in a fixed order (the same on every CPU variant).
double ionlink_sum_of_squares(const double *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
