import IonLinkCore

/// Multi-task elastic net with row (group) sparsity, no intercept — scikit-learn's `MultiTaskElasticNet`
/// objective with alpha = λ and l1_ratio = α:
///
///     1/(2n) ‖Y − X W‖²_F + λ α Σ_g ‖W_g‖₂ + λ (1 − α)/2 ‖W‖²_F
///
/// solved by block coordinate descent over the rows of W (one gene at a time), with warm starts.
public struct MultiTaskElasticNet: Sendable {
    public var lambda: Double
    public var alpha: Double
    /// Stop when the largest change of a coefficient, relative to the largest coefficient, falls below this.
    public var tolerance: Double
    public var maxIterations: Int

    public init(lambda: Double, alpha: Double, tolerance: Double = 1e-10, maxIterations: Int = 100_000) {
        precondition(lambda >= 0 && alpha >= 0 && alpha <= 1, "λ ≥ 0 and 0 ≤ α ≤ 1")
        self.lambda = lambda
        self.alpha = alpha
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    /// W (features × tasks) for X (n × features) and Y (n × tasks), starting from `initial` if given.
    public func fit(_ x: Matrix, _ y: Matrix, initial: Matrix? = nil) -> Matrix {
        precondition(x.rows == y.rows, "X has \(x.rows) rows, Y \(y.rows)")
        let n = x.rows, p = x.columns, k = y.columns
        var w = initial ?? Matrix(rows: p, columns: k)
        precondition(w.rows == p && w.columns == k)
        // Column-major copy of X for contiguous feature access; residual R = Y − X W (n × k).
        let xt = x.transposed
        var residual = y - x * w
        let columnNorms = (0..<p).map { j in xt.values[j * n ..< (j + 1) * n].reduce(0) { $0 + $1 * $1 } }
        let l1 = lambda * alpha * Double(n), l2 = lambda * (1 - alpha) * Double(n)
        var old = [Double](repeating: 0, count: k), tmp = [Double](repeating: 0, count: k)
        w.values.withUnsafeMutableBufferPointer { wp in
            residual.values.withUnsafeMutableBufferPointer { rp in
                xt.values.withUnsafeBufferPointer { xp in
                    for _ in 0..<maxIterations {
                        var maxChange = 0.0, maxWeight = 0.0
                        for j in 0..<p where columnNorms[j] > 0 {
                            let xj = xp.baseAddress! + j * n
                            for t in 0..<k { old[t] = wp[j * k + t]; tmp[t] = columnNorms[j] * old[t] }
                            // tmp = X_jᵀ R + ‖X_j‖² W_j
                            for i in 0..<n {
                                let xi = xj[i]
                                if xi == 0 { continue }
                                let row = rp.baseAddress! + i * k
                                for t in 0..<k { tmp[t] += xi * row[t] }
                            }
                            var norm = 0.0
                            for t in 0..<k { norm += tmp[t] * tmp[t] }
                            norm = norm.squareRoot()
                            let shrink = norm > 0 ? max(0, 1 - l1 / norm) / (columnNorms[j] + l2) : 0
                            var changed = false
                            for t in 0..<k {
                                let new = tmp[t] * shrink
                                wp[j * k + t] = new
                                if new != old[t] { changed = true }
                                maxChange = max(maxChange, abs(new - old[t]))
                                maxWeight = max(maxWeight, abs(new))
                                tmp[t] = new - old[t]
                            }
                            if changed {
                                for i in 0..<n {
                                    let xi = xj[i]
                                    if xi == 0 { continue }
                                    let row = rp.baseAddress! + i * k
                                    for t in 0..<k { row[t] -= xi * tmp[t] }
                                }
                            }
                        }
                        if maxWeight == 0 || maxChange / maxWeight < tolerance { break }
                    }
                }
            }
        }
        return w
    }
}
