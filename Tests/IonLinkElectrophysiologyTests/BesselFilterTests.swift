@testable import IonLinkElectrophysiology
import Testing

@Suite struct BesselFilterTests {
    /// `scipy.signal.bessel(4, wn, 'low')` and `lfilter_zi` (SciPy 1.17.1).
    static let reference: [(wn: Double, b: [Double], a: [Double], zi: [Double])] = [
        (0.8, [0.38138399151799374, 1.525535966071975, 2.2883039491079624, 1.525535966071975, 0.38138399151799374],
         [1.0, 2.2201468813840997, 1.9601676844568536, 0.7969189685131353, 0.12491032993380484],
         [0.6186160084820073, 1.3132269237941343, 0.9850906591430276, 0.2564736615841888]),
        (0.75, [0.3002234028291162, 1.2008936113164648, 1.8013404169746972, 1.2008936113164648, 0.3002234028291162],
         [1.0, 1.8283888067551346, 1.4019477228529087, 0.5026964013007558, 0.07054151435705268],
         [0.6997765971708854, 1.327271792609558, 0.9278790984877717, 0.2296818884720634]),
        (0.4, [0.039277641267493425, 0.1571105650699737, 0.23566584760496057, 0.1571105650699737, 0.039277641267493425],
         [1.0, -0.7005030554063658, 0.4278977562758012, -0.11296969427337678, 0.014017253683834972],
         [0.9607223587325084, 0.10310873825616768, 0.2953406469270091, 0.02526038758365842]),
        (0.95, [0.780827126488694, 3.123308505954776, 4.684962758932164, 3.123308505954776, 0.780827126488694],
         [1.0, 3.5142395212350865, 4.642663814007806, 2.732137838439175, 0.6041928501370164],
         [0.21917287351130765, 0.610103888791624, 0.5678049438672734, 0.1766342763516767]),
    ]

    /// NumPy computes tan with its own SIMD routine, which differs from glibc by an ulp for some inputs
    /// (e.g. Wn = 0.8); the coefficients therefore agree to a few ulp, not bit for bit.
    @Test("Coefficients and initial state equal SciPy's to a few ulp", arguments: 0..<4)
    func design(case index: Int) {
        let r = Self.reference[index]
        let filter = BesselFilter(normalizedCutoff: r.wn)
        for (x, y) in zip(filter.b, r.b) { #expect(abs(x - y) <= 1e-15 * abs(y), "b \(x) vs \(y)") }
        for (x, y) in zip(filter.a, r.a) { #expect(abs(x - y) <= 1e-15 * abs(y), "a \(x) vs \(y)") }
        for (x, y) in zip(filter.zi, r.zi) { #expect(abs(x - y) <= 1e-15 * abs(y), "zi \(x) vs \(y)") }
    }

    @Test("The filtered derivative of a ramp is its slope; a Nyquist oscillation is removed")
    func behaviour() {
        let time = Trace.uniformTime(count: 400, dtMs: 0.1)
        let ramp = (0..<400).map { -65 + 0.5 * Double($0) } // 0.5 mV per 0.1 ms = 5 V/s
        let slope = SpikeDetector.derivative(ramp[...], time: time[...], filterKHz: 2)
        #expect(slope.count == 399)
        #expect(slope[50..<350].allSatisfy { abs($0 - 5) < 1e-9 }) // away from the edge transients
        let alternating = (0..<400).map { $0 % 2 == 0 ? 1.0 : -1.0 }
        let flat = SpikeDetector.derivative(alternating[...], time: time[...], filterKHz: 2)
        #expect(flat[100..<300].allSatisfy { abs($0) < 1e-6 })
    }
}
