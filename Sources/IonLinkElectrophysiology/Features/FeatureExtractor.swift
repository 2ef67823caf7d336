import CSignalKernel
import IonLinkCore

/// Computes the 23 paper features for many traces of one protocol, in parallel, row order kept.
public struct FeatureExtractor: Sendable {
    public var detector: SpikeDetector
    public var settings: PaperFeatures.Settings
    /// Sampling interval, ms.
    public var dtMs: Double
    /// The analysis window (the current step), ms.
    public var startMs: Double
    public var endMs: Double

    public init(dtMs: Double, startMs: Double, endMs: Double, detector: SpikeDetector = SpikeDetector(),
                settings: PaperFeatures.Settings = .simulation) {
        self.dtMs = dtMs
        self.startMs = startMs
        self.endMs = endMs
        self.detector = detector
        self.settings = settings
    }

    /// The 23 features of one trace (voltage in mV, sample k at k·dt), computed alone.
    public func features(of voltage: [Double]) -> [Double] {
        let trace = Trace(voltage: voltage, dtMs: dtMs, startMs: startMs, endMs: endMs)
        return PaperFeatures.values(for: trace, spikes: detector.spikes(in: trace), settings: settings)
    }

    /// Features of every row of a row-major matrix (`rows` × `samples`), on `threads` threads; returns
    /// `rows` × 23 values in row order. Rows are filtered 16 at a time (same results as one by one).
    public func features(ofRows matrix: [Double], rows: Int, threads: Int) -> [Double] {
        precondition(rows == 0 || matrix.count % rows == 0, "matrix of \(matrix.count) values does not split into \(rows) rows")
        let samples = rows == 0 ? 0 : matrix.count / rows
        let output = SlotBuffer<Double>(count: rows * PaperFeatures.count, repeating: .nan)
        let lanes = Int(IONLINK_SIGNAL_LANES)
        parallelFor((rows + lanes - 1) / lanes, threads: threads) { block in
            let first = block * lanes, count = min(lanes, rows - first)
            matrix.withUnsafeBufferPointer { all in
                let values = features(ofBlock: UnsafeBufferPointer(rebasing: all[first * samples ..< (first + count) * samples]), count: count)
                output.write(values.prefix(count * PaperFeatures.count), at: first * PaperFeatures.count)
            }
        }
        return output.array
    }

    /// Features of `count` (≤ 16) traces stored one after another in `traces`; `count` × 23 values.
    public func features(ofBlock traces: UnsafeBufferPointer<Double>, count: Int) -> [Double] {
        precondition(count >= 1 && count <= Int(IONLINK_SIGNAL_LANES) && traces.count % count == 0)
        let samples = traces.count / count
        let time = Trace.uniformTime(count: samples, dtMs: dtMs)
        let probe = Trace(time: time, voltage: [Double](repeating: 0, count: samples), start: startMs / 1e3, end: endMs / 1e3)
        guard let window = detector.window(of: probe),
              let full = blockDerivative(traces, count: count, samples: samples, range: 0 ..< samples, time: time),
              let inside = blockDerivative(traces, count: count, samples: samples, range: window.lowerBound ..< window.upperBound + 1, time: time)
        else {
            return (0..<count).flatMap { features(of: Array(traces[$0 * samples ..< ($0 + 1) * samples])) }
        }
        // Pass 1 without the third derivative; the traces whose threshold fallback needs it get it computed
        // together and are detected again.
        let traceList = (0..<count).map {
            Trace(time: time, voltage: Array(traces[$0 * samples ..< ($0 + 1) * samples]), start: probe.start, end: probe.end)
        }
        var trains: [SpikeTrain] = []
        var needThird: [Int] = []
        for j in 0..<count {
            var needed = false
            trains.append(detector.spikes(in: traceList[j], derivative: full[j], windowDerivative: inside[j],
                                          thirdDerivative: { needed = true; return nil }))
            if needed { needThird.append(j) }
        }
        if !needThird.isEmpty {
            let thirds = SpikeDetector.thirdDerivatives(of: needThird.map { full[$0] }, time: time, filterKHz: detector.thirdDerivativeCutoff)
            for (j, third) in zip(needThird, thirds) {
                trains[j] = detector.spikes(in: traceList[j], derivative: full[j], windowDerivative: inside[j], thirdDerivative: { third })
            }
        }
        var result: [Double] = []
        result.reserveCapacity(count * PaperFeatures.count)
        for j in 0..<count { result += PaperFeatures.values(for: traceList[j], spikes: trains[j], settings: settings) }
        return result
    }

    /// Filtered dV/dt of samples `range` of each trace, computed for the whole block at once.
    private func blockDerivative(_ traces: UnsafeBufferPointer<Double>, count: Int, samples: Int, range: Range<Int>,
                                 time: [Double]) -> [[Double]]? {
        let n = range.count
        guard n > 16, let filter = BesselFilter(cutoffKHz: detector.filterKHz, dt: time[range.lowerBound + 1] - time[range.lowerBound]) else {
            return nil
        }
        var out = [Double](repeating: 0, count: count * (n - 1))
        let status = time.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { o in
                ionlink_filtered_derivative(filter.b, filter.a, filter.zi, Int32(BesselFilter.padding), traces.baseAddress! + range.lowerBound, samples,
                                            t.baseAddress! + range.lowerBound, n, Int32(count), o.baseAddress!, n - 1)
            }
        }
        guard status == 0 else { return nil }
        return (0..<count).map { Array(out[$0 * (n - 1) ..< ($0 + 1) * (n - 1)]) }
    }
}
