// The fused Hodgkin–Huxley batch kernel of IonLink.
//
// One call integrates a block of up to IONLINK_HH_LANES neurons of the Bernaerts et al. (2025) model in
// lock-step with Brian2's exponential Euler. Units: mV, ms, µF/cm², mS/cm², pA, MΩ.
// The readable definition of the model is docs/reference/model.md; IonLinkBiophysics wraps this kernel.
#ifndef IONLINK_HH_KERNEL_H
#define IONLINK_HH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Neurons integrated together by one call of `ionlink_hh_simulate_block`.
#define IONLINK_HH_LANES 16

/// Number of per-neuron parameter slots: the 13 paper parameters and the step amplitude.
#define IONLINK_HH_PARAMETERS 14

/// Fixed properties of a model (shared by all neurons of a block).
typedef struct {
    double phi_hay;        ///< temperature factor of the Hay et al. gates (Nat m, h; Kv3.1 v)
    double phi_pospischil; ///< temperature factor of the Pospischil gates (Na, Kd, M)
    double e_na;           ///< sodium reversal potential, mV
    double e_k;            ///< potassium reversal potential, mV
    double e_ca;           ///< calcium reversal potential, mV
    double channel_enabled[6]; ///< 1 or 0 for Nat, Na, Kd, M, Kv3.1, L-type Ca (multiplies the conductance)
} ionlink_hh_model;

/// A piecewise-constant current protocol on the time grid t_k = k·dt.
/// Segment s covers steps [end_step[s-1], end_step[s]) (the first starts at 0) and injects
/// fixed_pa[s] + amplitude_scale[s] · (the neuron's amplitude parameter) pA.
typedef struct {
    double dt_ms;
    int64_t steps;              ///< number of steps = number of recorded samples
    int64_t segment_count;
    const int64_t *end_step;    ///< [segment_count], strictly increasing, last == steps
    const double *fixed_pa;     ///< [segment_count]
    const double *amplitude_scale; ///< [segment_count]
    double noise_sd_pa;         ///< SD of the Gaussian current noise drawn per step (0: off)
} ionlink_hh_protocol;

/// The arithmetic of a simulation: float64 (the reference, bit-identical on every CPU) or float32 (twice the
/// lanes per instruction; the same noise draws, rounded; results differ from float64 in the last digits and,
/// through them, in the timing of spikes that lie on a threshold).
typedef enum { IONLINK_HH_FLOAT64 = 0, IONLINK_HH_FLOAT32 = 1 } ionlink_hh_precision;

/// Integrates `lanes` neurons (1 … IONLINK_HH_LANES) in `precision`.
///
/// - parameters: lanes × IONLINK_HH_PARAMETERS row-major, order C, R_input, tau, gNat, gNa, gKd, gM, gKv31,
///   gL, E_leak, tau_max, VT, r_SS, amplitude_pa.
/// - noise_keys: one 64-bit key per lane; the lane's noise stream depends only on its key.
/// - trace: if not NULL, V(t_k) for k = 0 … steps-1 is written to trace[lane·trace_stride + k].
/// - valid: per lane, 1 if the state stayed finite for the whole run, else 0.
void ionlink_hh_simulate_block(ionlink_hh_precision precision, const ionlink_hh_model *model, const ionlink_hh_protocol *protocol,
                               int lanes, const double *parameters, const uint64_t *noise_keys,
                               double *trace, size_t trace_stride, uint8_t *valid);

/// Writes `count` standard-normal draws of the noise stream with `key` (the draws the float64 kernel uses).
void ionlink_hh_normal_stream(uint64_t key, size_t count, double *out);

/// The same stream's draws as the float32 kernel computes them: the same uniforms, Box–Muller in float.
void ionlink_hh_normal_stream_f32(uint64_t key, size_t count, float *out);

/// The instruction set of the kernel variant this CPU runs: "avx512", "avx2+fma" or "baseline".
const char *ionlink_hh_instruction_set(void);

/// Runs one specific variant (1 = baseline x86-64, 2 = AVX2+FMA, 3 = AVX-512), for tests that check the
/// variants agree bit for bit. Returns 0 (and does nothing) if this CPU cannot run it.
int ionlink_hh_simulate_block_variant(int variant, ionlink_hh_precision precision,
                                      const ionlink_hh_model *model, const ionlink_hh_protocol *protocol,
                                      int lanes, const double *parameters, const uint64_t *noise_keys,
                                      double *trace, size_t trace_stride, uint8_t *valid);

#ifdef __cplusplus
}
#endif

#endif
