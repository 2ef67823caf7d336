import Foundation
import IonLinkCore

/// Per-cell features of a multi-sweep current-clamp recording (one row of `ionlink features --out`).
/// Definitions are in docs/reference/features.md. Units: pA, Hz, MΩ, ms, mV.
public struct CellFeatures: Sendable {
    public var file: String
    /// The cell id: the file name without its extension.
    public var cellID: String
    public var sweepCount: Int
    /// Smallest depolarising step amplitude that evokes ≥ 1 spike, pA.
    public var rheobase: Double
    /// Slope of the f–I curve (rate vs amplitude over the spiking steps), Hz/pA.
    public var fiSlope: Double
    /// Highest firing rate of any step, Hz.
    public var maxRate: Double
    /// Slope of steady-state deflection vs current over the hyperpolarising steps, MΩ.
    public var inputResistance: Double
    /// Membrane time constant from an exponential fit to the onset of the smallest hyperpolarising step, ms.
    public var tau: Double
    /// (V_steady − V_peak) / (V_baseline − V_peak) on the most hyperpolarising step: the fraction of the peak
    /// deflection recovered by the end of the step (0 = no sag).
    public var sagRatio: Double
    /// AllenSDK adaptation index of the first step with ≥ 4 spikes.
    public var adaptationIndex: Double
    /// First spike at rheobase: threshold, amplitude (peak − threshold), width (ms), AHP (fast trough − threshold), latency (ms).
    public var firstSpikeThreshold: Double
    public var firstSpikeAmplitude: Double
    public var firstSpikeWidth: Double
    public var firstSpikeAHP: Double
    public var rheobaseLatency: Double
    /// The step the 23 paper features come from (closest to the target current), pA; NaN if none.
    public var paperSweepAmplitude: Double
    /// The 23 paper features of that step (NaN if none).
    public var paperFeatures: [Double]

    public static let columns = [
        "cell_id", "file", "sweeps", "rheobase_pa", "fi_slope_hz_per_pa", "max_rate_hz", "input_resistance_mohm", "tau_ms",
        "sag_ratio", "adaptation_index", "first_spike_threshold_mv", "first_spike_amplitude_mv", "first_spike_width_ms",
        "first_spike_ahp_mv", "rheobase_latency_ms", "paper_sweep_pa",
    ] + PaperFeatures.names

    public var row: [String] {
        let numbers = [rheobase, fiSlope, maxRate, inputResistance, tau, sagRatio, adaptationIndex, firstSpikeThreshold,
                       firstSpikeAmplitude, firstSpikeWidth, firstSpikeAHP, rheobaseLatency, paperSweepAmplitude] + paperFeatures
        return [cellID, file, String(sweepCount)] + numbers.map(CSVTable.formatNumber)
    }

    /// Computes the cell's features from its analysed steps.
    /// - Parameters:
    ///   - targetPA: current of the step the 23 paper features are taken from (the paper: 300 pA);
    ///   - tolerancePA: how far the nearest step may be from it.
    public static func compute(file: String, analyses: [SweepAnalysis], targetPA: Double = 300, tolerancePA: Double = 15) -> CellFeatures {
        let depolarising = analyses.filter { $0.step.amplitude > 0 }.sorted { $0.step.amplitude < $1.step.amplitude }
        let hyperpolarising = analyses.filter { $0.step.amplitude < 0 && $0.spikeCount == 0 }.sorted { $0.step.amplitude < $1.step.amplitude }
        let rheobaseStep = depolarising.first { $0.spikeCount > 0 }
        let spiking = depolarising.filter { $0.spikeCount > 0 }
        let fi = Statistics.linearFit(spiking.map(\.step.amplitude), spiking.map(\.rate))
        let rin = Statistics.linearFit(hyperpolarising.map(\.step.amplitude), hyperpolarising.map { $0.steadyState - $0.baseline })
            .map { $0.slope * 1000 }
            ?? hyperpolarising.last.map { ($0.steadyState - $0.baseline) / $0.step.amplitude * 1000 }
        let mostNegative = hyperpolarising.first
        let sag = mostNegative.map { ($0.steadyState - $0.peakDeflection) / ($0.baseline - $0.peakDeflection) } ?? .nan
        let tau = hyperpolarising.last.map(Self.membraneTimeConstant) ?? .nan
        let adapting = depolarising.first { $0.spikeCount >= 4 }
        let first = rheobaseStep?.train.spikes.first
        let paper = analyses.min { abs($0.step.amplitude - targetPA) < abs($1.step.amplitude - targetPA) }
            .flatMap { abs($0.step.amplitude - targetPA) <= tolerancePA ? $0 : nil }
        let paperFeatures = paper.map(Self.paperFeatures) ?? [Double](repeating: .nan, count: PaperFeatures.count)
        let cellID = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return CellFeatures(
            file: file, cellID: cellID, sweepCount: Set(analyses.map(\.sweep)).count,
            rheobase: rheobaseStep?.step.amplitude ?? .nan, fiSlope: fi?.slope ?? .nan,
            maxRate: analyses.map(\.rate).max() ?? .nan, inputResistance: rin ?? .nan, tau: tau,
            sagRatio: sag, adaptationIndex: adapting.map { Statistics.adaptationIndex($0.isis) } ?? .nan,
            firstSpikeThreshold: first?.thresholdVoltage ?? .nan, firstSpikeAmplitude: first?.height ?? .nan,
            firstSpikeWidth: first?.width.map { $0 * 1000 } ?? .nan,
            firstSpikeAHP: first.flatMap { s in s.fastTroughVoltage.map { $0 - s.thresholdVoltage } } ?? .nan,
            rheobaseLatency: first.map { ($0.thresholdTime - rheobaseStep!.step.start) * 1000 } ?? .nan,
            paperSweepAmplitude: paper?.step.amplitude ?? .nan, paperFeatures: paperFeatures)
    }

    /// The 23 paper features of one step as the reference computes them for recordings: the trace up to
    /// 100 ms after the step, rest = mean V before and after the step.
    static func paperFeatures(_ analysis: SweepAnalysis) -> [Double] {
        let t = analysis.trace
        let cut = t.time.partitioningIndex(where: { $0 > analysis.step.end + 0.1 })
        let trace = Trace(time: Array(t.time[..<cut]), voltage: Array(t.voltage[..<cut]), start: t.start, end: t.end)
        let detector = SpikeDetector.forRecording(filterKHz: analysis.filterKHz)
        return PaperFeatures.values(for: trace, spikes: detector.spikes(in: trace), settings: .recording)
    }

    /// τ (ms) of V(t) = V∞ + A·e^(−t/τ) fitted (least squares, τ by golden-section search on log τ, V∞ and A
    /// by linear least squares) from the step onset to the peak deflection.
    static func membraneTimeConstant(_ analysis: SweepAnalysis) -> Double {
        let time = analysis.trace.time, voltage = analysis.trace.voltage
        let start = time.partitioningIndex(where: { $0 >= analysis.step.start })
        let halfway = time.partitioningIndex(where: { $0 >= analysis.step.start + (analysis.step.end - analysis.step.start) / 2 })
        guard halfway > start + 10 else { return .nan }
        var peak = start
        for k in start..<halfway where voltage[k] < voltage[peak] { peak = k }
        guard peak > start + 5 else { return .nan }
        let t = (start...peak).map { time[$0] - time[start] }
        let v = (start...peak).map { voltage[$0] }
        func residual(_ tau: Double) -> Double {
            let e = t.map { exp(-$0 / tau) }
            guard let fit = Statistics.linearFit(e, v) else { return .infinity }
            return zip(e, v).map { let r = fit.intercept + fit.slope * $0.0 - $0.1; return r * r }.reduce(0, +)
        }
        var low = log(1e-4), high = log(max(1e-3, t.last! * 5))
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<80 {
            let a = high - ratio * (high - low), b = low + ratio * (high - low)
            if residual(exp(a)) < residual(exp(b)) { high = b } else { low = a }
        }
        let tau = exp((low + high) / 2)
        return tau * 1000
    }
}
