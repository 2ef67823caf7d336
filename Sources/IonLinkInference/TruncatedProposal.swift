import Foundation
import IonLinkCore

/// The proposal of truncated sequential NPE (TSNPE; Deistler, Gonçalves & Macke 2022): the prior truncated to the
/// high-probability region of the current posterior, here of many observed cells at once (the union of their
/// regions). Inside the region the proposal is proportional to the (uniform) prior, so the plain NPE loss on every
/// round's simulations stays valid.
///
/// Each cell's region is { θ in the box : log q(θ|xₒ) ≥ its `quantile` over posterior samples }. Its uniform
/// distribution is drawn by sampling importance resampling (SIR) from a defensive pool: the posterior samples plus as
/// many draws of a Gaussian with their mean and `widening` times their spread, each weighted by
/// 1 / (½ q(θ|xₒ) + ½ g(θ)) inside the region and 0 outside. Resampling posterior samples alone (weights 1/q) would
/// rest on the few samples at the region's rim; the wide Gaussian covers the rim evenly, so many more distinct θ
/// carry the weight. Every cell contributes the same number of draws, so the population proposal is the
/// equal-weight mixture of the cells' truncated priors.
public enum TruncatedProposal {
    /// One cell's draws from its truncated prior and the effective sample size (Kish) of the pool's weights.
    public struct Draw: Sendable {
        public var theta: Matrix
        public var effectiveSampleSize: Double
    }

    /// `count` draws from the truncated prior of one cell, given its posterior samples with their normalised
    /// log-probabilities and `logPosterior`, which gives the same normalised log q for any θ (rows; −∞ outside the
    /// prior box). Reproducible from (seed, index).
    public static func draw(_ draws: Posterior.Draws, count: Int, quantile: Double = 1e-4, widening: Double = 2,
                            seed: UInt64, index: UInt64, logPosterior: (Matrix) -> [Double]) -> Draw {
        let d = draws.samples.columns, n = draws.samples.rows
        let finite = draws.logProbs.filter(\.isFinite).sorted()
        guard !finite.isEmpty, count > 0 else { return Draw(theta: Matrix(rows: 0, columns: d, values: []), effectiveSampleSize: 0) }
        let threshold = finite[min(finite.count - 1, Int((quantile * Double(finite.count)).rounded(.down)))]
        var generator = StreamKey.generator(seed: seed, purpose: .proposal, index: index)

        // The pool: the posterior samples, then as many draws of the widened Gaussian.
        let wide = WideGaussian(draws.samples, widening: widening)
        var gaussian = Matrix(rows: n, columns: d)
        for i in 0..<n { let row = wide.sample(&generator); for j in 0..<d { gaussian[i, j] = row[j] } }
        let pool = Matrix(rows: 2 * n, columns: d, values: draws.samples.values + gaussian.values)
        let logQ = draws.logProbs + logPosterior(gaussian)
        var logWeights = [Double](repeating: -.infinity, count: 2 * n)
        for i in 0..<2 * n where logQ[i].isFinite && logQ[i] >= threshold {
            let a = logQ[i], b = wide.logDensity(pool.row(i)), top = max(a, b)
            logWeights[i] = -(top + log(0.5 * exp(a - top) + 0.5 * exp(b - top)))
        }
        let top = logWeights.max() ?? 0
        let weights = logWeights.map { $0.isFinite ? exp($0 - top) : 0 }

        var cumulative: [Double] = []
        cumulative.reserveCapacity(weights.count)
        var total = 0.0, squares = 0.0
        for w in weights { total += w; squares += w * w; cumulative.append(total) }
        var values: [Double] = []
        values.reserveCapacity(count * d)
        for _ in 0..<count {
            let u = generator.nextUniform() * total
            values += pool.row(min(2 * n - 1, cumulative.partitioningIndex { $0 > u }))
        }
        return Draw(theta: Matrix(rows: count, columns: d, values: values), effectiveSampleSize: total * total / squares)
    }
}

/// A Gaussian with the mean of a sample and its covariance scaled by widening² (a tiny ridge keeps it positive
/// definite), for drawing and evaluating.
struct WideGaussian {
    let mean: [Double]
    /// Lower Cholesky factor of the widened covariance, row-major.
    let factor: Matrix
    let logNormalizer: Double

    init(_ samples: Matrix, widening: Double) {
        let d = samples.columns, n = max(1, samples.rows)
        mean = samples.columnMeans
        var covariance = Matrix(rows: d, columns: d)
        for r in 0..<samples.rows {
            for a in 0..<d { for b in 0...a { covariance[a, b] += (samples[r, a] - mean[a]) * (samples[r, b] - mean[b]) } }
        }
        let trace = (0..<d).reduce(0.0) { $0 + covariance[$1, $1] } / Double(n * d)
        for a in 0..<d {
            for b in 0...a { covariance[a, b] *= widening * widening / Double(n) }
            covariance[a, a] += 1e-9 * max(trace, 1e-300) + 1e-300
        }
        var l = Matrix(rows: d, columns: d)
        for a in 0..<d {
            for b in 0...a {
                var s = covariance[a, b]
                for k in 0..<b { s -= l[a, k] * l[b, k] }
                l[a, b] = a == b ? max(s, 1e-300).squareRoot() : s / l[b, b]
            }
        }
        factor = l
        logNormalizer = -0.5 * Double(d) * log(2 * Double.pi) - (0..<d).reduce(0.0) { $0 + log(l[$1, $1]) }
    }

    func sample(_ generator: inout Xoshiro256) -> [Double] {
        let d = mean.count
        let z = (0..<d).map { _ in ConditionalMAF.normal(&generator) }
        return (0..<d).map { a in mean[a] + (0...a).reduce(0.0) { $0 + factor[a, $1] * z[$1] } }
    }

    func logDensity(_ theta: [Double]) -> Double {
        let d = mean.count
        var y = [Double](repeating: 0, count: d), squares = 0.0
        for a in 0..<d {
            var s = theta[a] - mean[a]
            for k in 0..<a { s -= factor[a, k] * y[k] }
            y[a] = s / factor[a, a]
            squares += y[a] * y[a]
        }
        return logNormalizer - 0.5 * squares
    }
}
