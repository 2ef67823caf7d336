import CSignalKernel
import Foundation
import IonLinkCore

/// The 23 electrophysiological features of Bernaerts et al. (2025), in paper order, with their
/// transforms and NaN rules (docs/reference/features.md). Computed the same way for simulations and
/// recordings, except where `Settings` says otherwise.
public enum PaperFeatures {
    /// One feature of the catalogue: its column name in the paper's files, unit (after transforms), the spikes it
    /// needs to be defined, and a one-line definition (docs/reference/features.md is generated from these).
    public struct Feature: Sendable {
        public let name: String
        public let unit: String
        /// Defined only with at least this many spikes (0: always; the 3rd-spike features follow `Settings`).
        public let spikesNeeded: Int
        public let definition: String
    }

    /// The features' positions, in paper order.
    public enum Index: Int, CaseIterable, Sendable {
        case apThreshold, apAmplitude, apWidth, ahp
        case thirdAPThreshold, thirdAPAmplitude, thirdAPWidth, thirdAHP
        case apCount, apCountFirstEighth, apCountFirstQuarter, apCountFirstHalf, apCountSecondHalf
        case apAmplitudeAdaptation, apAverageAmplitudeAdaptation, apCV, isiAdaptation, isiCV, latency
        case restMean, stepMean, stepVariance, stepSkewness
    }

    /// The catalogue, in paper order (`Index`).
    public static let catalogue: [Feature] = [
        Feature(name: "AP threshold", unit: "mV", spikesNeeded: 1, definition: "threshold V of spike 1"),
        Feature(name: "AP amplitude", unit: "mV", spikesNeeded: 1, definition: "peak − threshold of spike 1"),
        Feature(name: "AP width", unit: "ms", spikesNeeded: 1, definition: "full width at half height of spike 1"),
        Feature(name: "AHP", unit: "mV", spikesNeeded: 1, definition: "fast trough − threshold of spike 1"),
        Feature(name: "3rd AP threshold", unit: "mV", spikesNeeded: 5, definition: "threshold V of spike 3 (N ≥ 5, the reference's log(N+3) > 2; 3 in its V1 code)"),
        Feature(name: "3rd AP amplitude", unit: "mV", spikesNeeded: 5, definition: "peak − threshold of spike 3 (N ≥ 5)"),
        Feature(name: "3rd AP width", unit: "ms", spikesNeeded: 5, definition: "full width at half height of spike 3 (N ≥ 5)"),
        Feature(name: "3rd AHP", unit: "mV", spikesNeeded: 5, definition: "fast trough − threshold of spike 3 (N ≥ 5)"),
        Feature(name: "AP count", unit: "log(count+3)", spikesNeeded: 1, definition: "log(N + 3)"),
        Feature(name: "AP count 1st 8th", unit: "log(count+3)", spikesNeeded: 1, definition: "log(count + 3) of thresholds before start + L/8 (L = step length)"),
        Feature(name: "AP count 1st quarter", unit: "log(count+3)", spikesNeeded: 1, definition: "log(count + 3) of thresholds before start + L/4"),
        Feature(name: "AP count 1st half", unit: "log(count+3)", spikesNeeded: 1, definition: "log(count + 3) of thresholds before start + L/2"),
        Feature(name: "AP count 2nd half", unit: "log(count+3)", spikesNeeded: 1, definition: "log(count + 3) of thresholds from start + L/2 on"),
        Feature(name: "AP amp adapt", unit: "log(ratio)", spikesNeeded: 2, definition: "log(height₂ / height₁)"),
        Feature(name: "AP average amp adapt", unit: "sigmoid", spikesNeeded: 2, definition: "sigmoid(mean(heightₖ₊₁ / heightₖ), offset 1, steepness 50)"),
        Feature(name: "AP CV", unit: "log(ratio)", spikesNeeded: 2, definition: "log(std / mean of heights), ddof 0"),
        Feature(name: "ISI adapt", unit: "log(ratio)", spikesNeeded: 3, definition: "log(ISI₂ / ISI₁)"),
        Feature(name: "ISI CV", unit: "log(ratio)", spikesNeeded: 3, definition: "log(std / mean of ISIs), ddof 0"),
        Feature(name: "latency", unit: "log(ms+0.4)", spikesNeeded: 1, definition: "log(latency + 0.4), latency = first threshold − start in ms; NaN if latency + 0.4 ≤ 0"),
        Feature(name: "rest $V_{m}$ mean", unit: "mV", spikesNeeded: 0, definition: "mean V before the step (simulations); before and after it (recordings)"),
        Feature(name: "$V_{m}$ mean", unit: "mV", spikesNeeded: 0, definition: "mean V with start < t < end"),
        Feature(name: "$V_{m}$ std", unit: "mV² (variance)", spikesNeeded: 0, definition: "the variance (2nd central moment) with start < t < end, as in the paper"),
        Feature(name: "$V_{m}$ skewness", unit: "1", spikesNeeded: 0, definition: "3rd central moment / std³ with start < t < end"),
    ]

    /// The number of features.
    public static let count = catalogue.count
    /// Column names, exactly as in the paper's data files.
    public static let names = catalogue.map(\.name)
    /// Units of the columns (after transforms).
    public static let units = catalogue.map(\.unit)

    /// The catalogue as the Markdown table of docs/reference/features.md.
    public static var markdownTable: String {
        "| # | column | definition | unit | spikes needed |\n|---|---|---|---|---|\n"
            + catalogue.enumerated().map { "| \($0.offset) | \($0.element.name) | \($0.element.definition) | \($0.element.unit) | \($0.element.spikesNeeded) |\n" }.joined()
    }

    /// Where the two rules of the reference differ between simulations and recordings.
    public struct Settings: Sendable, Equatable {
        /// The resting potential window: before the step (simulations), or before and after it (recordings).
        public enum RestWindow: Sendable, Equatable { case beforeStep, outsideStep }
        public var restWindow: RestWindow
        /// Spikes needed for the 3rd-spike features: 5 in the M1 code (the check `log(N+3) > 2`), 3 in its V1 code.
        public var thirdSpikeMinimumCount: Int

        public init(restWindow: RestWindow = .beforeStep, thirdSpikeMinimumCount: Int = 5) {
            self.restWindow = restWindow
            self.thirdSpikeMinimumCount = thirdSpikeMinimumCount
        }

        /// Simulated traces (the reference simulator's summary statistics).
        public static let simulation = Settings()
        /// Recorded traces (the reference's observed-data features).
        public static let recording = Settings(restWindow: .outsideStep)
    }

    /// The values of the catalogue for `trace` and its detected `spikes`, in order; NaN where undefined.
    public static func values(for trace: Trace, spikes train: SpikeTrain, settings: Settings = .simulation) -> [Double] {
        trace.time.withUnsafeBufferPointer { time in
            trace.voltage.withUnsafeBufferPointer { voltage in
                values(time: time, voltage: voltage, start: trace.start, end: trace.end, spikes: train, settings: settings)
            }
        }
    }

    /// The values of the catalogue for the samples `voltage` (mV) at `time` (s) with the window [start, end] (s), read
    /// in place; NaN where undefined.
    public static func values(time: UnsafeBufferPointer<Double>, voltage: UnsafeBufferPointer<Double>, start: Double, end: Double,
                              spikes train: SpikeTrain, settings: Settings = .simulation) -> [Double] {
        precondition(time.count == voltage.count, "time has \(time.count) samples, voltage \(voltage.count)")
        var x = spikeValues(train, start: start, end: end, settings: settings)
        if let base = voltage.baseAddress {
            VoltageStatistics.of([base], time: time, start: start, end: end, settings: settings)[0].write(into: &x)
        }
        return x.values
    }

    /// The features of the spikes of a trace with the window [start, end] (s); the voltage features stay NaN.
    static func spikeValues(_ train: SpikeTrain, start: Double, end: Double, settings: Settings) -> Values {
        var x = Values()
        let spikes = train.spikes
        let n = spikes.count
        if n > 0 {
            let times = spikes.map(\.thresholdTime)
            let length = end - start
            func count(_ predicate: (Double) -> Bool) -> Double { log(Double(times.filter(predicate).count) + 3) }
            x[.apCount] = log(Double(n) + 3)
            x[.apCountFirstEighth] = count { $0 < start + length / 8 }
            x[.apCountFirstQuarter] = count { $0 < start + length / 4 }
            x[.apCountFirstHalf] = count { $0 < start + length / 2 }
            x[.apCountSecondHalf] = count { $0 >= start + length / 2 }
            if spikes.contains(where: { !$0.clipped }) {
                let heights = spikes.map(\.height)
                let isis = zip(times.dropFirst(), times).map { $0.0 - $0.1 }
                if isis.count > 1 { x[.isiCV] = log(Statistics.standardDeviation(isis) / Statistics.mean(isis)) }
                if n >= 2 {
                    x[.apCV] = log(Statistics.standardDeviation(heights) / Statistics.mean(heights))
                    x[.apAmplitudeAdaptation] = log(heights[1] / heights[0])
                    let ratios = zip(heights.dropFirst(), heights).map { $0.0 / $0.1 }
                    x[.apAverageAmplitudeAdaptation] = 1 / (1 + exp(-50 * (Statistics.mean(ratios) - 1)))
                }
                let first = spikes[0]
                x[.apThreshold] = first.thresholdVoltage
                x[.apAmplitude] = first.height
                x[.apWidth] = (first.width ?? .nan) * 1000
                x[.ahp] = (first.fastTroughVoltage ?? .nan) - first.thresholdVoltage
                if n >= settings.thirdSpikeMinimumCount {
                    let third = spikes[2]
                    x[.thirdAPThreshold] = third.thresholdVoltage
                    x[.thirdAPAmplitude] = third.height
                    x[.thirdAPWidth] = (third.width ?? .nan) * 1000
                    x[.thirdAHP] = (third.fastTroughVoltage ?? .nan) - third.thresholdVoltage
                }
                if isis.count >= 2 { x[.isiAdaptation] = log(isis[1] / isis[0]) }
                let latency = (first.thresholdTime - start) * 1000
                x[.latency] = latency + 0.4 <= 0 ? .nan : log(latency + 0.4)
            }
        }
        return x
    }

    /// The four voltage features of traces on one time axis: the rest mean before (or outside) the step; the mean,
    /// variance and skewness inside it.
    struct VoltageStatistics {
        var restMean = Double.nan, stepMean = Double.nan, stepVariance = Double.nan, stepSkewness = Double.nan

        /// The statistics of up to 16 traces (`IONLINK_SIGNAL_LANES`) of `time.count` samples, summed trace by trace in
        /// sample order, all traces at once.
        static func of(_ voltages: [UnsafePointer<Double>], time: UnsafeBufferPointer<Double>, start: Double, end: Double,
                       settings: Settings) -> [VoltageStatistics] {
            let lanes = Int32(voltages.count)
            precondition(lanes >= 1 && lanes <= IONLINK_SIGNAL_LANES)
            let inputs = voltages.map { Optional($0) }
            // Time is increasing, so each window is a contiguous range of samples.
            let beforeEnd = time.partitioningIndex(where: { $0 >= start })          // t < start
            let insideStart = time.partitioningIndex(where: { $0 > start })         // t > start
            let insideEnd = time.partitioningIndex(where: { $0 >= end })            // t < end
            let afterStart = time.partitioningIndex(where: { $0 > end })            // t > end
            var statistics = [VoltageStatistics](repeating: VoltageStatistics(), count: voltages.count)
            var rest = [Double](repeating: 0, count: voltages.count)
            ionlink_add_sums(inputs, lanes, 0, beforeEnd, &rest)
            var restCount = beforeEnd
            if settings.restWindow == .outsideStep {
                ionlink_add_sums(inputs, lanes, afterStart, time.count, &rest)
                restCount += time.count - afterStart
            }
            if restCount > 0 { for l in statistics.indices { statistics[l].restMean = rest[l] / Double(restCount) } }
            guard insideEnd > insideStart else { return statistics }
            let count = Double(insideEnd - insideStart)
            var means = [Double](repeating: 0, count: voltages.count)
            ionlink_add_sums(inputs, lanes, insideStart, insideEnd, &means)
            for l in means.indices { means[l] /= count }
            var m2 = [Double](repeating: 0, count: voltages.count), m3 = m2
            ionlink_central_moments(inputs, lanes, insideStart, insideEnd, means, &m2, &m3)
            for l in statistics.indices {
                let variance = m2[l] / count
                statistics[l].stepMean = means[l]
                statistics[l].stepVariance = variance
                statistics[l].stepSkewness = (m3[l] / count) / pow(variance.squareRoot(), 3)
            }
            return statistics
        }

        func write(into x: inout Values) {
            x[.restMean] = restMean
            x[.stepMean] = stepMean
            x[.stepVariance] = stepVariance
            x[.stepSkewness] = stepSkewness
        }
    }

    /// The 23 values under construction, addressed by `Index`.
    struct Values {
        var values = [Double](repeating: .nan, count: PaperFeatures.count)
        subscript(_ i: Index) -> Double {
            get { values[i.rawValue] }
            set { values[i.rawValue] = newValue }
        }
    }
}
