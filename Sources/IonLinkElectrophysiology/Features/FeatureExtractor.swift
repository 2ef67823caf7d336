import CSignalKernel
import IonLinkBiophysics
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
    /// How `features(ofBlock:count:)` computes the filtered derivatives.
    public var derivatives: Derivatives

    /// The reference filters the whole trace, and the window on its own. Inside the window both give the same dV/dt, but
    /// for filtfilt's start-up transients at the window's edges, which decay by the filter's pole radius per sample
    /// (0.695 at 25 kHz); and the detector reads neither dV/dt nor the fallback's third derivative after the window.
    public enum Derivatives: Sendable {
        /// The reference's dV/dt and third derivative, bit for bit: every trace and window filtered whole.
        case reference
        /// The window's dV/dt taken from the whole trace's, with only the samples at the window's edges where the
        /// transients exceed 1e-12 (76 at each edge at 25 kHz) filtered again: one filtfilt fewer per trace. The trace is
        /// filtered only up to the window's end and a tail over which the backward pass's start-up transient decays below
        /// 1e-16 three times over (the third derivative filters twice more): ~10% less filtering at the paper's
        /// protocol. The fallback's third derivative is computed only up to the last upstroke, which is as far as
        /// detection reads it, in time chunks (`SpikeDetector.thirdDerivativesInChunks`). The same to ~1e-12 relative,
        /// so not bit for bit: for traces that are not exact themselves (the float32 kernel's).
        case fast

        /// The choice for traces simulated in `precision`: the reference's for float64, the cheaper one for float32.
        public init(for precision: BatchSimulator.Precision) {
            self = precision == .float32 ? .fast : .reference
        }
    }

    public init(dtMs: Double, startMs: Double, endMs: Double, detector: SpikeDetector = SpikeDetector(),
                settings: PaperFeatures.Settings = .simulation, derivatives: Derivatives = .reference) {
        self.dtMs = dtMs
        self.startMs = startMs
        self.endMs = endMs
        self.detector = detector
        self.settings = settings
        self.derivatives = derivatives
    }

    /// How `features(ofBlock:count:)` computes the derivatives of traces sampled at `time` (s): `derivatives`, except
    /// that `.fast` falls back to `.reference` where the whole trace's filter cannot stand for the window's (a sampling
    /// interval that differs beyond the time grid's rounding, ~1e-13: the reference designs the window's filter from
    /// its first two times) or where the window is too short for its two re-filtered edges.
    public func effectiveDerivatives(time: [Double]) -> Derivatives {
        guard let (window, full, inside) = filters(time: time) else { return .reference }
        return effectiveDerivatives(window: window, full: full, inside: inside)
    }

    /// The analysis window's samples and the filters the reference designs for the whole trace and for the window alone
    /// (from the window's first two times), or nil where the window is too short or a filter cannot be designed.
    private func filters(time: [Double]) -> (window: ClosedRange<Int>, full: BesselFilter, inside: BesselFilter)? {
        guard time.count > 1, let window = detector.window(time: time, start: startMs / 1e3, end: endMs / 1e3), window.count > 1,
              let full = BesselFilter(cutoffKHz: detector.filterKHz, dt: time[1] - time[0]),
              let inside = BesselFilter(cutoffKHz: detector.filterKHz, dt: time[window.lowerBound + 1] - time[window.lowerBound])
        else { return nil }
        return (window, full, inside)
    }

    private func effectiveDerivatives(window: ClosedRange<Int>, full: BesselFilter, inside: BesselFilter) -> Derivatives {
        derivatives == .fast && inside.agrees(with: full, relativeTolerance: 1e-9)
            && window.count > 4 * inside.settlingSamples(tolerance: 1e-12) ? .fast : .reference
    }

    /// How many samples of each trace sampled at `time` (s) the derivatives filter: all of them for `.reference`; for
    /// `.fast`, those up to the window's end and a tail (see `fastFilteredSamples`).
    public func filteredSamples(time: [Double]) -> Int {
        guard let (window, full, inside) = filters(time: time), effectiveDerivatives(window: window, full: full, inside: inside) == .fast
        else { return time.count }
        return fastFilteredSamples(time.count, window: window, full: full, dt: time[1] - time[0])
    }

    /// The samples of a trace of `samples` samples at interval `dt` (s) that `.fast` filters: the window and a tail
    /// after it over which the backward passes' start-up transients (at the dV/dt's filter and, twice, at the third
    /// derivative's) decay below 1e-16.
    private func fastFilteredSamples(_ samples: Int, window: ClosedRange<Int>, full: BesselFilter, dt: Double) -> Int {
        let third = BesselFilter(cutoffKHz: detector.thirdDerivativeCutoff, dt: dt)
        let settling = max(full.settlingSamples(tolerance: 1e-16), third?.settlingSamples(tolerance: 1e-16) ?? 0)
        return min(samples, window.upperBound + 3 + 3 * settling)
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

    /// Features of `count` (≤ 16) traces stored one after another in `traces`; `count` × 23 values. The traces are read
    /// in place; only those that reach the detector's `minPeak` inside the window are filtered (the others cannot
    /// hold a spike), together, 16 at a time.
    public func features(ofBlock traces: UnsafeBufferPointer<Double>, count: Int) -> [Double] {
        precondition(count >= 1 && count <= Int(IONLINK_SIGNAL_LANES) && traces.count % count == 0)
        let samples = traces.count / count
        let time = Trace.uniformTime(count: samples, dtMs: dtMs)
        let start = startMs / 1e3, end = endMs / 1e3
        let base = traces.baseAddress!
        func trace(_ j: Int) -> UnsafeBufferPointer<Double> { UnsafeBufferPointer(start: base + j * samples, count: samples) }
        guard let (window, full, inside) = filters(time: time) else {
            return (0..<count).flatMap { features(of: Array(trace($0))) }
        }
        let candidates = (0..<count).filter { detector.canSpike(trace($0), window: window) }
        var trains = [SpikeTrain](repeating: .empty, count: count)
        var result: [Double] = []
        result.reserveCapacity(count * PaperFeatures.count)
        time.withUnsafeBufferPointer { t in
            if !candidates.isEmpty {
                // The filtered dV/dt of each candidate's whole trace and of its window alone, as the reference computes
                // them; `.fast` keeps only the window's `edge` first and last values, where it differs from the trace's.
                let fast = effectiveDerivatives(window: window, full: full, inside: inside) == .fast
                let filtered = fast ? fastFilteredSamples(samples, window: window, full: full, dt: time[1] - time[0]) : samples
                let edge = inside.settlingSamples(tolerance: 1e-12), segment = 2 * edge
                let fullCount = filtered - 1, insideCount = window.count - 1, insideKept = fast ? 2 * edge : insideCount
                let derivatives = UnsafeMutableBufferPointer<Double>.allocate(capacity: candidates.count * (fullCount + insideKept))
                defer { derivatives.deallocate() }
                let fullStart = derivatives.baseAddress!, insideStart = fullStart + candidates.count * fullCount
                /// Filters samples [offset, offset + n) of every candidate into rows of n − 1 values from `output`.
                func differentiate(with filter: BesselFilter, offset: Int, n: Int, into output: UnsafeMutablePointer<Double>) {
                    filter.differentiate(candidates.map { UnsafePointer(base + $0 * samples + offset) }, samples: n,
                                         time: t.baseAddress! + offset, into: output)
                }
                differentiate(with: full, offset: 0, n: filtered, into: fullStart)
                if fast {
                    // The window's first and last `edge` values of dV/dt, from a filtfilt of its first and last `segment` samples.
                    let scratch = UnsafeMutablePointer<Double>.allocate(capacity: candidates.count * (segment - 1))
                    defer { scratch.deallocate() }
                    // (first sample of the segment in the window, first value kept of its dV/dt, where that goes in the row)
                    for (from, kept, into) in [(0, 0, 0), (window.count - segment, segment - 1 - edge, edge)] {
                        differentiate(with: inside, offset: window.lowerBound + from, n: segment, into: scratch)
                        for c in candidates.indices {
                            (insideStart + c * insideKept + into).update(from: scratch + c * (segment - 1) + kept, count: edge)
                        }
                    }
                } else {
                    differentiate(with: inside, offset: window.lowerBound, n: window.count, into: insideStart)
                }
                /// Candidate c's window dV/dt, read in place.
                func windowDerivative(_ c: Int) -> SpikeDetector.WindowDerivative {
                    let row = insideStart + c * insideKept
                    guard fast else { return .init(UnsafeBufferPointer(start: row, count: insideCount)) }
                    return .init(head: UnsafeBufferPointer(start: row, count: edge),
                                 body: UnsafeBufferPointer(start: fullStart + c * fullCount + window.lowerBound + edge, count: insideCount - 2 * edge),
                                 tail: UnsafeBufferPointer(start: row + edge, count: edge))
                }
                // Detection as far as it goes without the third derivative; the traces whose threshold fallback needs it
                // get it computed together, and their detection is finished from where it stopped.
                func signals(_ c: Int) -> (voltage: UnsafeBufferPointer<Double>, derivative: UnsafeBufferPointer<Double>) {
                    (trace(candidates[c]), UnsafeBufferPointer(start: fullStart + c * fullCount, count: fullCount))
                }
                var pending: [(candidate: Int, detection: SpikeDetector.PendingDetection)] = []
                for c in candidates.indices {
                    let (v, d) = signals(c)
                    switch detector.detect(voltage: v, time: t, start: start, window: window, derivative: d,
                                           windowDerivative: windowDerivative(c)) {
                    case .finished(let train): trains[candidates[c]] = train
                    case .needsThirdDerivative(let detection): pending.append((c, detection))
                    }
                }
                if !pending.isEmpty {
                    let thirds = UnsafeMutablePointer<Double>.allocate(capacity: pending.count * (fullCount - 2))
                    defer { thirds.deallocate() }
                    let firsts = pending.map { UnsafePointer(fullStart + $0.candidate * fullCount) }
                    // `.fast`: only as far as each trace's detection reads it, in time chunks (else the reference's rows).
                    let needed = pending.map { $0.detection.thirdDerivativeLength }
                    let chunked = fast && SpikeDetector.thirdDerivativesInChunks(of: firsts, length: fullCount, needed: needed,
                                                                                 time: t.baseAddress!, filterKHz: detector.thirdDerivativeCutoff,
                                                                                 into: thirds)
                    let computed = chunked || SpikeDetector.thirdDerivatives(of: firsts, length: fullCount, time: t.baseAddress!,
                                                                             filterKHz: detector.thirdDerivativeCutoff, into: thirds)
                    for (r, (c, detection)) in pending.enumerated() {
                        let (v, d) = signals(c)
                        let third = UnsafeBufferPointer(start: computed ? thirds + r * (fullCount - 2) : nil,
                                                        count: computed ? (chunked ? needed[r] : fullCount - 2) : 0)
                        trains[candidates[c]] = detector.finish(detection, voltage: v, time: t, start: start, window: window,
                                                                derivative: d, thirdDerivative: third)
                    }
                }
            }
            let statistics = PaperFeatures.VoltageStatistics.of((0..<count).map { UnsafePointer(base + $0 * samples) }, time: t,
                                                                start: start, end: end, settings: settings)
            for j in 0..<count {
                var x = PaperFeatures.spikeValues(trains[j], start: start, end: end, settings: settings)
                statistics[j].write(into: &x)
                result += x.values
            }
        }
        return result
    }
}
