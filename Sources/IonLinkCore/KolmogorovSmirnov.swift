import Foundation

/// The two-sample Kolmogorov–Smirnov test: whether two samples come from one continuous distribution.
public enum KolmogorovSmirnov {
    /// D, the largest distance between the two empirical CDFs (SciPy's `ks_2samp` statistic, ties included), and
    /// its asymptotic p-value: Kolmogorov's limiting distribution at λ = (√nₑ + 0.12 + 0.11/√nₑ)·D, nₑ = n·m/(n + m)
    /// (Stephens' small-sample correction, as in Numerical Recipes). NaN values are dropped; an empty sample gives
    /// (NaN, NaN).
    public static func twoSample(_ a: [Double], _ b: [Double]) -> (statistic: Double, pValue: Double) {
        let x = a.filter { !$0.isNaN }.sorted(), y = b.filter { !$0.isNaN }.sorted()
        guard !x.isEmpty, !y.isEmpty else { return (.nan, .nan) }
        var i = 0, j = 0, d = 0.0
        let n = Double(x.count), m = Double(y.count)
        while i < x.count && j < y.count {
            let value = min(x[i], y[j])
            while i < x.count && x[i] == value { i += 1 }
            while j < y.count && y[j] == value { j += 1 }
            d = max(d, abs(Double(i) / n - Double(j) / m))
        }
        let effective = (n * m / (n + m)).squareRoot()
        return (d, kolmogorovSurvival((effective + 0.12 + 0.11 / effective) * d))
    }

    /// P(K > λ) for Kolmogorov's distribution: 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}.
    public static func kolmogorovSurvival(_ lambda: Double) -> Double {
        guard lambda > 0.2 else { return 1 }
        var sum = 0.0, sign = 1.0
        for k in 1...100 {
            let term = sign * 2 * Foundation.exp(-2 * Double(k * k) * lambda * lambda)
            sum += term
            if abs(term) < 1e-16 * max(sum, 1e-300) { break }
            sign = -sign
        }
        return min(1, max(0, sum))
    }
}
