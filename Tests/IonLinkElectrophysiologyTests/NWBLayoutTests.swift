import Foundation
import IonLinkCore
@testable import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

/// Fixtures made by tools/make_nwb_layout_fixtures.py: golden traces theta1 and theta2 (first 800 ms, 300 pA from
/// 100 to 700 ms) in each NWB layout found on DANDI.
@Suite struct NWBLayoutTests {
    static let folder = Golden.repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/layouts"

    /// The golden traces as recorded sweeps, and their 23 features with the observed-data rest window.
    static func reference() throws -> [(voltage: [Double], features: [Double])] {
        let golden = try Golden.traces(float32: true)
        return [0, 1].map { row in
            let voltage = Array(golden[row].prefix(20_000))
            let time = (0..<voltage.count).map { Double($0) / 25_000 }
            let current = (0..<voltage.count).map { $0 >= 2500 && $0 < 17_500 ? 300.0 : 0 }
            let sweep = Sweep(number: row, time: time, voltage: voltage, current: current,
                              steps: [CurrentStep(start: 0.1, end: 0.7, amplitude: 300)])
            return (voltage, features(sweep))
        }
    }

    static func features(_ sweep: Sweep) -> [Double] {
        CellFeatures.compute(file: "x", analyses: SweepAnalysis.analyse(sweep, file: "x")).paperFeatures
    }

    /// Sweeps with a 300 pA step, compared with the golden traces: voltages, the step, and the 23 features (≤ 1e-3).
    func expectGolden(_ sweeps: [Sweep], file: String) throws {
        let reference = try Self.reference()
        #expect(sweeps.count == 2, "\(file): \(sweeps.count) stepped sweeps")
        for (sweep, golden) in zip(sweeps, reference) {
            #expect(sweep.samplingRate.rounded() == 25_000)
            #expect(zip(sweep.voltage, golden.voltage).map { abs($0 - $1) }.max()! < 1e-4, "\(file) sweep \(sweep.number): voltage")
            #expect(sweep.steps.count == 1 && abs(sweep.steps[0].amplitude - 300) < 1e-3, "\(file) sweep \(sweep.number): steps \(sweep.steps)")
            let features = Self.features(sweep)
            #expect(features.filter(\.isFinite).count == 23)
            for (a, b) in zip(features, golden.features) {
                #expect(abs(a - b) <= 1e-3 * max(1, abs(b)), "\(file) sweep \(sweep.number): feature \(a) vs golden \(b)")
            }
        }
    }

    @Test("DANDI 000008 layout: mV under \"volts\" and pA under \"amperes\" are read as mV and pA, and said once per file")
    func dandi000008() throws {
        let recording = try Recording.read(Self.folder + "/dandi000008.nwb")
        #expect(recording.sweeps.map(\.number) == [0, 1, 2])
        // The 0 pA IZeroClampSeries has no stimulus, hence no step.
        #expect(recording.sweeps[0].current == nil && recording.sweeps[0].steps.isEmpty)
        #expect(abs(recording.sweeps[0].voltage[0] - (try Self.reference())[0].voltage[0]) < 1e-9)
        try expectGolden(Array(recording.sweeps.dropFirst()), file: "dandi000008.nwb")
        #expect(recording.notes.count == 2, "\(recording.notes)")
        #expect(recording.notes.contains { $0.contains("membrane potentials") && $0.contains("\"volts\"") && $0.contains("millivolts") })
        #expect(recording.notes.contains { $0.contains("currents") && $0.contains("\"amperes\"") && $0.contains("picoamperes") })
        // The override: stored reads the same; si follows the unit attribute into nonsense, as IonLink once did.
        let stored = try Recording.read(Self.folder + "/dandi000008.nwb", hints: Recording.Hints(nwbUnits: .stored))
        #expect(stored.notes.isEmpty && stored.sweeps[1].voltage == recording.sweeps[1].voltage)
        let si = try Recording.read(Self.folder + "/dandi000008.nwb", hints: Recording.Hints(nwbUnits: .si))
        #expect(si.notes.isEmpty && si.sweeps[1].voltage[0] < -10_000)
    }

    @Test("SI-correct files (mV with conversion 1e-3, pA with 1e-12) read the same under auto and si, silently")
    func conversion() throws {
        let auto = try Recording.read(Self.folder + "/conversion.nwb")
        #expect(auto.notes.isEmpty, "\(auto.notes)")
        try expectGolden(auto.sweeps, file: "conversion.nwb")
        let si = try Recording.read(Self.folder + "/conversion.nwb", hints: Recording.Hints(nwbUnits: .si))
        #expect(si.sweeps.map(\.voltage) == auto.sweeps.map(\.voltage))
    }

    @Test("NWB ≥ 2.4 icephys tables: responses paired with their stimuli without sweep numbers")
    func icephysTables() throws {
        let recording = try Recording.read(Self.folder + "/icephys.nwb")
        #expect(recording.notes.isEmpty, "\(recording.notes)")
        try expectGolden(recording.sweeps, file: "icephys.nwb")
        #expect(recording.sweeps.allSatisfy { $0.label == "square" }, "the sequential recording's stimulus type")
    }

    @Test("NWB ≥ 2.4 icephys tables are the pairing: a response named before the other but whose stimulus comes after gets its own")
    func icephysCrossed() throws {
        let recording = try Recording.read(Self.folder + "/icephys_crossed.nwb")
        #expect(recording.sweeps.count == 2)
        let (first, second) = (recording.sweeps[0], recording.sweeps[1])
        // response_a holds the golden spiking trace under its 300 pA stimulus (named stimulus_z, listed last).
        #expect(first.steps.count == 1 && abs(first.steps[0].amplitude - 300) < 1e-3, "\(first.steps)")
        #expect(second.steps.isEmpty && second.current?.allSatisfy { $0 == 0 } == true)
        let golden = try Self.reference()[0]
        for (a, b) in zip(Self.features(first), golden.features) { #expect(abs(a - b) <= 1e-3 * max(1, abs(b))) }
        #expect(recording.sweeps.allSatisfy { $0.label == "long square" })
    }

    @Test("Allen/MIES: AD0/DA0 pairs by name, the voltage-clamp sweep skipped, the aborted sweep skipped with a note")
    func mies() throws {
        let recording = try Recording.read(Self.folder + "/mies.nwb")
        #expect(recording.sweeps.map(\.number) == [0, 2])
        #expect(recording.sweeps.allSatisfy { $0.label == "C1LSCOARSE150216_DA_0" })
        #expect(recording.notes.count == 1 && recording.notes[0].contains("data_00003_AD0") && recording.notes[0].contains("aborted"))
        try expectGolden(recording.sweeps, file: "mies.nwb")
    }

    @Test("The unit heuristic keeps plausible values and corrects only implausible ones")
    func plausibleUnits() {
        func scale(_ values: [Double], _ quantity: NWBReader.Quantity, stated: Double) -> Double {
            NWBReader.plausibleScale(values, quantity: quantity, stated: stated)
        }
        #expect(scale([-0.065, -0.070, 0.02], .voltage, stated: 1e3) == 1e3)   // volts, as stated
        #expect(scale([-65, -70, 20], .voltage, stated: 1e3) == 1)             // "volts", but millivolts
        #expect(scale([-65, -70, 20], .voltage, stated: 1) == 1)               // millivolts, as stated
        #expect(scale([-0.065, -0.070], .voltage, stated: 1) == 1e3)           // "millivolts", but volts
        #expect(scale([0, 0, 0], .voltage, stated: 1e3) == 1e3)                // zeros say nothing
        #expect(scale([0, 3e-10, -1e-10], .current, stated: 1e12) == 1e12)    // amperes, as stated
        #expect(scale([0, 300, -50], .current, stated: 1e12) == 1)             // "amperes", but picoamperes
        #expect(scale([0, 3e-10], .current, stated: 1) == 1e12)                // "picoamperes", but amperes
        #expect(scale([0, 0], .current, stated: 1e12) == 1e12)
    }

    @Test("A recording with an undefined sample says so for that sweep")
    func undefinedSamples() throws {
        let path = NSTemporaryDirectory() + "ionlink-nan-\(UUID().uuidString).csv"
        defer { unlink(path) }
        var text = "t_ms,V_mV\n"
        for k in 0..<200 { text += "\(Double(k) * 0.04),\(k == 50 ? "NaN" : "-70")\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let recording = try Recording.read(path, hints: Recording.Hints(stepStartMs: 1, stepEndMs: 6))
        #expect(recording.notes.count == 1 && recording.notes[0].contains("1 undefined voltage sample"), "\(recording.notes)")
    }
}
