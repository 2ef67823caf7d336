import Foundation
import IonLinkCore

/// The JSON file beside a CSV or NPY recording that says what the numbers alone do not: sampling interval
/// and the current step of each sweep. Keys (all optional): `dt_s` or `dt_ms`; `sweeps`: a list with, per
/// sweep, `step_on_s`, `step_off_s`, `step_amplitude_pA` (or `step_start_ms`, `step_end_ms`) and a number
/// (`sweep_number` or `ibw_number`).
struct Sidecar {
    var dtMs: Double?
    var steps: [CurrentStep?] = []
    var numbers: [Int?] = []

    /// The sidecar for a data file: `NAME.json` beside `NAME.csv`, `NAME.npy` or `NAME.V_mV.npy`; nil if none.
    static func find(for path: String) throws -> Sidecar? {
        var base = path
        for suffix in [".csv", ".npy", ".CSV", ".NPY"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        for suffix in [".V_mV", "_V_mV"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        let candidate = base + ".json"
        guard FileManager.default.fileExists(atPath: candidate) else { return nil }
        return try read(candidate)
    }

    static func read(_ path: String) throws -> Sidecar {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw InputError(file: path, "expected a JSON object (the recording's sidecar)")
        }
        var sidecar = Sidecar()
        if let dt = root["dt_ms"] as? Double { sidecar.dtMs = dt } else if let dt = root["dt_s"] as? Double { sidecar.dtMs = dt * 1e3 }
        if let dt = sidecar.dtMs, !(dt > 0) { throw InputError(file: path, location: "dt", "expected a positive sampling interval, found \(dt)") }
        if let sweeps = root["sweeps"] as? [[String: Any]] {
            for (i, sweep) in sweeps.enumerated() {
                let on = (sweep["step_on_s"] as? Double) ?? (sweep["step_start_ms"] as? Double).map { $0 / 1e3 }
                let off = (sweep["step_off_s"] as? Double) ?? (sweep["step_end_ms"] as? Double).map { $0 / 1e3 }
                let amplitude = (sweep["step_amplitude_pA"] as? Double) ?? (sweep["step_pA"] as? Double)
                if let on, let off {
                    guard off > on else { throw InputError(file: path, location: "sweeps[\(i)]", "step ends (\(off) s) before it starts (\(on) s)") }
                    sidecar.steps.append(CurrentStep(start: on, end: off, amplitude: amplitude ?? .nan))
                } else {
                    sidecar.steps.append(nil)
                }
                sidecar.numbers.append((sweep["sweep_number"] as? Int) ?? (sweep["ibw_number"] as? Int))
            }
        }
        return sidecar
    }
}

extension Recording.Hints {
    /// The step of sweep `index` from the command line, if given there.
    func step(index: Int) -> CurrentStep? {
        guard let start = stepStartMs, let end = stepEndMs else { return nil }
        let amplitude = stepAmplitudes.flatMap { index < $0.count ? $0[index] : nil } ?? .nan
        return CurrentStep(start: start / 1e3, end: end / 1e3, amplitude: amplitude)
    }
}

/// Builds the sweeps of a CSV/NPY recording from its matrices and whatever sidecar/hints say.
enum SweepAssembler {
    static func sweeps(file: String, voltages: [[Double]], currents: [[Double]?], numbers: [Int?], time: [Double],
                       hints: Recording.Hints, sidecar: Sidecar?) throws -> [Sweep] {
        var result: [Sweep] = []
        for (i, voltage) in voltages.enumerated() {
            let current = i < currents.count ? currents[i] : nil
            var steps: [CurrentStep] = []
            if let step = hints.step(index: i) {
                steps = [step]
            } else if let sidecar, i < sidecar.steps.count, let step = sidecar.steps[i] {
                steps = [step]
            } else if let current {
                steps = StepFinder.steps(current: current, time: time)
            }
            if steps.isEmpty {
                throw InputError(file: file, location: "sweep \(i)",
                                 "cannot tell when the current step is: give --step-start-ms and --step-end-ms, a current column/array, or a sidecar JSON with step_on_s/step_off_s")
            }
            if let amplitudes = hints.stepAmplitudes, i < amplitudes.count, hints.step(index: i) == nil {
                steps[0].amplitude = amplitudes[i]
            } else if steps[0].amplitude.isNaN, let current {
                // Amplitude from the current inside the window, relative to the level before the step.
                let before = zip(time, current).filter { $0.0 < steps[0].start }.map(\.1)
                let inside = zip(time, current).filter { $0.0 >= steps[0].start && $0.0 < steps[0].end }.map(\.1)
                if !before.isEmpty && !inside.isEmpty {
                    steps[0].amplitude = inside.sorted()[inside.count / 2] - before.sorted()[before.count / 2]
                }
            }
            let number = (i < numbers.count ? numbers[i] : nil) ?? (sidecar.flatMap { i < $0.numbers.count ? $0.numbers[i] : nil }) ?? i
            result.append(Sweep(number: number, time: time, voltage: voltage, current: current, steps: steps))
        }
        return result
    }
}
