import Foundation
import Synchronization

/// Reports progress of a long job on standard error: a redrawn bar with rate and ETA on a terminal,
/// a plain line every few seconds otherwise (CI logs, files). Safe to call from several threads.
public final class ProgressReporter: Sendable {
    private struct State {
        var done = 0
        var lastReport = 0.0
    }
    private let title: String
    private let total: Int
    private let unit: String
    private let start: Double
    private let interactive: Bool
    private let interval: Double
    private let state = Mutex(State())
    private let enabled: Bool
    private let baseline: Int

    /// - Parameters:
    ///   - total: units of work in the job; `alreadyDone` of them were done before (a resumed run).
    ///   - enabled: false silences the reporter (e.g. `--quiet`).
    public init(_ title: String, total: Int, unit: String = "", alreadyDone: Int = 0, enabled: Bool = true) {
        self.title = title
        self.total = total
        self.unit = unit
        self.start = ProgressReporter.now()
        self.interactive = isatty(2) != 0
        self.interval = isatty(2) != 0 ? 0.1 : 5.0
        self.enabled = enabled
        self.baseline = alreadyDone
        state.withLock { $0.done = alreadyDone; $0.lastReport = start }
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Records `count` more units done.
    public func advance(by count: Int) {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            s.done += count
            let t = ProgressReporter.now()
            guard t - s.lastReport >= interval else { return nil }
            s.lastReport = t
            return render(done: s.done, elapsed: t - start, final: false)
        }
        if let line { emit(line) }
    }

    /// Prints the final line.
    public func finish() {
        guard enabled else { return }
        let line = state.withLock { s in render(done: s.done, elapsed: ProgressReporter.now() - start, final: true) }
        emit(line)
        if interactive { emit("\n") }
    }

    private func render(done: Int, elapsed: Double, final: Bool) -> String {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let rate = elapsed > 0 ? Double(done - baseline) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : .infinity
        let eta = final ? "done in \(ProgressReporter.duration(elapsed))" : "ETA \(ProgressReporter.duration(remaining))"
        let counts = "\(done)/\(total)\(unit.isEmpty ? "" : " " + unit) \(String(format: "%.0f", rate))/s \(eta)"
        if interactive {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            return "\r\u{1B}[2K\(title) \(bar) \(counts)"
        }
        return "\(title): \(String(format: "%5.1f", fraction * 100))% \(counts)\n"
    }

    private func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `1h02m`, `3m05s`, `12s`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
