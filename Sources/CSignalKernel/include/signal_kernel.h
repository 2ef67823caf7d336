// Batched zero-phase IIR filtering and differentiation for spike detection (IonLinkElectrophysiology).
#ifndef IONLINK_SIGNAL_KERNEL_H
#define IONLINK_SIGNAL_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Signals processed together by one call.
#define IONLINK_SIGNAL_LANES 16

/// For each of `lanes` (1 … IONLINK_SIGNAL_LANES) signals of `n` samples, computes
/// 1e-3 · diff(filtfilt(x)) / diff(t) with the 4th-order filter (b, a), SciPy's filtfilt conventions (odd
/// padding of `pad` samples at both ends, initial state zi · first sample of each pass) and SciPy's order
/// of floating-point operations, so that each lane equals the scalar computation bit for bit.
/// Signal l is x[l] (n samples); its derivative (n − 1 values) is written to out[l].
/// Returns 0, or −1 if n ≤ pad or memory could not be allocated.
int ionlink_filtered_derivative(const double b[5], const double a[5], const double zi[4], int pad,
                                const double *const *x, const double *t, size_t n, int lanes, double *const *out);

/// Time-chunked filtering, for derivatives that need not be bit for bit SciPy's: for each of `lanes` (≥ 1) segments
/// x[l] of m samples taken at times t[l] (m values), the filtfilt without padding from steady-state initial
/// conditions at both ends (zi · the first sample; zi · the last forward output), and its derivatives
/// 1e-3 · diff(y) / diff(t) at samples [from, to) (to ≤ m − 1) written to out[l][0 … to − from − 1]. The start-up
/// transients decay by the filter's pole radius per sample, so a segment with `warm` samples of signal on each side of
/// [from, to) gives there the derivative of the whole signal to within ~radius^warm. Returns 0, or −1 for bad sizes or
/// if memory could not be allocated.
int ionlink_filtered_derivative_segments(const double b[5], const double a[5], const double zi[4], const double *const *x,
                                         const double *const *t, size_t m, size_t from, size_t to, int lanes,
                                         double *const *out);

/// For each of `lanes` (1 … IONLINK_SIGNAL_LANES) signals x[l], adds its samples [from, to) to sums[l], one by one in
/// ascending order (bit for bit the scalar loop `for k in from..<to { sum += x[k] }`).
void ionlink_add_sums(const double *const *x, int lanes, size_t from, size_t to, double *sums);

/// For each signal x[l], m2[l] = Σ d·d and m3[l] = Σ d·d·d over samples [from, to) with d = x − mean[l], summed in
/// ascending order from 0 (bit for bit the scalar loop).
void ionlink_central_moments(const double *const *x, int lanes, size_t from, size_t to, const double *mean,
                             double *m2, double *m3);

/// The first i in [from, to) with x[i] ≥ level (NaN never is), or `to` if there is none (the scalar loop, first match).
size_t ionlink_first_at_or_above(const double *x, size_t from, size_t to, double level);

/// The last i in [from, to) with x[i] ≤ level (NaN never is), or `to` if there is none (the scalar loop from to − 1 down).
size_t ionlink_last_at_or_below(const double *x, size_t from, size_t to, double level);

/// The first i in [from, n − 1) with !(x[i] ≥ level) and x[i + 1] ≥ level (an upward crossing; NaN is below before and
/// not above after), or n if there is none.
size_t ionlink_next_upward_crossing(const double *x, size_t from, size_t n, double level);

/// Whether any of the n samples x[0…n−1] is < level (NaN never is).
int ionlink_any_below(const double *x, size_t n, double level);

/// The first index of the largest value of x[from…to−1] that is not NaN, or `from` if x[from] is NaN or the range
/// holds fewer than two samples (bit for bit the scalar loop `best = from; for i in from..<to where x[i] > x[best]`).
size_t ionlink_argmax(const double *x, size_t from, size_t to);

/// The same for the smallest value (the loop with `<`).
size_t ionlink_argmin(const double *x, size_t from, size_t to);

/// The last index of the largest value of x[from…to−1] that is not NaN, or to − 1 if x[to − 1] is NaN, or `from` if the
/// range holds fewer than two samples (bit for bit the scalar loop `best = to − 1; for i from to − 1 down to from where
/// x[i] > x[best] { best = i }`).
size_t ionlink_last_argmax(const double *x, size_t from, size_t to);

/// Makes glibc serve allocations up to 256 MiB from its reused heap instead of fresh mmaps: with the
/// default 128 KiB threshold every trace-sized array costs page faults (~20% of feature extraction).
/// Process-wide; called by the `ionlink` executable at start.
void ionlink_keep_large_buffers_on_heap(void);

#ifdef __cplusplus
}
#endif

#endif
