import Foundation
import IonLinkCore

/// One sweep of a current-clamp recording. Units: s, mV, pA.
public struct Sweep: Sendable {
    /// The sweep's number in its file (as the acquisition software numbered it).
    public var number: Int
    /// Sample times, s (from the sweep's own start).
    public var time: [Double]
    /// Membrane potential, mV.
    public var voltage: [Double]
    /// Injected (command or measured) current, pA, if the file has it.
    public var current: [Double]?
    /// The current steps of the sweep: windows (s) and amplitudes (pA, relative to the holding current).
    public var steps: [CurrentStep]
    /// A label from the file (stimulus name, sweep label), for tables.
    public var label: String

    public init(number: Int, time: [Double], voltage: [Double], current: [Double]?, steps: [CurrentStep], label: String = "") {
        self.number = number
        self.time = time
        self.voltage = voltage
        self.current = current
        self.steps = steps
        self.label = label
    }

    /// Samples per second.
    public var samplingRate: Double { time.count > 1 ? 1 / (time[1] - time[0]) : 0 }
}

/// A constant current step within a sweep.
public struct CurrentStep: Sendable, Equatable {
    /// Onset and offset, s.
    public var start: Double
    public var end: Double
    /// Amplitude relative to the holding current, pA.
    public var amplitude: Double

    public init(start: Double, end: Double, amplitude: Double) {
        self.start = start; self.end = end; self.amplitude = amplitude
    }
}

/// The sweeps of one recorded cell (one file).
public struct Recording: Sendable {
    public var file: String
    public var sweeps: [Sweep]
    /// The file's own name for the session (NWB `session_id`), if it has one.
    public var sessionID: String?
    /// What the reader had to decide for itself (units that disagree with their data, skipped sweeps), in plain
    /// words, once each: for the user to see.
    public var notes: [String] = []

    public init(file: String, sweeps: [Sweep]) {
        self.file = file
        self.sweeps = sweeps
    }

    /// How to interpret files that do not say everything themselves (CSV, NPY).
    public struct Hints: Sendable {
        /// Sampling interval, ms (if the file has no time column).
        public var dtMs: Double?
        /// Step window, ms (if neither the file nor a sidecar gives it, and it cannot be found from the current).
        public var stepStartMs: Double?
        public var stepEndMs: Double?
        /// Step amplitude per sweep, pA (e.g. from the command line), if not in the file.
        public var stepAmplitudes: [Double]?
        /// How NWB values are scaled to mV and pA.
        public var nwbUnits: NWBUnits
        public init(dtMs: Double? = nil, stepStartMs: Double? = nil, stepEndMs: Double? = nil, stepAmplitudes: [Double]? = nil,
                    nwbUnits: NWBUnits = .auto) {
            self.dtMs = dtMs; self.stepStartMs = stepStartMs; self.stepEndMs = stepEndMs; self.stepAmplitudes = stepAmplitudes
            self.nwbUnits = nwbUnits
        }
    }

    /// Reads any supported file, chosen by extension: `.nwb`, `.abf`, `.csv`, `.npy`.
    /// Sweeps with undefined (NaN or infinite) voltage samples are kept and named in `notes`: their spike features
    /// may come out undefined.
    public static func read(_ path: String, hints: Hints = Hints()) throws -> Recording {
        var recording: Recording
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv": recording = try DelimitedTraceReader.read(path, hints: hints)
        case "npy": recording = try NPYTraceReader.read(path, hints: hints)
        case "abf": recording = try ABFReader.read(path, hints: hints)
        case "nwb", "h5", "hdf5":
            if let failure = CrashIsolation.check(path, kind: "nwb") { throw InputError(file: path, failure) }
            recording = try NWBReader.read(path, units: hints.nwbUnits)
        default:
            throw InputError(file: path, "unknown recording format; expected .nwb, .abf, .csv or .npy")
        }
        for sweep in recording.sweeps {
            let undefined = sweep.voltage.count { !$0.isFinite }
            if undefined > 0 {
                recording.notes.append("sweep \(sweep.number): \(undefined) undefined voltage sample(s) (NaN or infinite); its spike features may be undefined")
            }
        }
        return recording
    }
}

/// Finds current steps from a current waveform: runs where the current departs from the holding level
/// (median of the first 5% of samples) by more than half the largest departure, after 1 ms smoothing.
enum StepFinder {
    static func steps(current: [Double], time: [Double], minimumPA: Double = 5) -> [CurrentStep] {
        let n = current.count
        guard n > 10, time.count == n else { return [] }
        let head = current.prefix(max(1, n / 20)).sorted()
        let holding = head[head.count / 2]
        let dt = time[1] - time[0]
        let width = max(1, Int((1e-3 / dt).rounded()))
        var smoothed = [Double](repeating: 0, count: n)
        var sum = 0.0
        for i in 0..<n {
            sum += current[i] - holding
            if i >= width { sum -= current[i - width] - holding }
            smoothed[i] = sum / Double(min(i + 1, width))
        }
        guard let largest = smoothed.map(abs).max(), largest >= minimumPA else { return [] }
        let level = largest / 2
        var result: [CurrentStep] = []
        var i = 0
        while i < n {
            guard abs(smoothed[i]) > level else { i += 1; continue }
            let sign = smoothed[i] > 0
            var j = i
            while j < n && abs(smoothed[j]) > level && (smoothed[j] > 0) == sign { j += 1 }
            // The smoothing delays the onset by up to `width` samples: refine on the raw current.
            var onset = max(0, i - width)
            while onset < i && abs(current[onset] - holding) <= level { onset += 1 }
            var offset = max(onset + 1, j - width)
            while offset < j && abs(current[offset] - holding) > level { offset += 1 }
            let plateau = Array(current[onset..<offset]).sorted()
            // Rounded to 0.001 pA: float32 storage otherwise shows as 299.9999970665357 pA.
            let amplitude = plateau.isEmpty ? 0 : ((plateau[plateau.count / 2] - holding) * 1000).rounded() / 1000
            if offset - onset >= width { result.append(CurrentStep(start: time[onset], end: time[min(offset, n - 1)], amplitude: amplitude)) }
            i = j
        }
        return result
    }
}
