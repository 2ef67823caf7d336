import CBLAS
import Foundation

/// A dense row-major matrix of doubles, with the BLAS/LAPACK operations IonLink needs (OpenBLAS).
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    /// Values in row-major order.
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "\(rows) × \(columns) matrix needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// `count` copies of one row.
    public init(repeatingRow row: [Double], count: Int) {
        self.init(rows: count, columns: row.count, values: Array([[Double]](repeating: row, count: count).joined()))
    }

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: value, count: rows * columns))
    }

    /// A matrix from its rows.
    public init(_ rowArrays: [[Double]]) {
        let c = rowArrays.first?.count ?? 0
        self.init(rows: rowArrays.count, columns: c, values: rowArrays.flatMap { row in
            precondition(row.count == c, "ragged rows")
            return row
        })
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    public func row(_ i: Int) -> [Double] { Array(values[i * columns ..< (i + 1) * columns]) }
    public func column(_ j: Int) -> [Double] { (0..<rows).map { values[$0 * columns + j] } }

    /// The rows at `indexes`, in that order.
    public func selectingRows(_ indexes: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indexes.count * columns)
        for i in indexes { out += values[i * columns ..< (i + 1) * columns] }
        return Matrix(rows: indexes.count, columns: columns, values: out)
    }

    /// The columns at `indexes`, in that order.
    public func selectingColumns(_ indexes: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(rows * indexes.count)
        for i in 0..<rows { for j in indexes { out.append(values[i * columns + j]) } }
        return Matrix(rows: rows, columns: indexes.count, values: out)
    }

    public var transposed: Matrix {
        var out = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { out.values[j * rows + i] = values[i * columns + j] } }
        return out
    }

    /// op(A) · op(B) with BLAS dgemm.
    public static func product(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
        let k2 = transposeB ? b.columns : b.rows, n = transposeB ? b.rows : b.columns
        precondition(k == k2, "inner dimensions differ: \(k) vs \(k2)")
        var c = Matrix(rows: m, columns: n)
        guard m > 0, n > 0, k > 0 else { return c }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1, pa.baseAddress, Int32(a.columns), pb.baseAddress, Int32(b.columns),
                                0, pc.baseAddress, Int32(n))
                }
            }
        }
        return c
    }

    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, b) }

    /// C ← α·op(A)·op(B) + β·C on raw row-major buffers (BLAS dgemm), for hot loops that manage their own memory.
    public static func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1,
                            _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Matrix(rows: a.rows, columns: a.columns, values: zip(a.values, b.values).map { $0 - $1 })
    }

    /// Sum of squares of all entries.
    public var squaredNorm: Double { values.reduce(0) { $0 + $1 * $1 } }

    /// Column standard deviations (population, divisor n).
    public var columnStandardDeviations: [Double] {
        let means = columnMeans
        return (0..<columns).map { j in ((0..<rows).reduce(0.0) { $0 + (self[$1, j] - means[j]) * (self[$1, j] - means[j]) } / Double(rows)).squareRoot() }
    }

    /// Column means.
    public var columnMeans: [Double] {
        var means = [Double](repeating: 0, count: columns)
        for i in 0..<rows { for j in 0..<columns { means[j] += values[i * columns + j] } }
        return means.map { $0 / Double(max(rows, 1)) }
    }

    /// Each column minus `means[j]`.
    public func subtractingColumnMeans(_ means: [Double]) -> Matrix {
        var out = self
        for i in 0..<rows { for j in 0..<columns { out.values[i * columns + j] -= means[j] } }
        return out
    }

    /// Thin singular value decomposition A = U diag(s) Vᵀ (LAPACK dgesdd): U is rows × k, s has k values,
    /// Vt is k × columns, k = min(rows, columns). Singular values in decreasing order.
    public func svd() -> (u: Matrix, s: [Double], vt: Matrix) {
        let m = rows, n = columns, k = min(m, n)
        var a = values
        var s = [Double](repeating: 0, count: k)
        var u = Matrix(rows: m, columns: k)
        var vt = Matrix(rows: k, columns: n)
        let info = a.withUnsafeMutableBufferPointer { pa in
            s.withUnsafeMutableBufferPointer { ps in
                u.values.withUnsafeMutableBufferPointer { pu in
                    vt.values.withUnsafeMutableBufferPointer { pv in
                        LAPACKE_dgesdd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int32(m), Int32(n), pa.baseAddress, Int32(n),
                                       ps.baseAddress, pu.baseAddress, Int32(k), pv.baseAddress, Int32(n))
                    }
                }
            }
        }
        precondition(info == 0, "LAPACK dgesdd failed with info \(info) on a \(m) × \(n) matrix")
        return (u, s, vt)
    }
}

/// Process-wide BLAS settings.
public enum BLAS {
    /// Sets OpenBLAS's thread count. IonLink parallelises over folds, blocks and batches itself and its
    /// matrices are small, so one BLAS thread avoids oversubscription (measured: ~45% of a CV run spent in
    /// OpenBLAS threads yielding).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
