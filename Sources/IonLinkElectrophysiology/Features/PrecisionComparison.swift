import Foundation
import IonLinkBiophysics
import IonLinkCore

/// The float32 kernel against the float64 reference on the same parameter sets and the same noise: how often each
/// sample's spike count is the same, and whether each feature's distribution is (two-sample Kolmogorov–Smirnov), with
/// the time each took with the features inline.
public struct PrecisionComparison: Sendable {
    /// One feature in both arithmetics.
    public struct FeatureAgreement: Sendable {
        public var name: String
        /// Samples where the feature is defined, in float64 and in float32.
        public var defined: (float64: Int, float32: Int)
        /// The Kolmogorov–Smirnov distance between the two distributions and its p-value.
        public var ksStatistic: Double
        public var pValue: Double
        /// Over samples where both are defined: the median and 99th percentile of |float32 − float64|, in units of
        /// the float64 feature's standard deviation (0 when it does not vary).
        public var medianDifference: Double
        public var p99Difference: Double
    }

    public var samples: Int
    /// Samples whose spike count (the detector's, the one the features use) is the same in both.
    public var equalSpikeCounts: Int
    /// Samples valid (finite) in one arithmetic and not in the other.
    public var validityDiffers: Int
    public var features: [FeatureAgreement]
    /// Wall time of the simulations with their features, float64 and float32.
    public var seconds: (float64: Double, float32: Double)

    public var equalSpikeCountFraction: Double { Double(equalSpikeCounts) / Double(max(samples, 1)) }

    /// Simulates `theta` (rows of free parameters) with the noise streams (seed, firstIndex + row) in both arithmetics
    /// and compares the 23 features. Memory: the two feature matrices, never the traces.
    public static func measure(configuration: SimulationConfiguration, theta: Matrix, seed: UInt64, firstIndex: UInt64 = 0,
                               threads: Int = availableCores, progress: ((Int) -> Void)? = nil) -> PrecisionComparison {
        func run(_ precision: BatchSimulator.Precision) -> (Matrix, Double) {
            let start = Date()
            let values = ParameterSimulation(configuration: configuration, precision: precision, threads: threads)
                .features(of: theta, seed: seed, firstIndex: firstIndex, progress: progress)
            return (values, Date().timeIntervalSince(start))
        }
        let (reference, referenceSeconds) = run(.float64)
        let (single, singleSeconds) = run(.float32)
        return PrecisionComparison(reference: reference, single: single, seconds: (referenceSeconds, singleSeconds))
    }

    /// Compares two feature matrices (rows × the 23 paper features) of the same samples. A row of NaN is a sample that
    /// became non-finite.
    public init(reference: Matrix, single: Matrix, seconds: (float64: Double, float32: Double)) {
        precondition(reference.rows == single.rows && reference.columns == PaperFeatures.count && single.columns == PaperFeatures.count)
        let rows = reference.rows
        func valid(_ m: Matrix, _ i: Int) -> Bool { !m[i, PaperFeatures.Index.restMean.rawValue].isNaN }
        /// The detector's spike count: AP count is log(N + 3), undefined without spikes.
        func spikeCount(_ m: Matrix, _ i: Int) -> Int {
            let logCount = m[i, PaperFeatures.Index.apCount.rawValue]
            return logCount.isNaN ? 0 : Int((exp(logCount) - 3).rounded())
        }
        samples = rows
        equalSpikeCounts = (0..<rows).filter { valid(reference, $0) == valid(single, $0) && spikeCount(reference, $0) == spikeCount(single, $0) }.count
        validityDiffers = (0..<rows).filter { valid(reference, $0) != valid(single, $0) }.count
        features = PaperFeatures.names.enumerated().map { j, name in
            let x = reference.column(j), y = single.column(j)
            let test = KolmogorovSmirnov.twoSample(x, y)
            let definedX = x.filter { !$0.isNaN }
            let mean = definedX.reduce(0, +) / Double(max(definedX.count, 1))
            let sd = (definedX.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(definedX.count, 1))).squareRoot()
            let differences = zip(x, y).filter { !$0.isNaN && !$1.isNaN }.map { sd > 0 ? abs($1 - $0) / sd : 0 }.sorted()
            func quantile(_ q: Double) -> Double {
                differences.isEmpty ? .nan : differences[min(differences.count - 1, Int(q * Double(differences.count)))]
            }
            return FeatureAgreement(name: name, defined: (definedX.count, y.filter { !$0.isNaN }.count),
                                    ksStatistic: test.statistic, pValue: test.pValue,
                                    medianDifference: quantile(0.5), p99Difference: quantile(0.99))
        }
        self.seconds = seconds
    }
}
