import Foundation
import IonLinkCore
import Testing

@Suite("Two-sample Kolmogorov–Smirnov test")
struct KolmogorovSmirnovTests {
    /// Two deterministic samples of 500 and 400 values; the references are SciPy 1.17's `ks_2samp(a, b).statistic` and
    /// `kstwobign.sf((√nₑ + 0.12 + 0.11/√nₑ)·D)`.
    static let a = (0..<500).map { (Double($0) * 0.37).truncatingRemainder(dividingBy: 1) }
    static let b = (0..<400).map { 0.05 + pow((Double($0) * 0.61).truncatingRemainder(dividingBy: 1), 1.2) }

    @Test("Statistic and p-value equal SciPy's on continuous samples")
    func continuousSamples() {
        let result = KolmogorovSmirnov.twoSample(Self.a, Self.b)
        #expect(abs(result.statistic - 0.054) < 1e-12)
        #expect(abs(result.pValue - 0.5249675913819287) < 1e-9)
    }

    @Test("Ties (values rounded to 0.1) count as SciPy counts them")
    func tiedSamples() {
        let round = { (x: Double) in (x * 10).rounded(.toNearestOrEven) / 10 }
        let result = KolmogorovSmirnov.twoSample(Self.a.map(round), Self.b.map(round))
        #expect(abs(result.statistic - 0.044) < 1e-12)
        #expect(abs(result.pValue - 0.7739608881772764) < 1e-9)
    }

    @Test("Kolmogorov's survival function at known points; identical and disjoint samples; NaN dropped")
    func limits() {
        #expect(abs(KolmogorovSmirnov.kolmogorovSurvival(0.5) - 0.9639452436648751) < 1e-12)
        #expect(abs(KolmogorovSmirnov.kolmogorovSurvival(1.36) - 0.049485876755377876) < 1e-12)
        let same = KolmogorovSmirnov.twoSample(Self.a, Self.a + [.nan])
        #expect(same.statistic == 0 && same.pValue == 1)
        let apart = KolmogorovSmirnov.twoSample(Self.a, Self.a.map { $0 + 2 })
        #expect(apart.statistic == 1 && apart.pValue < 1e-100)
        #expect(KolmogorovSmirnov.twoSample([], Self.a).statistic.isNaN)
    }
}
