import Foundation
import IonLinkCore

/// APT's atomic loss (Greenberg, Nonnenmacher & Macke 2019, "automatic posterior transformation"; sbi's SNPE-C). For
/// pair i of a batch, atoms are θᵢ and A − 1 other θ; with ℓᵢₖ = log q(θₖ | xᵢ) − log p(θₖ),
///
///     Lᵢ = −ℓᵢᵢ + log Σₖ exp ℓᵢₖ,
///
/// whose minimiser is the posterior under the prior p whatever proposal p̃ the θ were drawn from, as long as the
/// contrasting atoms follow p̃ (Durkan et al. 2020): the optimal ℓ is log p(θ | x) − log p̃(θ) up to a function of x,
/// where p(θ | x) is the pairs' own conditional. sbi takes the atoms from the other pairs of the batch. When the pairs
/// were selected by their x (NPE-N's nearest neighbours), the batch's θ no longer follow p̃, but draws from the whole
/// pool of simulations do: the atoms then come from `pool`.
///
/// The gradient is Σₖ (sᵢₖ − δᵢₖ) ∇ log q(θₖ | xᵢ), s the softmax of ℓᵢ·: a weighted maximum-likelihood gradient over the
/// B·A (atom, x) evaluations.
struct AtomicLoss {
    /// Rows of θ (the atoms) and of x (the pair's own) of the B·A evaluations, pair by pair, its own θ first.
    let thetaRows: [Int]
    let contextRows: [Int]
    let atoms: Int

    /// Draws, for each pair, A − 1 rows of `pool` (uniformly), or without a pool A − 1 distinct other members of the
    /// batch (A then capped at the batch size).
    init(batch rows: [Int], atoms requested: Int, pool: Range<Int>? = nil, using generator: inout Xoshiro256) {
        let b = rows.count, a = pool == nil ? max(1, min(requested, b)) : max(1, requested)
        var thetaRows: [Int] = [], contextRows: [Int] = []
        thetaRows.reserveCapacity(b * a); contextRows.reserveCapacity(b * a)
        var others = [Int](repeating: 0, count: max(0, b - 1))
        for i in 0..<b {
            thetaRows.append(rows[i]); contextRows.append(rows[i])
            if let pool {
                for _ in 0..<(a - 1) {
                    thetaRows.append(pool.lowerBound + Int(generator.next() % UInt64(pool.count))); contextRows.append(rows[i])
                }
                continue
            }
            var n = 0
            for j in 0..<b where j != i { others[n] = j; n += 1 }
            for k in 0..<(a - 1) {   // partial Fisher–Yates: the first a − 1 of a random order
                let pick = k + Int(generator.next() % UInt64(n - k))
                others.swapAt(k, pick)
                thetaRows.append(rows[others[k]]); contextRows.append(rows[i])
            }
        }
        self.thetaRows = thetaRows; self.contextRows = contextRows; atoms = a
    }

    /// The batch's mean loss and the weight of each evaluation in the equivalent weighted likelihood gradient
    /// (−Σ wᵣ log qᵣ has the loss's gradient): wᵢₖ = (δᵢₖ − sᵢₖ) / B. `logRatio` holds ℓ in evaluation order.
    func lossAndWeights(logRatio: [Double]) -> (loss: Double, weights: [Double]) {
        let b = thetaRows.count / atoms
        var weights = [Double](repeating: 0, count: logRatio.count), total = 0.0
        for i in 0..<b {
            let row = logRatio[(i * atoms)..<((i + 1) * atoms)]
            let top = row.max()!
            guard top.isFinite else { continue }   // no finite atom: this pair adds nothing
            let sum = row.reduce(0) { $0 + Foundation.exp($1 - top) }
            let logNormalizer = top + Foundation.log(sum)
            total += logNormalizer - row.first!
            for k in 0..<atoms {
                let softmax = Foundation.exp(row[row.startIndex + k] - logNormalizer)
                weights[i * atoms + k] = ((k == 0 ? 1 : 0) - softmax) / Double(b)
            }
        }
        return (total / Double(b), weights)
    }
}
