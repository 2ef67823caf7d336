import Foundation
import Glibc
import IonLinkCore

/// Calibration diagnostics of a posterior on held-out simulations (θ*, x*).
public enum Diagnostics {
    /// How well a posterior is calibrated on held-out simulations (θ*, x*).
    public struct Calibration: Sendable {
        /// Simulation-based calibration (Talts et al. 2018): per case, the rank of θ*ⱼ among the L posterior
        /// samples for x*, per parameter (cases × parameters, ranks in 0…L). Uniform ranks mean calibration.
        public var ranks: [[Int]]
        /// Posterior samples per case (L).
        public var samplesPerCase: Int
        /// Per parameter, the χ² uniformity p-value of the ranks over 10 bins.
        public var pValues: [Double]
        /// Expected coverage: the credibility levels, and per level the fraction of cases whose θ* lies in the
        /// posterior's highest-density region of that level (its log-prob above the (1 − level) quantile of the
        /// samples' log-probs). Calibrated: coverage equals the level.
        public var levels: [Double]
        public var coverage: [Double]
        /// Mean held-out log q(θ*|x*) (without the prior-leakage correction, as sbi reports it).
        public var meanLogProbability: Double
    }

    /// SBC ranks, expected coverage at `levels` and the held-out log-prob of `posterior` on the cases (θ*, x*),
    /// with `samplesPerCase` samples each. Case i uses the sample stream (seed, i): the result is the same on any
    /// number of threads. `caseDone` is called (from worker threads) after each case.
    public static func calibrate(posterior: Posterior, theta: Matrix, x: Matrix, samplesPerCase: Int, levels: [Double] = [0.5, 0.8, 0.95],
                                 seed: UInt64, threads: Int = availableCores, caseDone: (@Sendable () -> Void)? = nil) -> Calibration {
        struct Case { var ranks: [Int]; var inside: [Bool] }
        let cases = SlotBuffer<Case?>(count: theta.rows, repeating: nil)
        let logProbs = posterior.logProbability(theta, given: x)
        parallelFor(theta.rows, threads: threads) { i in
            defer { caseDone?() }
            let draws = posterior.sample(samplesPerCase, given: x.row(i), seed: seed, index: UInt64(i))
            guard draws.samples.rows == samplesPerCase else { return }
            let ranks = (0..<theta.columns).map { j in draws.samples.column(j).filter { $0 < theta[i, j] }.count }
            let sorted = draws.logProbs.sorted()
            let truth = logProbs[i] - (draws.acceptance > 0 ? log(draws.acceptance) : 0)
            let inside = levels.map { level in truth >= sorted[min(sorted.count - 1, Int((1 - level) * Double(sorted.count)))] }
            cases.write([Case(ranks: ranks, inside: inside)], at: i)
        }
        let kept = cases.array.compactMap { $0 }
        let ranks = kept.map(\.ranks)
        let bins = 10
        let pValues = (0..<theta.columns).map { j -> Double in
            var counts = [Double](repeating: 0, count: bins)
            for r in ranks { counts[min(bins - 1, r[j] * bins / (samplesPerCase + 1))] += 1 }
            let expected = Double(ranks.count) / Double(bins)
            let chi2 = counts.reduce(0) { $0 + ($1 - expected) * ($1 - expected) / expected }
            return chiSquareSurvival(chi2, degreesOfFreedom: bins - 1)
        }
        let coverage = levels.indices.map { k in Double(kept.filter { $0.inside[k] }.count) / Double(max(kept.count, 1)) }
        let finite = logProbs.filter(\.isFinite)
        return Calibration(ranks: ranks, samplesPerCase: samplesPerCase, pValues: pValues, levels: levels, coverage: coverage,
                           meanLogProbability: finite.reduce(0, +) / Double(max(finite.count, 1)))
    }

    /// P(χ²_k ≥ x) via the regularised upper incomplete gamma function.
    static func chiSquareSurvival(_ x: Double, degreesOfFreedom k: Int) -> Double {
        upperGamma(Double(k) / 2, x / 2)
    }

    /// Q(a, x) by series (x < a + 1) or continued fraction (Numerical Recipes' gammq).
    static func upperGamma(_ a: Double, _ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let lnGammaA: Double = Glibc.lgamma(a)
        if x < a + 1 {
            var sum = 1 / a, term = 1 / a, n = a
            for _ in 0..<500 { n += 1; term *= x / n; sum += term; if abs(term) < abs(sum) * 1e-15 { break } }
            return 1 - sum * exp(-x + a * log(x) - lnGammaA)
        }
        var b = x + 1 - a, c = 1e300, d = 1 / b, h = d
        for i in 1..<500 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < 1e-300 { d = 1e-300 }
            c = b + an / c; if abs(c) < 1e-300 { c = 1e-300 }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return exp(-x + a * log(x) - lnGammaA) * h
    }
}
