import Foundation
import IonLinkCore

/// The 23 electrophysiological features of Bernaerts et al. (2025), in paper order, with their
/// transforms and NaN rules (docs/reference/features.md). Computed the same way for simulations and
/// recordings, except where `Settings` says otherwise.
public enum PaperFeatures {
    /// Column names, exactly as in the paper's data files.
    public static let names = [
        "AP threshold", "AP amplitude", "AP width", "AHP",
        "3rd AP threshold", "3rd AP amplitude", "3rd AP width", "3rd AHP",
        "AP count", "AP count 1st 8th", "AP count 1st quarter", "AP count 1st half", "AP count 2nd half",
        "AP amp adapt", "AP average amp adapt", "AP CV", "ISI adapt", "ISI CV", "latency",
        "rest $V_{m}$ mean", "$V_{m}$ mean", "$V_{m}$ std", "$V_{m}$ skewness",
    ]

    /// Units of the columns (after transforms).
    public static let units = [
        "mV", "mV", "ms", "mV", "mV", "mV", "ms", "mV",
        "log(count+3)", "log(count+3)", "log(count+3)", "log(count+3)", "log(count+3)",
        "log(ratio)", "sigmoid", "log(ratio)", "log(ratio)", "log(ratio)", "log(ms+0.4)",
        "mV", "mV", "mV² (variance)", "1",
    ]

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

    /// The 23 values for `trace` and its detected `spikes`; NaN where undefined.
    public static func values(for trace: Trace, spikes train: SpikeTrain, settings: Settings = .simulation) -> [Double] {
        var x = [Double](repeating: .nan, count: 23)
        let spikes = train.spikes
        let start = trace.start, end = trace.end
        let n = spikes.count
        if n > 0 {
            let times = spikes.map(\.thresholdTime)
            let length = end - start
            func count(_ predicate: (Double) -> Bool) -> Double { log(Double(times.filter(predicate).count) + 3) }
            x[8] = log(Double(n) + 3)
            x[9] = count { $0 < start + length / 8 }
            x[10] = count { $0 < start + length / 4 }
            x[11] = count { $0 < start + length / 2 }
            x[12] = count { $0 >= start + length / 2 }
            if spikes.contains(where: { !$0.clipped }) {
                let heights = spikes.map(\.height)
                let isis = zip(times.dropFirst(), times).map { $0.0 - $0.1 }
                if isis.count > 1 { x[17] = log(Statistics.standardDeviation(isis) / Statistics.mean(isis)) }
                if n >= 2 {
                    x[15] = log(Statistics.standardDeviation(heights) / Statistics.mean(heights))
                    x[13] = log(heights[1] / heights[0])
                    let ratios = zip(heights.dropFirst(), heights).map { $0.0 / $0.1 }
                    x[14] = 1 / (1 + exp(-50 * (Statistics.mean(ratios) - 1)))
                }
                let first = spikes[0]
                x[0] = first.thresholdVoltage
                x[1] = first.height
                x[2] = (first.width ?? .nan) * 1000
                x[3] = (first.fastTroughVoltage ?? .nan) - first.thresholdVoltage
                if n >= settings.thirdSpikeMinimumCount {
                    let third = spikes[2]
                    x[4] = third.thresholdVoltage
                    x[5] = third.height
                    x[6] = (third.width ?? .nan) * 1000
                    x[7] = (third.fastTroughVoltage ?? .nan) - third.thresholdVoltage
                }
                if isis.count >= 2 { x[16] = log(isis[1] / isis[0]) }
                let latency = (first.thresholdTime - start) * 1000
                x[18] = latency + 0.4 <= 0 ? .nan : log(latency + 0.4)
            }
        }
        // Voltage statistics: rest before (or outside) the step; mean, variance and skewness inside it.
        // Time is increasing, so each window is a contiguous range of samples.
        let time = trace.time, voltage = trace.voltage
        let beforeEnd = time.partitioningIndex(where: { $0 >= start })          // t < start
        let insideStart = time.partitioningIndex(where: { $0 > start })         // t > start
        let insideEnd = time.partitioningIndex(where: { $0 >= end })            // t < end
        let afterStart = time.partitioningIndex(where: { $0 > end })            // t > end
        var restSum = 0.0, restCount = 0
        for k in 0..<beforeEnd { restSum += voltage[k] }
        restCount += beforeEnd
        if settings.restWindow == .outsideStep {
            for k in afterStart..<time.count { restSum += voltage[k] }
            restCount += time.count - afterStart
        }
        x[19] = restCount == 0 ? .nan : restSum / Double(restCount)
        if insideEnd > insideStart {
            let count = Double(insideEnd - insideStart)
            var sum = 0.0
            for k in insideStart..<insideEnd { sum += voltage[k] }
            let m = sum / count
            var m2 = 0.0, m3 = 0.0
            for k in insideStart..<insideEnd { let d = voltage[k] - m; m2 += d * d; m3 += d * d * d }
            m2 /= count
            m3 /= count
            x[20] = m
            x[21] = m2
            x[22] = m3 / pow(m2.squareRoot(), 3)
        }
        return x
    }
}
