import Foundation
import IonLinkCore

/// The proposal of truncated sequential NPE (TSNPE; Deistler, Gonçalves & Macke 2022): the prior truncated to the
/// high-probability region of the current posterior, here of many observed cells at once (the union of their
/// regions). Inside the region the proposal is proportional to the (uniform) prior, so the plain NPE loss on every
/// round's simulations stays valid.
///
/// Each cell's region is { θ : log q(θ|xₒ) ≥ its `quantile` over posterior samples }. Its uniform distribution is
/// drawn by sampling importance resampling (SIR): posterior samples inside the region, resampled with weights
/// prior/posterior ∝ 1/q(θ|xₒ). Every cell contributes the same number of draws, so the population proposal is the
/// equal-weight mixture of the cells' truncated priors.
public enum TruncatedProposal {
    /// `count` draws from the truncated prior of one cell, given its posterior samples with their log-probabilities
    /// (any additive constant). Reproducible from (seed, index).
    public static func resample(_ draws: Posterior.Draws, count: Int, quantile: Double = 1e-4, seed: UInt64, index: UInt64) -> Matrix {
        let (inside, weights) = regionWeights(draws, quantile: quantile)
        guard !inside.isEmpty, count > 0 else { return Matrix(rows: 0, columns: draws.samples.columns, values: []) }
        var cumulative: [Double] = []
        cumulative.reserveCapacity(weights.count)
        var total = 0.0
        for w in weights { total += w; cumulative.append(total) }
        var generator = StreamKey.generator(seed: seed, purpose: .proposal, index: index)
        var values: [Double] = []
        values.reserveCapacity(count * draws.samples.columns)
        for _ in 0..<count {
            let u = generator.nextUniform() * total
            let k = min(inside.count - 1, cumulative.partitioningIndex { $0 > u })
            values += draws.samples.row(inside[k])
        }
        return Matrix(rows: count, columns: draws.samples.columns, values: values)
    }

    /// The effective sample size of the resampling weights (Kish): how many distinct draws the region is covered by.
    public static func effectiveSampleSize(_ draws: Posterior.Draws, quantile: Double = 1e-4) -> Double {
        let w = regionWeights(draws, quantile: quantile).weights
        let s = w.reduce(0, +), s2 = w.reduce(0) { $0 + $1 * $1 }
        return s2 > 0 ? s * s / s2 : 0
    }

    /// The samples inside the region (log-prob at least its `quantile` over the samples) and their weights 1/q,
    /// scaled by the largest so that exp never overflows.
    static func regionWeights(_ draws: Posterior.Draws, quantile: Double) -> (inside: [Int], weights: [Double]) {
        let n = draws.logProbs.count
        guard n > 0 else { return ([], []) }
        let threshold = draws.logProbs.sorted()[min(n - 1, max(0, Int((quantile * Double(n)).rounded(.down))))]
        let inside = (0..<n).filter { draws.logProbs[$0] >= threshold && draws.logProbs[$0].isFinite }
        let top = inside.map { -draws.logProbs[$0] }.max() ?? 0
        return (inside, inside.map { exp(-draws.logProbs[$0] - top) })
    }
}
