import Foundation
import IonLinkCore

/// A recording protocol: a piecewise-constant injected current on a fixed time grid, plus current noise.
///
/// Outside its steps the current is 0 pA. Sample k of a trace is V(k·dt), k = 0 … samples−1, and the
/// step from k to k+1 uses the current at t_k (the convention of Brian2 and of the golden traces).
public struct StimulusProtocol: Codable, Equatable, Sendable {
    /// The current during a step: a fixed value in pA, or the neuron's amplitude parameter `I`.
    public enum Current: Equatable, Sendable, Codable {
        case picoamperes(Double)
        case amplitudeParameter

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let value = try? c.decode(Double.self) { self = .picoamperes(value); return }
            let text = try c.decode(String.self)
            guard text == "I" else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a number of pA or \"I\" (the amplitude parameter), found \"\(text)\"")
            }
            self = .amplitudeParameter
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .picoamperes(let v): try c.encode(v)
            case .amplitudeParameter: try c.encode("I")
            }
        }
    }

    /// A step of current from `fromMs` (inclusive) to `toMs` (exclusive).
    public struct Step: Codable, Equatable, Sendable {
        public var fromMs: Double
        public var toMs: Double
        public var current: Current
        enum CodingKeys: String, CodingKey { case fromMs = "from_ms", toMs = "to_ms", current = "current_pa" }
        public init(fromMs: Double, toMs: Double, current: Current) {
            self.fromMs = fromMs; self.toMs = toMs; self.current = current
        }
    }

    /// Integration step, ms.
    public var dtMs: Double
    /// Simulated time, ms.
    public var durationMs: Double
    /// Current steps, non-overlapping.
    public var steps: [Step]
    /// SD of the Gaussian current noise drawn once per time step, pA (not scaled with dt, as in the paper).
    public var noisePA: Double

    enum CodingKeys: String, CodingKey {
        case dtMs = "dt_ms", durationMs = "duration_ms", steps, noisePA = "noise_pa"
    }

    public init(dtMs: Double, durationMs: Double, steps: [Step], noisePA: Double) {
        self.dtMs = dtMs; self.durationMs = durationMs; self.steps = steps; self.noisePA = noisePA
    }

    /// The paper's M1 protocol: 300 pA from 100 to 700 ms, 800 ms, dt 0.04 ms, 10 pA noise.
    public static let paperM1 = StimulusProtocol(
        dtMs: 0.04, durationMs: 800, steps: [Step(fromMs: 100, toMs: 700, current: .picoamperes(300))], noisePA: 10)

    /// The paper's V1 protocol: a step of amplitude I from 100 to 1100 ms, 1200 ms, dt 0.04 ms, 10 pA noise.
    public static let paperV1 = StimulusProtocol(
        dtMs: 0.04, durationMs: 1200, steps: [Step(fromMs: 100, toMs: 1100, current: .amplitudeParameter)], noisePA: 10)

    /// Number of recorded samples (= integration steps): round(duration / dt).
    public var sampleCount: Int { Int((durationMs / dtMs).rounded()) }

    /// The first sample index k with k·dt ≥ t (to within 1e-9 of a step).
    public func sampleIndex(atMs t: Double) -> Int {
        Int((t / dtMs - 1e-9).rounded(.up))
    }

    /// Whether any step uses the amplitude parameter `I`.
    public var usesAmplitude: Bool { steps.contains { $0.current == .amplitudeParameter } }

    /// The current on the sample grid as segments: (end sample exclusive, fixed pA, amplitude factor).
    public var segments: [(end: Int, fixedPA: Double, amplitudeScale: Double)] {
        var result: [(end: Int, fixedPA: Double, amplitudeScale: Double)] = []
        var position = 0
        let n = sampleCount
        for step in steps.sorted(by: { $0.fromMs < $1.fromMs }) {
            let from = min(n, max(position, sampleIndex(atMs: step.fromMs)))
            let to = min(n, max(from, sampleIndex(atMs: step.toMs)))
            if from > position { result.append((from, 0, 0)) }
            if to > from {
                switch step.current {
                case .picoamperes(let pA): result.append((to, pA, 0))
                case .amplitudeParameter: result.append((to, 0, 1))
                }
            }
            position = to
        }
        if position < n || result.isEmpty { result.append((n, 0, 0)) }
        return result
    }

    /// Checks the protocol; `file` names the configuration in errors.
    public func validate(file: String) throws {
        guard dtMs > 0, dtMs.isFinite else { throw InputError(file: file, location: "protocol.dt_ms", "expected a positive number, found \(dtMs)") }
        guard durationMs > 0, durationMs.isFinite, sampleCount >= 1 else {
            throw InputError(file: file, location: "protocol.duration_ms", "expected a positive duration of at least one step, found \(durationMs)")
        }
        guard noisePA >= 0, noisePA.isFinite else { throw InputError(file: file, location: "protocol.noise_pa", "expected a number ≥ 0, found \(noisePA)") }
        let sorted = steps.enumerated().sorted { $0.element.fromMs < $1.element.fromMs }
        var previousEnd = -Double.infinity
        for (index, step) in sorted {
            let place = "protocol.steps[\(index)]"
            guard step.fromMs >= 0, step.toMs > step.fromMs, step.toMs.isFinite else {
                throw InputError(file: file, location: place, "expected 0 ≤ from_ms < to_ms, found \(step.fromMs)…\(step.toMs)")
            }
            guard step.fromMs >= previousEnd else { throw InputError(file: file, location: place, "overlaps the previous step") }
            if case .picoamperes(let v) = step.current, !v.isFinite { throw InputError(file: file, location: place, "current is not finite") }
            previousEnd = step.toMs
        }
    }
}
