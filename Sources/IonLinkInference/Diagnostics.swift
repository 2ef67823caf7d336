import Foundation
import Glibc
import IonLinkCore

/// Calibration diagnostics of a posterior on held-out simulations (θ*, x*).
public enum Diagnostics {
    /// Simulation-based calibration (Talts et al. 2018): the rank of θ*ⱼ among L posterior samples for x*,
    /// per parameter; uniform ranks mean a calibrated posterior. `pValues` are χ² uniformity tests over
    /// 10 bins of the normalised ranks.
    public struct SBC: Sendable {
        /// cases × parameters, ranks in 0…L.
        public var ranks: [[Int]]
        public var pValues: [Double]
    }

    public static func simulationBasedCalibration(posterior: Posterior, theta: Matrix, x: Matrix, samplesPerCase: Int, seed: UInt64) -> SBC {
        var ranks: [[Int]] = []
        for i in 0..<theta.rows {
            let draws = posterior.sample(samplesPerCase, given: x.row(i), seed: seed, index: UInt64(i))
            guard draws.samples.rows == samplesPerCase else { continue }
            ranks.append((0..<theta.columns).map { j in draws.samples.column(j).filter { $0 < theta[i, j] }.count })
        }
        let bins = 10
        let pValues = (0..<theta.columns).map { j -> Double in
            var counts = [Double](repeating: 0, count: bins)
            for r in ranks { counts[min(bins - 1, r[j] * bins / (samplesPerCase + 1))] += 1 }
            let expected = Double(ranks.count) / Double(bins)
            let chi2 = counts.reduce(0) { $0 + ($1 - expected) * ($1 - expected) / expected }
            return chiSquareSurvival(chi2, degreesOfFreedom: bins - 1)
        }
        return SBC(ranks: ranks, pValues: pValues)
    }

    /// Expected coverage of highest-density regions: for each level, the fraction of cases whose θ* lies in
    /// the posterior's level-HDR (its log-prob above the (1 − level) quantile of the samples' log-probs).
    public static func expectedCoverage(posterior: Posterior, theta: Matrix, x: Matrix, levels: [Double], samplesPerCase: Int, seed: UInt64) -> [Double] {
        var inside = [Double](repeating: 0, count: levels.count)
        var cases = 0
        for i in 0..<theta.rows {
            let draws = posterior.sample(samplesPerCase, given: x.row(i), seed: seed, index: UInt64(i))
            guard !draws.logProbs.isEmpty else { continue }
            cases += 1
            let truth = posterior.logProbability(Matrix(rows: 1, columns: theta.columns, values: theta.row(i)),
                                                      given: Matrix(rows: 1, columns: x.columns, values: x.row(i)))[0]
            let sorted = draws.logProbs.sorted()
            for (k, level) in levels.enumerated() {
                let threshold = sorted[min(sorted.count - 1, Int((1 - level) * Double(sorted.count)))]
                let corrected = truth - (draws.acceptance > 0 ? log(draws.acceptance) : 0)
                if corrected >= threshold { inside[k] += 1 }
            }
        }
        return inside.map { $0 / Double(max(cases, 1)) }
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
