import Foundation
import IonLinkCore
import IonLinkRegression
import IonLinkTestSupport
import Testing

/// Against tools/srrr_reference.py (scikit-learn MultiTaskElasticNet) on the shipped M1 data.
@Suite struct SparseReducedRankRegressionTests {
    static let fixtures = Golden.repository + "/Tests/IonLinkRegressionTests/Fixtures"

    static func matrix(_ name: String) throws -> Matrix {
        let a = try NPYArray.read(fixtures + "/" + name)
        return Matrix(rows: a.shape[0], columns: a.shape[1], values: a.values)
    }

    @Test("sRRR rank 2, λ 0.2, α 1 and its relaxed refit equal the scikit-learn reference within 1e-6")
    func againstReference() throws {
        let x = try Self.matrix("X.npy"), y = try Self.matrix("Y.npy")
        let model = SparseReducedRankRegression(rank: 2, lambda: 0.2, alpha: 1)
        let fit = model.fit(x, y)
        let relaxed = model.relaxed(x, y, selected: fit.selected)
        for (ours, name) in [(fit.w, "w.npy"), (fit.v, "v.npy"), (relaxed.w, "w_relaxed.npy"), (relaxed.v, "v_relaxed.npy")] {
            let theirs = try Self.matrix(name)
            #expect(ours.rows == theirs.rows && ours.columns == theirs.columns, "\(name)")
            let difference = zip(ours.values, theirs.values).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-6, "\(name): max difference \(difference)")
        }
        #expect(fit.selected.count == 16)
        // VᵀV = I.
        let vtv = Matrix.product(fit.v, fit.v, transposeA: true)
        #expect(abs(vtv[0, 0] - 1) < 1e-10 && abs(vtv[1, 1] - 1) < 1e-10 && abs(vtv[0, 1]) < 1e-10)
    }

    @Test("10-fold CV (NumPy legacy permutation, seed 42) equals the reference fold by fold")
    func crossValidation() throws {
        let x = try Self.matrix("X.npy"), y = try Self.matrix("Y.npy")
        let rows = try CrossValidation(folds: 10, seed: 42, threads: 2).run(x: x, y: y, ranks: [2, 13], lambdas: [0.2, 0.5, 1.0], alpha: 1)
        let reference = try CSVTable.read(Self.fixtures + "/cv.csv")
        #expect(rows.count == reference.rows.count)
        for r in 0..<reference.rows.count {
            let rank = Int(reference.rows[r][0])!, lambda = Double(reference.rows[r][1])!, fold = Int(reference.rows[r][2])!
            let ours = try #require(rows.first { $0.rank == rank && $0.lambda == lambda && $0.fold == fold })
            let place = "rank \(rank) λ \(lambda) fold \(fold)"
            #expect(Double(ours.genesSelected) == Double(reference.rows[r][3]), "\(place) genes")
            #expect(abs(ours.r2Test - Double(reference.rows[r][4])!) < 1e-6, "\(place) r2_test")
            #expect(abs(ours.r2TestRelaxed - Double(reference.rows[r][5])!) < 1e-6, "\(place) r2_test_relaxed")
            #expect(abs(ours.r2Train - Double(reference.rows[r][6])!) < 1e-6, "\(place) r2_train")
        }
    }

    @Test("NumPy's legacy permutation is reproduced exactly")
    func permutation() {
        var generator = LegacyNumPyRandom(seed: 42)
        #expect(generator.permutation(12) == [10, 9, 0, 8, 5, 2, 1, 11, 4, 7, 3, 6])
        var again = LegacyNumPyRandom(seed: 42)
        let p = again.permutation(955)
        #expect(Array(p.prefix(8)) == [199, 422, 695, 752, 388, 580, 828, 530] && Array(p.suffix(5)) == [106, 270, 860, 435, 102])
    }

    @Test("Ridge closed form solves (XᵀX + nλI) B = XᵀY; elastic net with α = 0 agrees with it")
    func ridge() throws {
        var generator = Xoshiro256(seed: 5)
        let x = Matrix(rows: 40, columns: 6, values: (0..<240).map { _ in generator.nextUniform() - 0.5 })
        let y = Matrix(rows: 40, columns: 3, values: (0..<120).map { _ in generator.nextUniform() - 0.5 })
        let lambda = 0.3
        let b = SparseReducedRankRegression.ridge(x, y, lambda: lambda)
        var lhs = Matrix.product(x, x, transposeA: true)
        for i in 0..<6 { lhs[i, i] += 40 * lambda }
        let residual = lhs * b - Matrix.product(x, y, transposeA: true)
        #expect(residual.values.map(abs).max()! < 1e-10)
        let net = MultiTaskElasticNet(lambda: lambda, alpha: 0, tolerance: 1e-14).fit(x, y)
        #expect(zip(net.values, b.values).map { abs($0 - $1) }.max()! < 1e-8)
    }

    @Test("Group lasso: a large λ selects nothing, and genes enter or leave for all components together")
    func groupSparsity() throws {
        let x = try Self.matrix("X.npy"), y = try Self.matrix("Y.npy")
        let w = MultiTaskElasticNet(lambda: 0.3, alpha: 1).fit(x, y)
        for r in 0..<w.rows {
            let zeros = (0..<w.columns).filter { w[r, $0] == 0 }.count
            #expect(zeros == 0 || zeros == w.columns)
        }
        #expect(MultiTaskElasticNet(lambda: 10, alpha: 1).fit(x, y).values.allSatisfy { $0 == 0 })
    }
}
