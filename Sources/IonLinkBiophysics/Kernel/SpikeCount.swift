/// Upward crossings of a voltage level, the simplest spike count (the golden files' `n_spikes_0mV`).
public enum SpikeCount {
    /// Number of samples k in `window` with trace[k-1] < level ≤ trace[k] (mV).
    public static func upwardCrossings(_ trace: UnsafeBufferPointer<Double>, level: Double = 0, window: Range<Int>) -> Int {
        var count = 0
        let lower = max(1, window.lowerBound)
        let upper = min(trace.count, window.upperBound)
        guard lower < upper, let x = trace.baseAddress else { return 0 }
        // Branch-free, so that the loop vectorises (a third of the cost of the branching loop in a bank).
        for k in lower..<upper {
            count &+= (x[k - 1] < level ? 1 : 0) & (x[k] >= level ? 1 : 0)
        }
        return count
    }
}

extension StimulusProtocol {
    /// The stimulus window in ms: start of the first step to end of the last (the whole run without steps).
    public var stimulusWindowMs: (start: Double, end: Double) {
        guard let first = steps.map(\.fromMs).min(), let last = steps.map(\.toMs).max() else { return (0, durationMs) }
        return (first, min(last, durationMs))
    }

    /// Samples from the start of the first step to the end of the last (the whole trace without steps):
    /// the window in which spikes are counted.
    public var stimulusWindow: Range<Int> {
        guard let first = steps.map(\.fromMs).min(), let last = steps.map(\.toMs).max() else { return 0..<sampleCount }
        return min(sampleCount, sampleIndex(atMs: first)) ..< min(sampleCount, sampleIndex(atMs: last))
    }
}
