import IonLinkCore
import Testing

@Suite struct CorrelationTests {
    @Test("Pearson's correlation: ±1 for exact lines, a known value, NaN for a constant sample")
    func pearson() {
        #expect(abs(pearsonCorrelation([1, 2, 3, 4], [3, 5, 7, 9]) - 1) < 1e-15)
        #expect(abs(pearsonCorrelation([1, 2, 3, 4], [4, 3, 2, 1]) + 1) < 1e-15)
        // x = 1…5, y = (2, 1, 4, 3, 5): Σdxdy = 8, Σdx² = Σdy² = 10 → r = 0.8.
        #expect(abs(pearsonCorrelation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) - 0.8) < 1e-15)
        #expect(pearsonCorrelation([1, 2, 3], [2, 2, 2]).isNaN)
        #expect(pearsonCorrelation([], []).isNaN)
    }
}
