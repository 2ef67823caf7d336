import Foundation
import IonLinkCore
import IonLinkRegression

/// The tables `ionlink regress` writes: CV rows and summary, the final model's genes and loadings, per-output R².
public enum RegressionTables {
    public static func cvRows(_ rows: [CrossValidation.Row], maxRank: Int) -> (header: [String], rows: [[String]]) {
        let header = ["rank", "lambda", "alpha", "fold", "n_genes", "r2_test", "r2_test_relaxed", "r2_train", "r2_train_relaxed"]
            + (1...maxRank).map { "corr_\($0)" }
        let body = rows.map { r in
            [String(r.rank), CSVTable.formatNumber(r.lambda), CSVTable.formatNumber(r.alpha), String(r.fold), String(r.genesSelected),
             CSVTable.formatNumber(r.r2Test), CSVTable.formatNumber(r.r2TestRelaxed), CSVTable.formatNumber(r.r2Train),
             CSVTable.formatNumber(r.r2TrainRelaxed)]
                + (0..<maxRank).map { CSVTable.formatNumber($0 < r.correlations.count ? r.correlations[$0] : .nan) }
        }
        return (header, body)
    }

    /// Mean and SD (ddof 0, over folds) per rank and λ.
    public struct Summary: Sendable {
        public var rank: Int
        public var lambda: Double
        public var genes: Double
        public var r2Test: (mean: Double, sd: Double)
        public var r2TestRelaxed: (mean: Double, sd: Double)
        public var r2Train: Double
    }

    public static func summaries(_ rows: [CrossValidation.Row]) -> [Summary] {
        let groups = Dictionary(grouping: rows) { "\($0.rank)|\($0.lambda)" }
        func stats(_ x: [Double]) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            return (m, (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(x.count)).squareRoot())
        }
        return groups.values.map { g in
            Summary(rank: g[0].rank, lambda: g[0].lambda, genes: Double(g.map(\.genesSelected).reduce(0, +)) / Double(g.count),
                    r2Test: stats(g.map(\.r2Test)), r2TestRelaxed: stats(g.map(\.r2TestRelaxed)),
                    r2Train: g.map(\.r2Train).reduce(0, +) / Double(g.count))
        }.sorted { ($0.rank, $0.lambda) < ($1.rank, $1.lambda) }
    }

    public static func summaryTable(_ summaries: [Summary]) -> (header: [String], rows: [[String]]) {
        (["rank", "lambda", "mean_n_genes", "r2_test_mean", "r2_test_sd", "r2_test_relaxed_mean", "r2_test_relaxed_sd", "r2_train_mean"],
         summaries.map { s in
             [String(s.rank), CSVTable.formatNumber(s.lambda), CSVTable.formatNumber(s.genes), CSVTable.formatNumber(s.r2Test.mean),
              CSVTable.formatNumber(s.r2Test.sd), CSVTable.formatNumber(s.r2TestRelaxed.mean), CSVTable.formatNumber(s.r2TestRelaxed.sd),
              CSVTable.formatNumber(s.r2Train)]
         })
    }

    /// Per-output test R² pooled over folds (relaxed model) at one rank and λ.
    public static func perOutputR2(_ rows: [CrossValidation.Row], rank: Int, lambda: Double) -> [Double] {
        let chosen = rows.filter { $0.rank == rank && $0.lambda == lambda }
        guard let first = chosen.first else { return [] }
        return (0..<first.totalSS.count).map { j in
            1 - chosen.map { $0.residualSS[j] }.reduce(0, +) / chosen.map { $0.totalSS[j] }.reduce(0, +)
        }
    }

    /// In-sample R² per output of a fitted model.
    public static func inSampleR2(_ fit: SparseReducedRankRegression.Fit, x: Matrix, y: Matrix) -> [Double] {
        let prediction = fit.predict(x)
        return (0..<y.columns).map { j in
            let residual = (0..<y.rows).reduce(0.0) { $0 + (y[$1, j] - prediction[$1, j]) * (y[$1, j] - prediction[$1, j]) }
            let total = (0..<y.rows).reduce(0.0) { $0 + y[$1, j] * y[$1, j] }
            return 1 - residual / total
        }
    }
}
