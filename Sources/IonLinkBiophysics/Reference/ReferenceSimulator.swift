import Foundation

/// A plain scalar simulator composed from the `IonChannel` definitions: one neuron at a time, every
/// equation as `docs/reference/model.md` writes it. It is slow (use `BatchSimulator` for work) and exists as
/// the reference the fused C kernel is tested against; it draws the same current noise as the kernel.
public struct ReferenceSimulator: Sendable {
    public let configuration: SimulationConfiguration

    public init(configuration: SimulationConfiguration) { self.configuration = configuration }

    /// Simulates the neuron whose free parameters are `parameters` (in `model.parameters` order) with the
    /// noise stream (seed, index). Returns V(t_k), mV, for every sample, and whether the state stayed finite.
    public func trace(parameters: [Double], seed: UInt64, index: UInt64) -> (trace: [Double], valid: Bool) {
        let model = configuration.model
        let stimulus = configuration.protocol
        let theta = model.kernelVector(parameters[...])
        func value(_ p: ModelParameter) -> Double { theta[p.slot] }
        let channels = model.channels.map { $0.definition(model: model, parameters: theta) }
        let conductances = channels.map { value(type(of: $0).conductance) }
        let reversals = channels.map { type(of: $0).ion.reversal(in: model) }

        let c = value(.C), tau = value(.tau), eLeak = value(.E_leak)
        let gLeak = c / tau                                        // mS/cm²
        let picoampereToDensity = 1e-3 * c * value(.R_input) / tau // pA → µA/cm² (1e-6 / area)
        let dt = stimulus.dtMs
        let steps = stimulus.sampleCount
        let noise = stimulus.noisePA == 0 ? [Double](repeating: 0, count: steps)
            : BatchSimulator.noiseDraws(seed: seed, index: index, count: steps).map { $0 * stimulus.noisePA }
        let segments = stimulus.segments

        var v = eLeak
        var gates = channels.map { $0.steadyState(at: v) }
        var trace = [Double](repeating: 0, count: steps)
        var segment = 0
        var finite = true
        for step in 0..<steps {
            while segment + 1 < segments.count && step >= segments[segment].end { segment += 1 }
            trace[step] = v
            // Exponential Euler for V: C dV/dt = drive − g_total·V, all conductances at t_k.
            var gTotal = gLeak, drive = gLeak * eLeak
            for (i, channel) in channels.enumerated() {
                let g = conductances[i] * channel.openFraction(gates[i])
                gTotal += g
                drive += g * reversals[i]
            }
            let injected = segments[segment].fixedPA + segments[segment].amplitudeScale * value(.I) + noise[step]
            drive += injected * picoampereToDensity
            let steady = drive / gTotal
            let next = steady + (v - steady) * exp(-gTotal / c * dt)
            gates = zip(channels, gates).map { $0.advance($1, at: v, dt: dt) }
            v = next
            finite = finite && v.isFinite
        }
        let gatesFinite = gates.allSatisfy { $0.allSatisfy(\.isFinite) }
        return (trace, finite && gatesFinite)
    }
}
