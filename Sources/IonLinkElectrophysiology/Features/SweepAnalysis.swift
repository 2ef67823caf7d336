import Foundation
import IonLinkCore

/// Spikes and summary values of one current step of one sweep (a row of `ionlink features --sweep-table`).
/// Units: mV, pA, ms, Hz, V/s.
public struct SweepAnalysis: Sendable {
    public var file: String
    public var sweep: Int
    /// Index of the step within its sweep (0 for single-step protocols).
    public var window: Int
    public var step: CurrentStep
    /// The spike-detection filter used for this sweep, kHz.
    public var filterKHz: Double
    public var train: SpikeTrain
    /// The trace as analysed (voltage corrected for the liquid-junction potential).
    public var trace: Trace
    /// Mean V over the 100 ms before the step.
    public var baseline: Double
    /// Mean V over the last 20% of the step (steady state).
    public var steadyState: Double
    /// Extreme V in the first half of the step (minimum for hyperpolarising, maximum otherwise).
    public var peakDeflection: Double

    public var spikeCount: Int { train.spikes.count }
    /// Spikes per second over the step.
    public var rate: Double { Double(spikeCount) / (step.end - step.start) }
    /// Threshold-to-threshold intervals, ms.
    public var isis: [Double] { zip(train.spikes.dropFirst(), train.spikes).map { ($0.0.thresholdTime - $0.1.thresholdTime) * 1000 } }

    /// Analyses `sweep` of `file` over each of its steps.
    /// - Parameters:
    ///   - ljpMV: liquid-junction potential subtracted from the voltage, mV.
    public static func analyse(_ sweep: Sweep, file: String, ljpMV: Double = 0) -> [SweepAnalysis] {
        let fs = sweep.samplingRate
        let filter = SpikeDetector.filterKHz(forSamplingRate: fs)
        let detector = SpikeDetector.forRecording(filterKHz: filter)
        let voltage = ljpMV == 0 ? sweep.voltage : sweep.voltage.map { $0 - ljpMV }
        return sweep.steps.enumerated().map { w, step in
            let trace = Trace(time: sweep.time, voltage: voltage, current: sweep.current, start: step.start, end: step.end)
            let train = detector.spikes(in: trace)
            func mean(_ from: Double, _ to: Double) -> Double {
                let values = zip(sweep.time, voltage).filter { $0.0 >= from && $0.0 < to }.map(\.1)
                return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
            }
            let length = step.end - step.start
            let firstHalf = zip(sweep.time, voltage).filter { $0.0 >= step.start && $0.0 < step.start + length / 2 }.map(\.1)
            let deflection = step.amplitude < 0 ? (firstHalf.min() ?? .nan) : (firstHalf.max() ?? .nan)
            return SweepAnalysis(file: file, sweep: sweep.number, window: w, step: step, filterKHz: filter, train: train,
                                 trace: trace, baseline: mean(step.start - 0.1, step.start),
                                 steadyState: mean(step.end - 0.2 * length, step.end), peakDeflection: deflection)
        }
    }

    /// Column names of the sweep table.
    public static let columns = [
        "file", "sweep", "window", "stimulus_pa", "step_start_s", "step_end_s", "filter_khz", "spike_count", "clipped_count",
        "rate_hz", "latency_ms", "first_threshold_mv", "first_peak_mv", "first_amplitude_mv", "first_width_ms", "first_ahp_mv",
        "first_upstroke_v_per_s", "first_downstroke_v_per_s", "mean_isi_ms", "median_isi_ms", "first_isi_ms", "isi_cv", "isi_adapt",
        "adaptation_index", "ap_amp_adapt", "ap_cv", "baseline_mv", "steady_state_mv", "peak_deflection_mv",
        "third_derivative_threshold",
    ]

    /// The row of the sweep table (same order as `columns`); NaN where undefined.
    public var row: [String] {
        let spikes = train.spikes
        let first = spikes.first
        let heights = spikes.map(\.height)
        let intervals = isis
        func number(_ x: Double?) -> String { CSVTable.formatNumber(x ?? .nan) }
        let sorted = intervals.sorted()
        let median = sorted.isEmpty ? Double.nan : (sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2)
        return [
            file, String(sweep), String(window), number(step.amplitude), number(step.start), number(step.end), number(filterKHz),
            String(spikes.count), String(spikes.filter(\.clipped).count), number(rate),
            number(first.map { ($0.thresholdTime - step.start) * 1000 }), number(first?.thresholdVoltage), number(first?.peakVoltage),
            number(first?.height), number(first?.width.map { $0 * 1000 }),
            number(first.flatMap { s in s.fastTroughVoltage.map { $0 - s.thresholdVoltage } }), number(first?.upstroke),
            number(first?.downstroke), number(intervals.isEmpty ? nil : Statistics.mean(intervals)), number(median),
            number(intervals.first), number(intervals.count > 1 ? Statistics.standardDeviation(intervals) / Statistics.mean(intervals) : nil),
            number(intervals.count >= 2 ? intervals[1] / intervals[0] : nil), number(Statistics.adaptationIndex(intervals)),
            number(heights.count >= 2 ? heights[1] / heights[0] : nil),
            number(heights.count >= 2 ? Statistics.standardDeviation(heights) / Statistics.mean(heights) : nil),
            number(baseline), number(steadyState), number(peakDeflection), train.usedThirdDerivative ? "True" : "False",
        ]
    }
}

/// Small statistics shared by the feature code.
public enum Statistics {
    public static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(x.count) }

    /// Population standard deviation (ddof 0), as NumPy's `std`.
    public static func standardDeviation(_ x: [Double]) -> Double {
        let m = mean(x)
        return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count)).squareRoot()
    }

    /// The AllenSDK adaptation index: mean of (ISI[i+1] − ISI[i]) / (ISI[i+1] + ISI[i]); NaN for < 2 ISIs.
    public static func adaptationIndex(_ isis: [Double]) -> Double {
        guard isis.count > 1 else { return .nan }
        let terms = zip(isis.dropFirst(), isis).map { pair -> Double in
            let (next, current) = pair
            return next == 0 && current == 0 ? 0 : (next - current) / (next + current)
        }
        let finite = terms.filter { !$0.isNaN }
        return finite.isEmpty ? .nan : mean(finite)
    }

    /// Least-squares slope and intercept of y on x; nil with fewer than 2 distinct x.
    public static func linearFit(_ x: [Double], _ y: [Double]) -> (slope: Double, intercept: Double)? {
        guard x.count >= 2, Set(x).count >= 2 else { return nil }
        let mx = mean(x), my = mean(y)
        var sxy = 0.0, sxx = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx) }
        let slope = sxy / sxx
        return (slope, my - slope * mx)
    }
}
