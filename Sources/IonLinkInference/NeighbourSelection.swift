import Foundation
import IonLinkCore

/// NPE-N training-set selection (Bernaerts et al. 2025): for each observed cell, its k nearest simulations by
/// Euclidean distance on features z-scored with the valid simulations' mean and SD; the union over cells
/// without duplicates. Distances are computed block by block with BLAS (‖a‖² + ‖b‖² − 2a·b), so memory stays
/// bounded for banks of 10⁷ rows; a bounded max-heap per cell keeps the k best.
public enum NeighbourSelection {
    /// Indexes (into `valid` rows of the bank) of the selected simulations, ascending.
    /// - Parameters:
    ///   - features: reads rows `range` of the bank's valid features (rows × F), in blocks.
    public static func select(observed: Matrix, validCount: Int, mean: [Double], sd: [Double], k: Int, blockSize: Int = 65_536,
                              features: (Range<Int>) throws -> Matrix, progress: ((Int) -> Void)? = nil) rethrows -> [Int] {
        let f = observed.columns
        var z = observed
        for i in 0..<z.rows { for j in 0..<f { z[i, j] = (z[i, j] - mean[j]) / sd[j] } }
        let observedNorms = (0..<z.rows).map { i in z.row(i).reduce(0) { $0 + $1 * $1 } }
        var heaps = [BoundedMaxHeap](repeating: BoundedMaxHeap(capacity: k), count: z.rows)
        var start = 0
        while start < validCount {
            let range = start ..< min(validCount, start + blockSize)
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
            start = range.upperBound
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

/// The k smallest (distance, index) pairs seen so far; ties keep the lower index.
struct BoundedMaxHeap {
    let capacity: Int
    var items: [(Double, Int)] = []
    init(capacity: Int) { self.capacity = capacity }
    var indexes: [Int] { items.map(\.1) }

    mutating func insert(_ distance: Double, _ index: Int) {
        if items.count < capacity {
            items.append((distance, index)); siftUp(items.count - 1)
        } else if let top = items.first, distance < top.0 {
            items[0] = (distance, index); siftDown(0)
        }
    }
    private mutating func siftUp(_ i: Int) {
        var child = i
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].0 > items[parent].0 else { break }
            items.swapAt(child, parent); child = parent
        }
    }
    private mutating func siftDown(_ i: Int) {
        var parent = i
        while true {
            let l = 2 * parent + 1, r = l + 1
            var largest = parent
            if l < items.count && items[l].0 > items[largest].0 { largest = l }
            if r < items.count && items[r].0 > items[largest].0 { largest = r }
            if largest == parent { return }
            items.swapAt(parent, largest); parent = largest
        }
    }
}
