import Foundation
import IonLinkCore

/// K-fold cross-validation of sparse reduced-rank regression over ranks and λ, as Bernaerts et al. (2025) ran
/// it: one permutation of the cells from NumPy's legacy generator seeded with `seed`; fold k tests permuted
/// positions [k·⌊n/K⌋, (k+1)·⌊n/K⌋) (the last n mod K cells always train); X and Y are centred with the
/// training means; test R² = 1 − Σ(Y − Ŷ)² / Σ Y² pooled over outputs.
public struct CrossValidation: Sendable {
    public var folds: Int
    public var seed: UInt32
    public var threads: Int

    public init(folds: Int = 10, seed: UInt32 = 42, threads: Int = availableCores) {
        self.folds = folds
        self.seed = seed
        self.threads = threads
    }

    /// One (rank, λ, fold) result.
    public struct Row: Sendable {
        public var rank: Int
        public var lambda: Double
        public var alpha: Double
        public var fold: Int
        public var genesSelected: Int
        public var r2Test: Double
        public var r2TestRelaxed: Double
        public var r2Train: Double
        public var r2TrainRelaxed: Double
        /// Test correlation of each latent pair (X w_c vs Y v_c), relaxed model.
        public var correlations: [Double]
        /// Relaxed model, per output: test residual and total sums of squares.
        public var residualSS: [Double]
        public var totalSS: [Double]
    }

    /// Test sets of the folds (cell indexes).
    public func testSets(count n: Int) -> [[Int]] {
        var generator = LegacyNumPyRandom(seed: seed)
        let permutation = generator.permutation(n)
        let size = n / folds
        return (0..<folds).map { Array(permutation[$0 * size ..< ($0 + 1) * size]) }
    }

    /// Runs every rank × λ on every fold; λ are visited from large to small with warm starts.
    public func run(x: Matrix, y: Matrix, ranks: [Int], lambdas: [Double], alpha: Double,
                    progress: (@Sendable (Int) -> Void)? = nil) throws -> [Row] {
        let n = x.rows
        guard n >= 2 * folds else {
            throw InputError(file: "cross-validation", "\(n) cells are too few for \(folds) folds (need at least \(2 * folds))")
        }
        let tests = testSets(count: n)
        let jobs = ranks.flatMap { rank in (0..<folds).map { (rank, $0) } }
        let output = SlotBuffer<[Row]>(count: jobs.count, repeating: [])
        let sortedLambdas = lambdas.sorted(by: >)
        parallelFor(jobs.count, threads: threads) { j in
            let (rank, fold) = jobs[j]
            let testSet = Set(tests[fold])
            let train = (0..<n).filter { !testSet.contains($0) }
            let xMeans = x.selectingRows(train).columnMeans, yMeans = y.selectingRows(train).columnMeans
            let xTrain = x.selectingRows(train).subtractingColumnMeans(xMeans), yTrain = y.selectingRows(train).subtractingColumnMeans(yMeans)
            let xTest = x.selectingRows(tests[fold]).subtractingColumnMeans(xMeans), yTest = y.selectingRows(tests[fold]).subtractingColumnMeans(yMeans)
            var warm: Matrix? = nil
            var rows: [Row] = []
            for lambda in sortedLambdas {
                let model = SparseReducedRankRegression(rank: rank, lambda: lambda, alpha: alpha)
                let fit = model.fit(xTrain, yTrain, warmStart: warm)
                warm = fit.w
                let selected = fit.selected
                let relaxed = model.relaxed(xTrain, yTrain, selected: selected)
                func r2(_ f: SparseReducedRankRegression.Fit, _ xs: Matrix, _ ys: Matrix) -> Double {
                    selected.isEmpty ? 0 : 1 - (ys - f.predict(xs)).squaredNorm / ys.squaredNorm
                }
                let prediction = relaxed.predict(xTest)
                let residualSS = (0..<y.columns).map { c in (0..<yTest.rows).reduce(0.0) { let d = yTest[$1, c] - prediction[$1, c]; return $0 + d * d } }
                let totalSS = (0..<y.columns).map { c in (0..<yTest.rows).reduce(0.0) { $0 + yTest[$1, c] * yTest[$1, c] } }
                let latentX = xTest * relaxed.w, latentY = yTest * relaxed.v
                let correlations = (0..<relaxed.w.columns).map { pearsonCorrelation(latentX.column($0), latentY.column($0)) }
                rows.append(Row(rank: rank, lambda: lambda, alpha: alpha, fold: fold, genesSelected: selected.count,
                                r2Test: r2(fit, xTest, yTest), r2TestRelaxed: r2(relaxed, xTest, yTest),
                                r2Train: r2(fit, xTrain, yTrain), r2TrainRelaxed: r2(relaxed, xTrain, yTrain),
                                correlations: correlations, residualSS: selected.isEmpty ? totalSS : residualSS, totalSS: totalSS))
            }
            output[j] = rows
            progress?(rows.count)
        }
        return output.array.flatMap { $0 }.sorted { ($0.rank, $0.lambda, $0.fold) < ($1.rank, $1.lambda, $1.fold) }
    }
}
