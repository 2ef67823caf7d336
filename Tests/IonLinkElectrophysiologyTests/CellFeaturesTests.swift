import Foundation
import IonLinkElectrophysiology
import Testing

/// Cell-level features on synthetic sweeps whose answers are known by construction: a passive membrane of 200 MΩ and
/// τ = 20 ms (with a chosen sag), and depolarising steps with spikes placed at known rates.
@Suite struct CellFeaturesTests {
    static let rate = 25_000.0, start = 0.1, end = 0.7, rest = -70.0
    static var time: [Double] { (0..<25_000).map { Double($0) / rate } }

    /// A hyperpolarising step of `pA` through 200 MΩ with τ = 20 ms; with `sag`, V relaxes linearly back by that fraction
    /// of the deflection after 100 ms.
    static func passive(_ pA: Double, sag: Double = 0) -> Sweep {
        let deflection = 200 * pA / 1000   // mV
        let voltage = time.map { t -> Double in
            guard t >= start else { return rest }
            if t >= end { return rest + deflection * (1 - sag) * exp(-(t - end) / 0.02) }
            let charging = deflection * (1 - exp(-(t - start) / 0.02))
            let relaxation = t < start + 0.1 ? 0 : -deflection * sag * min(1, (t - start - 0.1) / 0.1)
            return rest + charging + relaxation
        }
        return sweep(pA, voltage)
    }

    /// A depolarising step of `pA` whose membrane sits at −55 mV and fires `count` spikes evenly over the step.
    static func spiking(_ pA: Double, count: Int) -> Sweep {
        var voltage = time.map { $0 >= start && $0 < end ? -55.0 : rest }
        for k in 0..<count {
            let onset = Int(((start + 0.01 + Double(k) * (end - start - 0.02) / Double(count)) * rate).rounded())
            // Rise −55 → +30 mV in 0.4 ms, fall to −65 mV in 1.2 ms, recover to −55 mV in 4 ms.
            for i in 0..<10 { voltage[onset + i] = -55 + 85 * Double(i + 1) / 10 }
            for i in 0..<30 { voltage[onset + 10 + i] = 30 - 95 * Double(i + 1) / 30 }
            for i in 0..<100 { voltage[onset + 40 + i] = -65 + 10 * Double(i + 1) / 100 }
        }
        return sweep(pA, voltage)
    }

    static func sweep(_ pA: Double, _ voltage: [Double]) -> Sweep {
        let current = time.map { $0 >= start && $0 < end ? pA : 0 }
        return Sweep(number: Int(pA), time: time, voltage: voltage, current: current,
                     steps: [CurrentStep(start: start, end: end, amplitude: pA)])
    }

    static func cell(_ sweeps: [Sweep]) -> CellFeatures {
        CellFeatures.compute(file: "synthetic.nwb", analyses: sweeps.flatMap { SweepAnalysis.analyse($0, file: "synthetic.nwb") })
    }

    @Test("Input resistance and τ of a passive membrane: 200 MΩ and 20 ms; no sag without relaxation")
    func passiveMembrane() {
        let features = Self.cell([Self.passive(-100), Self.passive(-50)])
        #expect(abs(features.inputResistance - 200) < 2, "R_in \(features.inputResistance) MΩ")
        #expect(abs(features.tau - 20) < 1, "τ \(features.tau) ms")
        #expect(abs(features.sagRatio) < 0.02, "sag \(features.sagRatio)")
        #expect(features.rheobase.isNaN && features.sweepCount == 2)
    }

    @Test("Sag ratio: a deflection that relaxes back by a quarter gives 0.25")
    func sag() {
        let features = Self.cell([Self.passive(-100, sag: 0.25), Self.passive(-50, sag: 0.25)])
        #expect(abs(features.sagRatio - 0.25) < 0.02, "sag \(features.sagRatio)")
    }

    @Test("Rheobase, f–I slope and maximum rate from spikes placed at known rates")
    func firing() {
        let sweeps = [Self.spiking(100, count: 0), Self.spiking(150, count: 5), Self.spiking(200, count: 10), Self.spiking(250, count: 15)]
        let analyses = sweeps.flatMap { SweepAnalysis.analyse($0, file: "synthetic.nwb") }
        #expect(analyses.map(\.spikeCount) == [0, 5, 10, 15])
        let features = CellFeatures.compute(file: "synthetic.nwb", analyses: analyses)
        #expect(features.rheobase == 150)
        // 5 more spikes per 50 pA over 0.6 s: 1/6 Hz per pA.
        #expect(abs(features.fiSlope - 1.0 / 6) < 1e-9, "f–I slope \(features.fiSlope)")
        #expect(abs(features.maxRate - 25) < 1e-9)
        #expect(abs(features.firstSpikeAmplitude - 85) < 5, "amplitude \(features.firstSpikeAmplitude)")
        #expect(features.firstSpikeThreshold > -56 && features.firstSpikeThreshold < -45, "threshold \(features.firstSpikeThreshold)")
    }
}
