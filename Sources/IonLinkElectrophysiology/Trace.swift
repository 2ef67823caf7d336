import IonLinkCore
/// One voltage recording (or simulation) on a sampled time axis, with the window of a current step.
///
/// Units: time in seconds (as the AllenSDK-style detector uses it), voltage in mV, current in pA.
public struct Trace: Sendable {
    /// Sample times, s, increasing.
    public var time: [Double]
    /// Membrane potential, mV.
    public var voltage: [Double]
    /// Injected current, pA, if known.
    public var current: [Double]?
    /// Start of the analysis window (the current step), s.
    public var start: Double
    /// End of the analysis window, s.
    public var end: Double

    public init(time: [Double], voltage: [Double], current: [Double]? = nil, start: Double, end: Double) {
        precondition(time.count == voltage.count, "time has \(time.count) samples, voltage \(voltage.count)")
        self.time = time
        self.voltage = voltage
        self.current = current
        self.start = start
        self.end = end
    }

    /// A trace sampled every `dtMs` from t = 0, with times computed as the simulator's reference
    /// (Brian2) does: t_k = (k · dt[s]) / 1e-3 ms, then / 1e3 to seconds. These are bit-identical to the
    /// golden time vector, which matters at the detector's time-window margins.
    public init(voltage: [Double], dtMs: Double, current: [Double]? = nil, startMs: Double, endMs: Double) {
        self.init(time: Trace.uniformTime(count: voltage.count, dtMs: dtMs), voltage: voltage, current: current,
                  start: startMs / 1e3, end: endMs / 1e3)
    }

    /// Sample times in s for a uniform grid: (k · dt[s] / 1e-3) / 1e3.
    public static func uniformTime(count: Int, dtMs: Double) -> [Double] {
        lastUniformTime.value(for: UniformGrid(count: count, dtMs: dtMs)) {
            let dtSeconds = dtMs * 1e-3
            return (0..<count).map { (Double($0) * dtSeconds / 1e-3) / 1e3 }
        }
    }

    /// The grid asked for last (a bank asks for the same one per block of 16 traces; it costs two divisions a sample).
    private static let lastUniformTime = LastValue<UniformGrid, [Double]>()

    private struct UniformGrid: Equatable, Sendable {
        var count: Int
        var dtMs: Double
    }

    public var count: Int { voltage.count }

    /// The first sample index with time ≥ t (the detector's `find_time_index`), or nil if none.
    public func index(atOrAfter t: Double) -> Int? {
        let low = time.partitioningIndex { $0 >= t }
        return low < time.count ? low : nil
    }
}
