import IonLinkCore

/// Sparse reduced-rank regression (Kobak et al. 2021; as used by Bernaerts et al. 2025): Ŷ = X W Vᵀ with
/// VᵀV = I and a group elastic net on the rows of W (a gene is in or out for all components).
///
///     min 1/(2n) ‖Y − X W Vᵀ‖²_F + λ [ α Σ_g ‖W_g‖₂ + (1 − α)/2 ‖W‖²_F ]   s.t. VᵀV = I
///
/// Alternates W = elastic net of (X, Y V) and V = Procrustes(Yᵀ X W) from V initialised by the top right
/// singular vectors of Xᵀ Y; signs fixed so each component's largest |v| is positive; stops when the
/// normalised loss ‖Y − X W Vᵀ‖² / ‖Y‖² changes by less than 1e-6, or after 100 iterations.
public struct SparseReducedRankRegression: Sendable {
    public var rank: Int
    public var lambda: Double
    public var alpha: Double
    public var maxIterations = 100
    public var lossTolerance = 1e-6
    /// Tolerance of the inner elastic-net solver.
    public var solverTolerance = 1e-10

    public init(rank: Int, lambda: Double, alpha: Double = 1) {
        self.rank = rank
        self.lambda = lambda
        self.alpha = alpha
    }

    /// A fitted model.
    public struct Fit: Sendable {
        /// Genes (predictors) × rank.
        public var w: Matrix
        /// Outputs × rank, orthonormal columns.
        public var v: Matrix
        /// Rows of W that are non-zero.
        public var selected: [Int] { (0..<w.rows).filter { r in (0..<w.columns).contains { w[r, $0] != 0 } } }
        /// Predictions X W Vᵀ.
        public func predict(_ x: Matrix) -> Matrix { Matrix.product(x * w, v, transposeB: true) }
    }

    public func fit(_ x: Matrix, _ y: Matrix, warmStart: Matrix? = nil) -> Fit {
        precondition(x.rows == y.rows)
        let r = min(rank, y.columns, x.columns)
        var v = Self.topRightSingularVectors(Matrix.product(x, y, transposeA: true), r)
        var w = warmStart ?? Matrix(rows: x.columns, columns: r)
        let net = MultiTaskElasticNet(lambda: lambda, alpha: alpha, tolerance: solverTolerance)
        let yNorm = y.squaredNorm
        var previousLoss = Double.infinity
        for _ in 0..<maxIterations {
            w = net.fit(x, y * v, initial: w.columns == r ? w : nil)
            if w.values.allSatisfy({ $0 == 0 }) { return Fit(w: w, v: Matrix(rows: y.columns, columns: r)) }
            v = Self.procrustes(Matrix.product(y, x * w, transposeA: true))
            (w, v) = Self.fixSigns(w, v)
            let loss = (y - Matrix.product(x * w, v, transposeB: true)).squaredNorm / yNorm
            if abs(loss - previousLoss) < lossTolerance { break }
            previousLoss = loss
        }
        return Fit(w: w, v: v)
    }

    /// The relaxed model: a ridge refit (same λ, α = 0, closed form) on the genes `fit` selected, reduced to
    /// rank r by the SVD of the ridge predictions. W has zero rows for the other genes.
    public func relaxed(_ x: Matrix, _ y: Matrix, selected: [Int]) -> Fit {
        let r = min(rank, y.columns)
        guard !selected.isEmpty else { return Fit(w: Matrix(rows: x.columns, columns: r), v: Matrix(rows: y.columns, columns: r)) }
        let xs = x.selectingColumns(selected)
        let b = Self.ridge(xs, y, lambda: lambda)
        let rr = min(r, selected.count)
        var v = Self.topRightSingularVectors(xs * b, rr)
        var ws = b * v
        (ws, v) = Self.fixSigns(ws, v)
        var w = Matrix(rows: x.columns, columns: rr)
        for (i, g) in selected.enumerated() { for c in 0..<rr { w[g, c] = ws[i, c] } }
        return Fit(w: w, v: v)
    }

    /// Ridge coefficients solving (XᵀX + nλI) B = XᵀY via the thin SVD of X.
    public static func ridge(_ x: Matrix, _ y: Matrix, lambda: Double) -> Matrix {
        let (u, s, vt) = x.svd()
        let uty = Matrix.product(u, y, transposeA: true)         // k × outputs
        var scaled = uty
        let n = Double(x.rows)
        for i in 0..<scaled.rows { for j in 0..<scaled.columns { scaled[i, j] *= s[i] / (s[i] * s[i] + lambda * n) } }
        return Matrix.product(vt, scaled, transposeA: true)       // features × outputs
    }

    static func topRightSingularVectors(_ m: Matrix, _ r: Int) -> Matrix {
        let (_, _, vt) = m.svd()
        return vt.selectingRows(Array(0..<r)).transposed
    }

    /// Orthogonal Procrustes: for M = A C Bᵀ, returns A Bᵀ.
    static func procrustes(_ m: Matrix) -> Matrix {
        let (a, _, bt) = m.svd()
        return a * bt
    }

    /// Flips each component so that its largest-|v| entry is positive (w flipped with it).
    static func fixSigns(_ w: Matrix, _ v: Matrix) -> (Matrix, Matrix) {
        var w = w, v = v
        for c in 0..<v.columns {
            var best = 0
            for i in 0..<v.rows where abs(v[i, c]) > abs(v[best, c]) { best = i }
            if v[best, c] < 0 {
                for i in 0..<v.rows { v[i, c] = -v[i, c] }
                for i in 0..<w.rows { w[i, c] = -w[i, c] }
            }
        }
        return (w, v)
    }
}
