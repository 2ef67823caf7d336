import Foundation
import IonLinkCore

/// NPE-N training-set selection (Bernaerts et al. 2025): for each observed cell, its k nearest simulations by
/// Euclidean distance on features z-scored with the valid simulations' mean and SD; the union over cells
/// without duplicates. Distances are computed block by block with BLAS (‖a‖² + ‖b‖² − 2a·b), so memory stays
/// bounded for banks of 10⁷ rows; a bounded max-heap per cell keeps the k best, ordered by (distance, index) so that
/// ties go to the lower index whatever the order of the blocks. Under MPI each rank scans every size-th block (the
/// same blocks, so the same distances, as one process) and the ranks' k best are merged exactly.
public enum NeighbourSelection {
    /// Indexes (into `valid` rows of the bank) of the selected simulations, ascending.
    /// - Parameters:
    ///   - features: reads rows `range` of the bank's valid features (rows × F), in blocks.
    public static func select(observed: Matrix, validCount: Int, mean: [Double], sd: [Double], k: Int, blockSize: Int = 65_536,
                              ranks: Ranks? = nil, features: (Range<Int>) throws -> Matrix, progress: ((Int) -> Void)? = nil) rethrows -> [Int] {
        let f = observed.columns
        var z = observed
        for i in 0..<z.rows { for j in 0..<f { z[i, j] = (z[i, j] - mean[j]) / sd[j] } }
        let observedNorms = (0..<z.rows).map { i in z.row(i).reduce(0) { $0 + $1 * $1 } }
        var heaps = [BoundedMaxHeap](repeating: BoundedMaxHeap(capacity: k), count: z.rows)
        let rank = ranks?.rank ?? 0, size = ranks?.size ?? 1
        for block in stride(from: rank, to: (validCount + blockSize - 1) / blockSize, by: size) {
            let range = block * blockSize ..< min(validCount, (block + 1) * blockSize)
            var block = try features(range)
            for i in 0..<block.rows { for j in 0..<f { block[i, j] = (block[i, j] - mean[j]) / sd[j] } }
            let dots = Matrix.product(z, block, transposeB: true) // cells × block
            let norms = (0..<block.rows).map { i in block.row(i).reduce(0) { $0 + $1 * $1 } }
            for c in 0..<z.rows {
                for r in 0..<block.rows {
                    let distance = observedNorms[c] + norms[r] - 2 * dots[c, r]
                    heaps[c].insert(distance, range.lowerBound + r)
                }
            }
            progress?(range.count)
        }
        if let ranks, ranks.isParallel {
            // Each rank's heaps as (count, distance, index, …) per cell; every rank merges them all.
            let sent = heaps.flatMap { heap in [Double(heap.items.count)] + heap.items.flatMap { [$0.0, Double($0.1)] } }
            let gathered = ranks.allGather(sent)
            var merged = [BoundedMaxHeap](repeating: BoundedMaxHeap(capacity: k), count: z.rows)
            for values in gathered {
                var at = 0
                for c in 0..<z.rows {
                    let count = Int(values[at]); at += 1
                    for _ in 0..<count { merged[c].insert(values[at], Int(values[at + 1])); at += 2 }
                }
            }
            heaps = merged
        }
        return Array(Set(heaps.flatMap(\.indexes))).sorted()
    }

    /// Noise on x for NPE-N, one draw per example: SD √(eps·SDⱼ) (the paper's code: eps·SDⱼ used as the
    /// variance) or eps·SDⱼ (the standard convention), SDⱼ the training features' SD.
    public enum NoiseConvention: String, Sendable, CaseIterable { case paper, standard }

    public static func addNoise(_ x: Matrix, eps: Double, convention: NoiseConvention, seed: UInt64) -> Matrix {
        let sds = x.columnStandardDeviations
        var out = x
        var generator = StreamKey.generator(seed: seed, purpose: .dataSplit, index: 7)
        for i in 0..<x.rows {
            for j in 0..<x.columns {
                let sd = convention == .paper ? (eps * sds[j]).squareRoot() : eps * sds[j]
                out[i, j] += sd * ConditionalMAF.normal(&generator)
            }
        }
        return out
    }
}

/// The k smallest (distance, index) pairs seen so far, in that order (a tie in distance goes to the lower index, in
/// whatever order the pairs come).
struct BoundedMaxHeap {
    let capacity: Int
    var items: [(Double, Int)] = []
    init(capacity: Int) { self.capacity = capacity }
    var indexes: [Int] { items.map(\.1) }

    mutating func insert(_ distance: Double, _ index: Int) {
        if items.count < capacity {
            items.append((distance, index)); siftUp(items.count - 1)
        } else if let top = items.first, Self.precedes((distance, index), top) {
            items[0] = (distance, index); siftDown(0)
        }
    }
    static func precedes(_ a: (Double, Int), _ b: (Double, Int)) -> Bool { a.0 < b.0 || a.0 == b.0 && a.1 < b.1 }

    private mutating func siftUp(_ i: Int) {
        var child = i
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(items[parent], items[child]) else { break }
            items.swapAt(child, parent); child = parent
        }
    }
    private mutating func siftDown(_ i: Int) {
        var parent = i
        while true {
            let l = 2 * parent + 1, r = l + 1
            var largest = parent
            if l < items.count && Self.precedes(items[largest], items[l]) { largest = l }
            if r < items.count && Self.precedes(items[largest], items[r]) { largest = r }
            if largest == parent { return }
            items.swapAt(parent, largest); parent = largest
        }
    }
}
