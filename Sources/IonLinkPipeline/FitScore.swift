import Foundation
import IonLinkCore

/// The paper's fit metric (Bernaerts et al. 2025, hh_sbi `report_performances`): a fit is re-simulated; it fails
/// when any of its features is undefined, else its distance is the Euclidean distance between simulated and
/// observed features, each z-scored by the scored cells' observed SD (ddof 0).
public struct FitScore: Sendable {
    /// The per-feature SD of the scored cells' observed features.
    public let scale: [Double]

    /// The scale from the observed features of the scored cells (rows of `observed`).
    public init(observed: Matrix, scoredRows: [Int]) {
        scale = (0..<observed.columns).map { j in
            let v = scoredRows.map { observed[$0, j] }.filter(\.isFinite)
            guard !v.isEmpty else { return .nan }
            let mean = v.reduce(0, +) / Double(v.count)
            let sd = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
            return sd > 0 ? sd : 1
        }
    }

    public init(scale: [Double]) { self.scale = scale }

    /// The distance of `simulated` to `observed` (nil when a simulated feature is undefined: a failure).
    public func distance(simulated: some Collection<Double>, observed: some Collection<Double>) -> Double? {
        var sum = 0.0
        for ((s, o), sd) in zip(zip(simulated, observed), scale) {
            guard s.isFinite else { return nil }
            sum += (s - o) * (s - o) / (sd * sd)
        }
        return sum.squareRoot()
    }

    /// Distances of each row of `simulated` to the same row of `observed`.
    public func distances(simulated: Matrix, observed: Matrix) -> [Double?] {
        (0..<simulated.rows).map { distance(simulated: simulated.row($0), observed: observed.row($0)) }
    }
}

/// Failed fraction and distance statistics of a set of fits.
public struct FitSummary: Sendable, Equatable, Codable {
    public var cells: Int
    public var failed: Int
    public var mean: Double
    public var sd: Double
    public var median: Double

    public init(_ distances: [Double?]) {
        let d = distances.compactMap { $0 }.sorted()
        cells = distances.count
        failed = distances.count - d.count
        mean = d.isEmpty ? .nan : d.reduce(0, +) / Double(d.count)
        let m = mean
        sd = d.isEmpty ? .nan : (d.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(d.count)).squareRoot()
        median = d.sortedQuantile(0.5)
    }

    public var failedPercent: Double { cells > 0 ? 100 * Double(failed) / Double(cells) : .nan }

    /// "2.51% failed, 4.35 ± 2.86 (median 3.35)".
    public var text: String { String(format: "%.2f%% failed, %.2f ± %.2f (median %.2f)", failedPercent, mean, sd, median) }
}

/// The paper's NPE-N numbers on its 955 M1 cells (spec INFERENCE.md §8, recomputed from hh_sbi's committed files).
public enum PaperResults {
    public static let mapFailed = 24, mapFailedPercent = 2.51, mapMean = 4.35, mapSD = 2.86, mapMedian = 3.35
    /// Family → (cells, mean MAP distance, median, failed).
    public static let mapByFamily: [String: (cells: Int, mean: Double, median: Double?, failed: Int)] = [
        "Pvalb": (289, 2.45, 1.87, 0), "Sst": (240, 4.83, 3.64, 0), "IT": (182, 5.24, 4.73, 13), "Lamp5": (83, 4.60, 4.24, 3),
        "CT": (56, 5.44, 4.44, 2), "Vip": (54, 7.96, 8.23, 2), "ET": (38, 4.86, 4.67, 4), "Sncg": (11, 4.34, 3.33, 0), "NP": (2, 5.55, nil, 0),
    ]
}

/// Fit statistics per family, in the paper's family order (then any other family alphabetically).
public func familySummaries(families: [String], distances: [Double?]) -> [(family: String, summary: FitSummary)] {
    let order = ["Pvalb", "Sst", "IT", "Lamp5", "CT", "Vip", "ET", "Sncg", "NP"]
    let present = Set(families)
    let names = order.filter(present.contains) + present.subtracting(order).sorted()
    return names.map { name in
        (name, FitSummary(families.indices.filter { families[$0] == name }.map { distances[$0] }))
    }
}
