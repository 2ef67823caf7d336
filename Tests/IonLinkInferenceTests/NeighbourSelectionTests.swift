import Foundation
import IonLinkCore
@testable import IonLinkInference
import Testing

@Suite struct NeighbourSelectionTests {
    @Test("Blocked BLAS selection equals brute force, for any block size")
    func bruteForce() {
        var g = Xoshiro256(seed: 8)
        let bank = Matrix(rows: 1000, columns: 4, values: (0..<4000).map { _ in g.nextUniform() * 10 })
        let observed = Matrix(rows: 7, columns: 4, values: (0..<28).map { _ in g.nextUniform() * 10 })
        let mean = bank.columnMeans
        let sd = (0..<4).map { j in (bank.column(j).map { ($0 - mean[j]) * ($0 - mean[j]) }.reduce(0, +) / 1000).squareRoot() }
        var expected = Set<Int>()
        for c in 0..<7 {
            let distances = (0..<1000).map { r in (0..<4).reduce(0.0) { let d = (bank[r, $1] - observed[c, $1]) / sd[$1]; return $0 + d * d } }
            expected.formUnion(distances.indices.sorted { distances[$0] < distances[$1] }.prefix(25))
        }
        for blockSize in [64, 333, 5000] {
            let selected = NeighbourSelection.select(observed: observed, validCount: 1000, mean: mean, sd: sd, k: 25, blockSize: blockSize) { range in
                bank.selectingRows(Array(range))
            }
            #expect(Set(selected) == expected, "block size \(blockSize)")
            #expect(selected == selected.sorted())
        }
    }

    @Test("The k nearest are the k smallest (distance, index), whatever the order rows come in: ties go to the lower index")
    func tiesGoToTheLowerIndex() {
        // Rows 0–9 all at distance 1 (ties), row 10 nearer; k = 4 must keep row 10 and rows 0, 1, 2 in any order.
        var ordered = BoundedMaxHeap(capacity: 4), reversed = BoundedMaxHeap(capacity: 4)
        let rows = (0..<10).map { (1.0, $0) } + [(0.5, 10)]
        for (d, i) in rows { ordered.insert(d, i) }
        for (d, i) in rows.reversed() { reversed.insert(d, i) }
        #expect(Set(ordered.indexes) == [0, 1, 2, 10] && Set(reversed.indexes) == [0, 1, 2, 10], "\(ordered.indexes), \(reversed.indexes)")
    }

    @Test("Feature noise: the paper's convention has SD √(eps·SD_j), the standard one eps·SD_j")
    func noise() {
        var g = Xoshiro256(seed: 2)
        let x = Matrix(rows: 20_000, columns: 2, values: (0..<40_000).map { i in (g.nextUniform() - 0.5) * (i % 2 == 0 ? 4 : 0.04) })
        let sds = (0..<2).map { j in (x.column(j).map { $0 * $0 }.reduce(0, +) / 20_000).squareRoot() }
        for convention in NeighbourSelection.NoiseConvention.allCases {
            let noisy = NeighbourSelection.addNoise(x, eps: 0.1, convention: convention, seed: 3)
            for j in 0..<2 {
                let added = (0..<20_000).map { noisy[$0, j] - x[$0, j] }
                let sd = (added.map { $0 * $0 }.reduce(0, +) / 20_000).squareRoot()
                let expected = convention == .paper ? (0.1 * sds[j]).squareRoot() : 0.1 * sds[j]
                #expect(abs(sd / expected - 1) < 0.03, "\(convention) feature \(j): \(sd) vs \(expected)")
            }
        }
    }
}
