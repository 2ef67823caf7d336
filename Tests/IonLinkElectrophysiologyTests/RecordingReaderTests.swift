import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

/// Fixtures made by tools/make_recording_fixtures.py from three golden traces (theta1, theta2, prior_19).
@Suite struct RecordingReaderTests {
    static let fixtures = Golden.repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures"

    static func rows(_ name: String) throws -> [[Double]] {
        let array = try NPYArray.read(fixtures + "/" + name)
        let n = array.shape[1]
        return (0..<array.shape[0]).map { Array(array.values[$0 * n ..< ($0 + 1) * n]) }
    }

    @Test("NWB: three CurrentClampSeries with their stimuli, in mV and pA, steps found from the stimulus")
    func nwb() throws {
        let recording = try Recording.read(Self.fixtures + "/sweeps.nwb")
        let golden = try Golden.traces(float32: true)
        #expect(recording.sweeps.map(\.number) == [0, 1, 2])
        for (sweep, row) in zip(recording.sweeps, [0, 1, 28]) {
            #expect(sweep.samplingRate.rounded() == 25_000)
            #expect(sweep.voltage.count == 20_000)
            #expect(zip(sweep.voltage, golden[row]).map { abs($0 - $1) }.max()! < 1e-4)
            #expect(sweep.steps.count == 1)
            #expect(abs(sweep.steps[0].start - 0.1) < 1e-9 && abs(sweep.steps[0].end - 0.7) < 1e-9)
            #expect(abs(sweep.steps[0].amplitude - 300) < 1e-3)
            #expect(sweep.label == "step_300pA")
        }
        let counts = recording.sweeps.flatMap { SweepAnalysis.analyse($0, file: "x") }.map(\.spikeCount)
        #expect(counts == [20, 16, 0])
    }

    @Test("An HDF5 file written for newer HDF5 versions gets a clear message")
    func newerHDF5() {
        #expect { try Recording.read(Self.fixtures + "/latest.nwb") } throws: { error in
            let text = "\(error)"
            return text.contains("latest.nwb") && text.contains("newer HDF5")
        }
    }

    @Test("ABF2: voltages, measured current and the epoch-table command as pyABF reads them")
    func abf2() throws {
        let recording = try Recording.read(Self.fixtures + "/sweeps_abf2.abf")
        let voltage = try Self.rows("abf2_expected_voltage.npy"), current = try Self.rows("abf2_expected_current.npy")
        #expect(recording.sweeps.count == 3)
        for (s, sweep) in recording.sweeps.enumerated() {
            #expect(abs(sweep.samplingRate - 25_000) < 1e-6)
            // pyABF keeps float32 values; IonLink scales in double precision.
            #expect(zip(sweep.voltage, voltage[s]).map { abs($0 - $1) / max(1, abs($1)) }.max()! < 1e-6)
            #expect(zip(sweep.current!, current[s]).map { abs($0 - $1) / max(1, abs($1)) }.max()! < 1e-6)
            // Epochs: 300 pA from 100 to 700 ms, then −20 − 10·sweep pA for 50 ms.
            #expect(sweep.steps.count == 2)
            #expect(abs(sweep.steps[0].start - 0.1) < 1e-12 && abs(sweep.steps[0].end - 0.7) < 1e-12)
            #expect(sweep.steps[0].amplitude == 300)
            #expect(sweep.steps[1].amplitude == -20 - 10 * Double(s))
        }
    }

    @Test("ABF1 (pyABF's writer): the mV channel as pyABF reads it; the step from the command line")
    func abf1() throws {
        let hints = Recording.Hints(stepStartMs: 100, stepEndMs: 700, stepAmplitudes: [300, 300, 300])
        let recording = try Recording.read(Self.fixtures + "/sweeps_abf1.abf", hints: hints)
        let voltage = try Self.rows("abf1_expected_voltage.npy")
        #expect(recording.sweeps.count == 3)
        for (s, sweep) in recording.sweeps.enumerated() {
            #expect(abs(sweep.samplingRate - 25_000) < 1e-6)
            #expect(zip(sweep.voltage, voltage[s]).map { abs($0 - $1) / max(1, abs($1)) }.max()! < 1e-6)
            #expect(sweep.steps == [CurrentStep(start: 0.1, end: 0.7, amplitude: 300)])
        }
    }

    @Test("CSV and NPY recordings with and without sidecars; errors say what is missing")
    func delimitedAndNPY() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let golden = try Golden.traces()
        try NPYWriter.write(golden[0] + golden[1], shape: [2, 20_000], element: .float32, to: folder + "/cell.npy")
        #expect { try Recording.read(folder + "/cell.npy") } throws: { "\($0)".contains("--dt-ms") }
        let hints = Recording.Hints(dtMs: 0.04, stepStartMs: 100, stepEndMs: 700, stepAmplitudes: [300, 300])
        let npy = try Recording.read(folder + "/cell.npy", hints: hints)
        #expect(npy.sweeps.count == 2 && npy.sweeps[0].steps[0] == CurrentStep(start: 0.1, end: 0.7, amplitude: 300))
        // CSV with a time column in ms and no step information anywhere.
        var text = "t_ms,V_mV\n"
        for k in 0..<2000 { text += "\(Double(k) * 0.04),\(golden[0][k])\n" }
        try text.write(toFile: folder + "/a.csv", atomically: true, encoding: .utf8)
        #expect { try Recording.read(folder + "/a.csv") } throws: { "\($0)".contains("--step-start-ms") }
        // The same with a sidecar.
        try #"{"sweeps": [{"step_on_s": 0.01, "step_off_s": 0.05, "step_amplitude_pA": 50}]}"#
            .write(toFile: folder + "/a.json", atomically: true, encoding: .utf8)
        let csv = try Recording.read(folder + "/a.csv")
        #expect(csv.sweeps[0].steps == [CurrentStep(start: 0.01, end: 0.05, amplitude: 50)])
        #expect(abs(csv.sweeps[0].time[1] - 4e-5) < 1e-15)
        try "x,y\n1,2\n".write(toFile: folder + "/b.csv", atomically: true, encoding: .utf8)
        #expect { try Recording.read(folder + "/b.csv") } throws: { "\($0)".contains("voltage columns") }
        #expect { try Recording.read(folder + "/c.txt") } throws: { "\($0)".contains("unknown recording format") }
    }

    @Test("An NWB sweep_number beyond Int (found by FuzzNWB; it trapped converting it) is no sweep number, not a crash")
    func hugeSweepNumber() throws {
        let path = Self.fixtures + "/fuzz_crash_sweep_number.nwb"
        do { _ = try Recording.read(path) } catch let error as InputError { #expect("\(error)".contains("fuzz_crash_sweep_number.nwb")) }
    }

    @Test("An ABF2 header with a negative section count (found by FuzzABF; it trapped) is an error naming the header byte")
    func negativeSectionCount() {
        let path = Self.fixtures + "/fuzz_crash_section_count.abf"
        #expect { _ = try Recording.read(path) } throws: { error in
            let text = "\(error)"
            return error is InputError && text.contains("fuzz_crash_section_count.abf") && text.contains("section count") && text.contains("header byte")
        }
    }

    /// Random and truncated variants of every binary fixture: each read ends in a result or an InputError,
    /// never a crash or a hang.
    @Test("Fuzz: truncated and corrupted ABF, NWB and NPY files give errors, never crashes")
    func fuzz() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var generator = Xoshiro256(seed: 2026)
        var inputs = 0, errors = 0
        for name in ["sweeps_abf2.abf", "sweeps_abf1.abf", "sweeps.nwb", "abf1_expected_voltage.npy"] {
            let original = try #require(FileManager.default.contents(atPath: Self.fixtures + "/" + name))
            let ext = URL(fileURLWithPath: name).pathExtension
            for trial in 0..<40 {
                var bytes = original
                switch trial % 4 {
                case 0: bytes = bytes.prefix(Int(generator.next() % UInt64(bytes.count)))           // truncated
                case 1: for _ in 0..<20 { bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8.random(in: 0...255, using: &generator) }
                case 2: bytes.replaceSubrange(0..<min(2048, bytes.count), with: (0..<min(2048, bytes.count)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                default: bytes = Data((0..<Int(generator.next() % 4096)).map { _ in UInt8.random(in: 0...255, using: &generator) })
                }
                let path = folder + "/fuzz.\(ext)"
                _ = FileManager.default.createFile(atPath: path, contents: bytes)
                inputs += 1
                do {
                    _ = try Recording.read(path, hints: Recording.Hints(dtMs: 0.04, stepStartMs: 100, stepEndMs: 700))
                } catch is InputError {
                    errors += 1
                }
            }
        }
        #expect(inputs == 160)
        #expect(errors >= 100, "\(errors) of \(inputs) damaged inputs were rejected")
    }
}
