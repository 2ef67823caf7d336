import CSignalKernel
import Foundation
import IonLinkCore

/// One detected action potential: sample indexes into the trace and the values there.
/// Voltages in mV, times in s, dV/dt in V/s, width in s. `nil` where undefined (e.g. the trough of a
/// clipped last spike).
public struct Spike: Sendable, Equatable {
    public var thresholdIndex: Int
    public var peakIndex: Int
    public var upstrokeIndex: Int
    public var troughIndex: Int?
    public var downstrokeIndex: Int?
    public var fastTroughIndex: Int?
    public var thresholdTime: Double
    public var thresholdVoltage: Double
    public var peakTime: Double
    public var peakVoltage: Double
    public var troughVoltage: Double?
    public var fastTroughVoltage: Double?
    /// Maximal dV/dt of the upstroke, V/s.
    public var upstroke: Double
    /// Minimal dV/dt of the downstroke, V/s.
    public var downstroke: Double?
    /// Full width at half height (height = peak − threshold), s; sample-quantised.
    public var width: Double?
    /// True if the spike is cut off by the end of the window (it never repolarised, or no fast trough).
    public var clipped: Bool

    /// Peak − threshold, mV.
    public var height: Double { peakVoltage - thresholdVoltage }
}

/// The spikes of one sweep and how they were found.
public struct SpikeTrain: Sendable {
    public var spikes: [Spike]
    /// Whether the third-derivative threshold fallback ran (first threshold before the window start).
    public var usedThirdDerivative: Bool

    public static let empty = SpikeTrain(spikes: [], usedThirdDerivative: false)
}

/// The AllenSDK-style spike detector as the authors of Bernaerts et al. (2025) use it (their modified
/// copy of the pre-IPFX AllenSDK ephys extractor): filtered dV/dt, putative spikes at 20 V/s, peaks,
/// threshold at 5% of the mean upstroke, the 5 ms threshold-to-peak rule, clipping, troughs, fast troughs
/// and widths relative to threshold. Defaults are the reference's; see docs/reference/features.md.
public struct SpikeDetector: Sendable {
    /// Bessel low-pass cutoff for dV/dt, kHz.
    public var filterKHz: Double = 10
    /// Putative-spike dV/dt level, V/s.
    public var dvCutoff: Double = 20
    /// Minimum peak − threshold, mV.
    public var minHeight: Double = 2
    /// Minimum peak voltage, mV.
    public var minPeak: Double = -30
    /// Threshold = this fraction of the mean upstroke dV/dt.
    public var thresholdFraction: Double = 0.05
    /// Maximum threshold-to-peak interval, s.
    public var maxInterval: Double = 0.005
    /// The last spike is clipped unless V returns to threshold + this, mV.
    public var clippingTolerance: Double = 1
    /// Fast trough: where dV/dt recovers to this fraction of the downstroke.
    public var fastTroughFraction: Double = 0.003
    /// Cutoff (kHz) for the third-derivative threshold fallback (the reference hard-codes 10 kHz; for
    /// sampling rates where that is impossible the sweep's own cutoff is used).
    public var thirdDerivativeFilterKHz: Double? = nil

    public init() {}

    /// The reference's filter rule for recordings: 10 kHz, or fs/2 − 0.5 kHz when the sampling rate is at most
    /// 20 kHz (at exactly 20 kHz the literal rule would put the cutoff at Nyquist).
    public static func filterKHz(forSamplingRate fs: Double) -> Double {
        fs <= 20_000 ? fs / 2 / 1e3 - 0.5 : 10
    }

    /// The detector the reference uses for recordings filtered at `filterKHz` (`filterKHz(forSamplingRate:)`): below
    /// 10 kHz the third-derivative fallback uses the same cutoff.
    public static func forRecording(filterKHz: Double) -> SpikeDetector {
        var detector = SpikeDetector()
        detector.filterKHz = filterKHz
        if filterKHz < 10 { detector.thirdDerivativeFilterKHz = filterKHz }
        return detector
    }

    /// dV/dt in V/s (length count − 1): 1e-3 · diff(filtfilt(V)) / diff(t); unfiltered if the cutoff is not
    /// below Nyquist.
    public static func derivative(_ v: ArraySlice<Double>, time t: ArraySlice<Double>, filterKHz: Double?) -> [Double] {
        let n = v.count
        guard n >= 2 else { return [] }
        return v.withUnsafeBufferPointer { x in
            t.withUnsafeBufferPointer { time in
                [Double](unsafeUninitializedCapacity: n - 1) { out, initialized in
                    if n > BesselFilter.padding, let filterKHz, let filter = BesselFilter(cutoffKHz: filterKHz, dt: time[1] - time[0]) {
                        filter.differentiate([x.baseAddress!], samples: n, time: time.baseAddress!, into: out.baseAddress!)
                    } else {
                        differenceQuotient(x.baseAddress!, time: time.baseAddress!, samples: n, into: out.baseAddress!)
                    }
                    initialized = n - 1
                }
            }
        }
    }

    /// The unfiltered dV/dt (mV/ms) of n samples at `x` taken at `time` (s): n − 1 values into `output`.
    static func differenceQuotient(_ x: UnsafePointer<Double>, time: UnsafePointer<Double>, samples n: Int,
                                   into output: UnsafeMutablePointer<Double>) {
        for i in 0..<(n - 1) { output[i] = 1e-3 * (x[i + 1] - x[i]) / (time[i + 1] - time[i]) }
    }

    /// The sample range [start index, end index] of the analysis window, or nil if the trace is too short.
    public func window(of trace: Trace) -> ClosedRange<Int>? {
        window(time: trace.time, start: trace.start, end: trace.end)
    }

    /// The window [start, end] (s) on the sample times `time`: the first samples at or after each, or nil if the trace
    /// is too short.
    public func window(time: [Double], start: Double, end: Double) -> ClosedRange<Int>? {
        let startIndex = time.partitioningIndex { $0 >= start }, endIndex = time.partitioningIndex { $0 >= end }
        guard time.count > 20, endIndex < time.count, endIndex > startIndex + 16 else { return nil }
        return startIndex...endIndex
    }

    /// Detects the spikes of `trace` in its window [start, end].
    public func spikes(in trace: Trace) -> SpikeTrain {
        guard let window = window(of: trace) else { return .empty }
        let v = trace.voltage, t = trace.time
        let dvdt = Self.derivative(v[...], time: t[...], filterKHz: filterKHz)
        let windowDvdt = Self.derivative(v[window], time: t[window], filterKHz: filterKHz)
        return v.withUnsafeBufferPointer { v in
            t.withUnsafeBufferPointer { t in
                dvdt.withUnsafeBufferPointer { d in
                    windowDvdt.withUnsafeBufferPointer { w in
                        spikes(voltage: v, time: t, start: trace.start, window: window, derivative: d, windowDerivative: WindowDerivative(w))
                    }
                }
            }
        }
    }

    /// Detects spikes in `window` of the samples `v` at times `t` (s; `start` the window's start), given the filtered
    /// dV/dt of the whole trace and of the window (read in place), computing the third derivative here if the threshold
    /// fallback needs it. The block path of `FeatureExtractor` uses `detect` and `finish` instead, to compute the third
    /// derivatives of many traces together.
    public func spikes(voltage v: UnsafeBufferPointer<Double>, time t: UnsafeBufferPointer<Double>, start: Double,
                       window: ClosedRange<Int>, derivative dvdt: UnsafeBufferPointer<Double>,
                       windowDerivative: WindowDerivative) -> SpikeTrain {
        switch detect(voltage: v, time: t, start: start, window: window, derivative: dvdt, windowDerivative: windowDerivative) {
        case .finished(let train):
            return train
        case .needsThirdDerivative(let pending):
            // Too short to filter: no third derivative, and the fallback keeps the first thresholds.
            let count = dvdt.count > BesselFilter.padding + 2 ? dvdt.count - 2 : 0
            let third = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            defer { third.deallocate() }
            if count > 0 {
                Self.thirdDerivatives(of: [dvdt.baseAddress!], length: dvdt.count, time: t.baseAddress!,
                                      filterKHz: thirdDerivativeCutoff, into: third.baseAddress!)
            }
            return finish(pending, voltage: v, time: t, start: start, window: window, derivative: dvdt,
                          thirdDerivative: UnsafeBufferPointer(third))
        }
    }

    /// Detection as far as it goes without the third derivative: the spikes, or, where the first threshold lies before
    /// the window and the reference's fallback needs the third derivative, the state that `finish` completes. The block
    /// path of `FeatureExtractor` computes the third derivatives of all pending traces together.
    public enum Detection: Sendable {
        case finished(SpikeTrain)
        case needsThirdDerivative(PendingDetection)
    }

    /// The window's filtered dV/dt, read in place: contiguous samples, or (`FeatureExtractor.Derivatives.fast`) the
    /// whole trace's dV/dt over the window with its first and last values replaced by the window's own.
    public struct WindowDerivative {
        /// The values in order: head, then body, then tail.
        fileprivate let pieces: [UnsafeBufferPointer<Double>]

        /// The window's dV/dt as one run of samples.
        public init(_ samples: UnsafeBufferPointer<Double>) { pieces = [samples] }

        /// The window's dV/dt as `head`, `body` and `tail` one after the other.
        public init(head: UnsafeBufferPointer<Double>, body: UnsafeBufferPointer<Double>, tail: UnsafeBufferPointer<Double>) {
            pieces = [head, body, tail].filter { !$0.isEmpty }
        }

        /// Every i with !(x[i] ≥ level) and x[i + 1] ≥ level, ascending (upward crossings; NaN is below before and not
        /// above after), within the pieces and across their joins.
        func upwardCrossings(level: Double) -> [Int] {
            var crossings: [Int] = [], offset = 0
            for (p, piece) in pieces.enumerated() {
                if p > 0, !(pieces[p - 1].last! >= level), piece[0] >= level { crossings.append(offset - 1) }
                let base = piece.baseAddress!, n = piece.count
                var next = ionlink_next_upward_crossing(base, 0, n, level)
                while next < n {
                    crossings.append(offset + next)
                    next = ionlink_next_upward_crossing(base, next + 1, n, level)
                }
                offset += n
            }
            return crossings
        }

        /// Whether any value in `range` is < level (NaN never is).
        func anyBelow(_ range: Range<Int>, level: Double) -> Bool {
            var offset = 0
            for piece in pieces {
                let from = max(range.lowerBound, offset), to = min(range.upperBound, offset + piece.count)
                if from < to, ionlink_any_below(piece.baseAddress! + (from - offset), to - from, level) != 0 { return true }
                offset += piece.count
            }
            return false
        }

        /// The first value, if any.
        var first: Double? { pieces.first?.first }
    }

    /// Steps 1–4 of a detection that waits for the third derivative (see `Detection`).
    public struct PendingDetection: Sendable {
        fileprivate var peaks: [Int]
        fileprivate var upstrokes: [Int]
        fileprivate var thresholds: [Int]

        /// How many values of the third derivative, from the first, `finish` reads (up to the last upstroke).
        public var thirdDerivativeLength: Int { (upstrokes.max() ?? 0) + 1 }
    }

    /// Detection in `window` of the samples `v` at times `t`, given the filtered dV/dt of the whole trace and of the
    /// window alone (read in place), up to the threshold fallback (see `Detection`).
    public func detect(voltage v: UnsafeBufferPointer<Double>, time t: UnsafeBufferPointer<Double>, start: Double,
                       window: ClosedRange<Int>, derivative dvdt: UnsafeBufferPointer<Double>,
                       windowDerivative: WindowDerivative) -> Detection {
        let endIndex = window.upperBound
        guard let (peaks, upstrokes, thresholds) = firstThresholds(v: v, dvdt: dvdt, windowDvdt: windowDerivative,
                                                                   startIndex: window.lowerBound, endIndex: endIndex)
        else { return .finished(.empty) }
        if t[thresholds[0]] < start {
            return .needsThirdDerivative(PendingDetection(peaks: peaks, upstrokes: upstrokes, thresholds: thresholds))
        }
        return .finished(complete(v: v, t: t, dvdt: dvdt, thresholds: thresholds, peaks: peaks, upstrokes: upstrokes,
                                  usedThirdDerivative: false, endIndex: endIndex))
    }

    /// Completes a pending detection of the same samples and dV/dt with the filtered third derivative `third` (empty
    /// where the trace is too short to filter: the first thresholds stay), as `SpikeDetector.thirdDerivatives` computes it.
    public func finish(_ pending: PendingDetection, voltage v: UnsafeBufferPointer<Double>, time t: UnsafeBufferPointer<Double>,
                       start: Double, window: ClosedRange<Int>, derivative dvdt: UnsafeBufferPointer<Double>,
                       thirdDerivative third: UnsafeBufferPointer<Double>) -> SpikeTrain {
        var thresholds = pending.thresholds
        if let alternative = thirdDerivativeThresholds(v: v, third: third, peaks: pending.peaks, upstrokes: pending.upstrokes),
           t[alternative[0]] > t[thresholds[0]] {
            thresholds = alternative
        }
        return complete(v: v, t: t, dvdt: dvdt, thresholds: thresholds, peaks: pending.peaks, upstrokes: pending.upstrokes,
                        usedThirdDerivative: true, endIndex: window.upperBound)
    }

    /// Whether the samples `window` of `v` can hold a spike: its peak must lie in the window at or above `minPeak`.
    /// A trace for which this is false has no spikes, so its derivatives need not be computed.
    public func canSpike(_ v: UnsafeBufferPointer<Double>, window: ClosedRange<Int>) -> Bool {
        precondition(window.upperBound < v.count, "window \(window) beyond \(v.count) samples")
        return ionlink_first_at_or_above(v.baseAddress!, window.lowerBound, window.upperBound + 1, minPeak) <= window.upperBound
    }

    /// The cutoff used for the third-derivative fallback, kHz.
    public var thirdDerivativeCutoff: Double { thirdDerivativeFilterKHz ?? 10 }

    /// Filtered third derivatives from filtered first derivatives, as the reference's fallback computes them
    /// (derivative of the derivative, each filtered): the first derivatives of `length` values at `firsts` give rows of
    /// length − 2 values, row i at `output + i·(length − 2)`; `time` holds the trace's sample times (≥ length). Without
    /// a valid filter at `filterKHz`, the derivatives are unfiltered. Returns false (and writes nothing) if the rows are
    /// too short to filter.
    @discardableResult
    public static func thirdDerivatives(of firsts: [UnsafePointer<Double>], length: Int, time: UnsafePointer<Double>,
                                        filterKHz: Double, into output: UnsafeMutablePointer<Double>) -> Bool {
        guard length > BesselFilter.padding + 2 else { return false }
        let second = UnsafeMutablePointer<Double>.allocate(capacity: firsts.count * (length - 1))
        defer { second.deallocate() }
        let filter = BesselFilter(cutoffKHz: filterKHz, dt: time[1] - time[0])
        /// One derivative of the n samples at each of `inputs`, into rows of n − 1 values at `into`.
        func step(_ inputs: [UnsafePointer<Double>], n: Int, into: UnsafeMutablePointer<Double>) {
            if let filter {
                filter.differentiate(inputs, samples: n, time: time, into: into)
            } else {
                for (r, x) in inputs.enumerated() { differenceQuotient(x, time: time, samples: n, into: into + r * (n - 1)) }
            }
        }
        step(firsts, n: length, into: second)
        step(firsts.indices.map { UnsafePointer(second + $0 * (length - 1)) }, n: length - 1, into: output)
        return true
    }

    /// `thirdDerivatives` to `FeatureExtractor.Derivatives.fast`'s tolerance and only as far as it is read: the first
    /// `needed[i]` values of row i (e.g. `PendingDetection.thirdDerivativeLength`), both filtfilts in time chunks
    /// (`BesselFilter.differentiateInChunks`), so that the few traces of a block that need the fallback, and the part of
    /// each that is read, fill the kernel's vectors. Rows as `thirdDerivatives` lays them out. False, with nothing
    /// written, where the rows are too short or the cutoff gives no filter: then use `thirdDerivatives`.
    public static func thirdDerivativesInChunks(of firsts: [UnsafePointer<Double>], length: Int, needed: [Int],
                                                time: UnsafePointer<Double>, filterKHz: Double,
                                                into output: UnsafeMutablePointer<Double>) -> Bool {
        guard length > 2, let filter = BesselFilter(cutoffKHz: filterKHz, dt: time[1] - time[0]) else { return false }
        let chunk = 2048, warm = filter.chunkWarmUp
        // The second derivative as far as the third's chunks read it.
        let secondNeeded = needed.map { max($0, chunk + warm) + warm + 1 }
        let second = UnsafeMutablePointer<Double>.allocate(capacity: firsts.count * (length - 1))
        defer { second.deallocate() }
        guard secondNeeded.allSatisfy({ $0 <= length - 2 }),
              filter.differentiateInChunks(firsts, valid: Array(repeating: length, count: firsts.count), needed: secondNeeded,
                                           time: time, into: second, rowStride: length - 1, chunk: chunk)
        else { return false }
        return filter.differentiateInChunks(firsts.indices.map { UnsafePointer(second + $0 * (length - 1)) }, valid: secondNeeded,
                                            needed: needed, time: time, into: output, rowStride: length - 2, chunk: chunk)
    }

    // MARK: - The steps (each mirrors one function of the reference extractor)

    /// Steps 1–4: peaks, upstrokes and the first thresholds (nil: no spikes).
    private func firstThresholds(v: Samples, dvdt: Samples, windowDvdt: WindowDerivative, startIndex: Int, endIndex: Int)
        -> (peaks: [Int], upstrokes: [Int], thresholds: [Int])? {
        let putative = putativeSpikes(windowDvdt).map { $0 + startIndex }
        guard !putative.isEmpty, let allPeaks = peakIndexes(v, putative, endIndex: endIndex) else { return nil }
        let (spikes, peaks) = dropNonSpikes(v: v, dvdt: dvdt, putative: putative, peaks: allPeaks)
        guard !spikes.isEmpty, let upstrokes = upstrokeIndexes(dvdt, spikes, peaks) else { return nil }
        return (peaks, upstrokes, refineThresholds(dvdt, upstrokes))
    }

    /// Steps 5–8, from the thresholds (the fallback's where it replaced the first ones).
    private func complete(v: Samples, t: Samples, dvdt: Samples, thresholds: [Int], peaks: [Int], upstrokes: [Int],
                          usedThirdDerivative: Bool, endIndex: Int) -> SpikeTrain {
        var upstrokes = upstrokes
        let none = SpikeTrain(spikes: [], usedThirdDerivative: usedThirdDerivative)
        if t[thresholds[0]] > t[peaks[0]] { return none }

        // 5. Overlaps, threshold-to-peak intervals, clipping of the last spike.
        guard var checked = checkThresholdsAndPeaks(v: v, t: t, dvdt: dvdt, thresholds: thresholds, peaks: peaks,
                                                    upstrokes: upstrokes, endIndex: endIndex),
              !checked.thresholds.isEmpty, t[checked.thresholds[0]] <= t[checked.peaks[0]],
              let newUpstrokes = upstrokeIndexes(dvdt, checked.thresholds, checked.peaks) else { return none }
        upstrokes = newUpstrokes

        // 6. Troughs; drop events whose peak is its trough.
        guard var troughs = troughIndexes(v, checked, endIndex: endIndex) else { return none }
        let distinct = zip(checked.peaks, troughs).map { $0.1 == nil || $0.0 != $0.1! }
        func select<T>(_ a: [T]) -> [T] { zip(a, distinct).filter(\.1).map(\.0) }
        checked.thresholds = select(checked.thresholds)
        checked.peaks = select(checked.peaks)
        checked.clipped = select(checked.clipped)
        upstrokes = select(upstrokes)
        troughs = select(troughs)
        guard !checked.thresholds.isEmpty else { return none }

        // 7–8. Downstrokes, fast troughs (which may mark a spike clipped), widths.
        let unclipped = checked
        let (fastTroughs, fastDownstrokes) = fastTroughIndexes(dvdt, &checked, endIndex: endIndex)
        let downstrokes = downstrokeIndexes(dvdt, unclipped, troughs: troughs, within: fastDownstrokes)
        let result = (0..<checked.thresholds.count).map { k in
            let threshold = checked.thresholds[k], peak = checked.peaks[k]
            return Spike(
                thresholdIndex: threshold, peakIndex: peak, upstrokeIndex: upstrokes[k], troughIndex: troughs[k],
                downstrokeIndex: downstrokes[k], fastTroughIndex: fastTroughs[k],
                thresholdTime: t[threshold], thresholdVoltage: v[threshold], peakTime: t[peak], peakVoltage: v[peak],
                troughVoltage: troughs[k].map { v[$0] }, fastTroughVoltage: fastTroughs[k].map { v[$0] },
                upstroke: dvdt[upstrokes[k]], downstroke: downstrokes[k].map { dvdt[$0] },
                width: checked.clipped[k] ? nil : fastTroughs[k].flatMap { halfHeightWidth(v: v, t: t, threshold: threshold, peak: peak, fastTrough: $0) },
                clipped: checked.clipped[k])
        }
        return SpikeTrain(spikes: result, usedThirdDerivative: usedThirdDerivative)
    }

    /// 1. Putative spikes (window indices): the window's own dV/dt crosses the cutoff upwards, and only after it fell
    /// below 0 since the previous crossing.
    private func putativeSpikes(_ windowDvdt: WindowDerivative) -> [Int] {
        guard let first = windowDvdt.first else { return [] }
        let crossings = (first > dvCutoff ? [0] : []) + windowDvdt.upwardCrossings(level: dvCutoff)
        guard crossings.count > 1 else { return crossings }
        var putative = [crossings[0]]
        for i in 1..<crossings.count where windowDvdt.anyBelow(crossings[i - 1] ..< crossings[i], level: 0) {
            putative.append(crossings[i])
        }
        return putative
    }

    /// 2. Peaks: the maximum of V between consecutive putative spikes (the last one: up to the window end).
    private func peakIndexes(_ v: Samples, _ putative: [Int], endIndex: Int) -> [Int]? {
        var peaks: [Int] = []
        for (k, spike) in putative.enumerated() {
            let next = k + 1 < putative.count ? putative[k + 1] : endIndex
            guard next > spike else { return nil }
            peaks.append(argmax(v, spike..<next))
        }
        return peaks
    }

    /// 3. Drops events where V does not fall between a peak and the next spike, peaks below `minPeak`, heights below
    /// `minHeight`.
    private func dropNonSpikes(v: Samples, dvdt: Samples, putative: [Int], peaks allPeaks: [Int]) -> (spikes: [Int], peaks: [Int]) {
        var mask: [Bool] = []
        for k in 0..<(putative.count - 1) {
            let lower = clamped(allPeaks[k], dvdt.count), upper = clamped(putative[k + 1], dvdt.count)
            mask.append(lower < upper && ionlink_any_below(dvdt.baseAddress! + lower, upper - lower, 0) != 0)
        }
        var spikes = zip(putative, [true] + mask).filter(\.1).map(\.0)
        var peaks = zip(allPeaks, mask + [true]).filter(\.1).map(\.0)
        var keep = peaks.map { v[$0] >= minPeak }
        spikes = zip(spikes, keep).filter(\.1).map(\.0)
        peaks = zip(peaks, keep).filter(\.1).map(\.0)
        keep = zip(spikes, peaks).map { v[$0.1] - v[$0.0] >= minHeight }
        return (zip(spikes, keep).filter(\.1).map(\.0), zip(peaks, keep).filter(\.1).map(\.0))
    }

    /// 6. Troughs: the minimum of V from each peak to the next threshold (the last: to the window end; none if clipped).
    private func troughIndexes(_ v: Samples, _ checked: Checked, endIndex: Int) -> [Int?]? {
        var troughs: [Int?] = []
        for k in 0..<checked.thresholds.count {
            if k + 1 < checked.thresholds.count {
                let range = checked.peaks[k] ..< checked.thresholds[k + 1]
                guard !range.isEmpty else { return nil }
                troughs.append(argmin(v, range))
            } else if checked.clipped[k] {
                troughs.append(nil)
            } else {
                let range = checked.peaks[k] ..< endIndex
                guard !range.isEmpty else { return nil }
                troughs.append(argmin(v, range))
            }
        }
        return troughs
    }

    /// 7. Downstrokes: the minimum dV/dt between each unclipped peak and its trough. `within[k]`, where set, is the
    /// first minimum of dV/dt from the peak over a range that holds this one (the fast trough's search): where it lies
    /// before the trough it is this one's first minimum too, and that range need not be searched again.
    private func downstrokeIndexes(_ dvdt: Samples, _ checked: Checked, troughs: [Int?], within: [Int?]) -> [Int?] {
        (0..<checked.thresholds.count).map { k in
            guard !checked.clipped[k], let trough = troughs[k], trough > checked.peaks[k] else { return nil }
            let upper = min(trough, dvdt.count)
            if let wider = within[k], wider < upper { return wider }
            return argmin(dvdt, checked.peaks[k] ..< upper)
        }
    }

    /// 7. Fast troughs: after the downstroke, the first dV/dt ≥ `fastTroughFraction` × downstroke; a spike without
    /// one (or without room for it) is marked clipped. Also returns the minimum of dV/dt each search started from (from
    /// the peak to the next unclipped threshold or the window end), which holds the downstroke's range.
    private func fastTroughIndexes(_ dvdt: Samples, _ checked: inout Checked, endIndex: Int) -> (fastTroughs: [Int?], minima: [Int?]) {
        var fastTroughs = [Int?](repeating: nil, count: checked.thresholds.count), minima = fastTroughs
        let valid = (0..<checked.thresholds.count).filter { !checked.clipped[$0] }
        for (j, k) in valid.enumerated() {
            let peak = checked.peaks[k]
            let next = j + 1 < valid.count ? checked.thresholds[valid[j + 1]] : endIndex
            let upper = min(next, dvdt.count)
            guard upper > peak else { checked.clipped[k] = true; continue }
            let downstroke = argmin(dvdt, peak ..< upper)
            minima[k] = downstroke
            let target = fastTroughFraction * dvdt[downstroke]
            let terminated = ionlink_first_at_or_above(dvdt.baseAddress!, downstroke, upper, target)
            if terminated < upper {
                fastTroughs[k] = terminated
            } else {
                checked.clipped[k] = true
            }
        }
        return (fastTroughs, minima)
    }

    /// 8. Full width at half height relative to threshold: from the last sample at or below the half level before the
    /// peak to the first after it, before the fast trough.
    private func halfHeightWidth(v: Samples, t: Samples, threshold: Int, peak: Int, fastTrough: Int) -> Double? {
        let level = (v[peak] - v[threshold]) / 2 + v[threshold]
        guard let rising = stride(from: peak, to: threshold, by: -1).first(where: { v[$0] <= level }),
              let falling = (peak ..< fastTrough).first(where: { v[$0] <= level }) else { return nil }
        return t[falling] - t[rising]
    }

    private func upstrokeIndexes(_ dvdt: Samples, _ spikes: [Int], _ peaks: [Int]) -> [Int]? {
        var result: [Int] = []
        for (spike, peak) in zip(spikes, peaks) {
            let upper = min(peak, dvdt.count)
            guard upper > spike else { return nil }
            result.append(argmax(dvdt, spike ..< upper))
        }
        return result
    }

    /// Threshold: searching back from each upstroke (to the previous upstroke), the first dV/dt ≤ 5% of
    /// the mean upstroke.
    private func refineThresholds(_ dvdt: Samples, _ upstrokes: [Int]) -> [Int] {
        let target = upstrokes.map { dvdt[$0] }.reduce(0, +) / Double(upstrokes.count) * thresholdFraction
        var result: [Int] = []
        var previous = 0
        for upstroke in upstrokes {
            result.append(lastAtOrBelow(dvdt, previous + 1 ..< max(previous + 1, upstroke + 1), target) ?? previous)
            previous = upstroke
        }
        return result
    }

    /// The reference's fallback: the maximum of the (filtered) third derivative between the upstroke and
    /// the voltage minimum after the previous peak.
    private func thirdDerivativeThresholds(v: Samples, third: Samples, peaks: [Int], upstrokes: [Int]) -> [Int]? {
        guard !third.isEmpty else { return nil }
        var result: [Int] = []
        var previousPeak = 0
        for (k, upstroke) in upstrokes.enumerated() {
            guard upstroke > previousPeak else { return nil }
            let stop = previousPeak + (argmin(v, previousPeak ..< upstroke) - previousPeak)
            let from = min(upstroke, third.count - 1)
            guard from > stop else { return nil }
            let best = Int(ionlink_last_argmax(third.baseAddress!, stop + 1, from + 1))
            result.append(upstroke - (from - best)) // the reference's index arithmetic, also when `from` was clamped
            previousPeak = peaks[k]
        }
        return result
    }

    /// Samples read in place (a trace, its derivative) by the detection steps.
    private typealias Samples = UnsafeBufferPointer<Double>

    private struct Checked {
        var thresholds: [Int]
        var peaks: [Int]
        var upstrokes: [Int]
        var clipped: [Bool]
    }

    private func checkThresholdsAndPeaks(v: Samples, t: Samples, dvdt: Samples, thresholds: [Int], peaks: [Int],
                                         upstrokes: [Int], endIndex: Int) -> Checked? {
        var thresholds = thresholds, peaks = peaks, upstrokes = upstrokes
        // Merge spikes whose threshold overlaps the previous peak.
        let overlaps = (0..<max(0, thresholds.count - 1)).filter { thresholds[$0 + 1] <= peaks[$0] + 1 }
        if !overlaps.isEmpty {
            let dropThreshold = Set(overlaps.map { $0 + 1 }), dropOther = Set(overlaps)
            thresholds = thresholds.enumerated().filter { !dropThreshold.contains($0.offset) }.map(\.element)
            peaks = peaks.enumerated().filter { !dropOther.contains($0.offset) }.map(\.element)
            upstrokes = upstrokes.enumerated().filter { !dropOther.contains($0.offset) }.map(\.element)
        }
        // Threshold-to-peak intervals of 5 ms or more: re-find the threshold, else the peak, else drop.
        let tooLong = (0..<thresholds.count).filter { t[peaks[$0]] - t[thresholds[$0]] >= maxInterval }
        if !tooLong.isEmpty {
            let target = upstrokes.map { dvdt[$0] }.reduce(0, +) / Double(upstrokes.count) * thresholdFraction
            var drop: [Int] = []
            for i in tooLong {
                let peak = peaks[i]
                let t0 = firstIndex(t, atOrAfter: t[peak] - maxInterval)
                if let below = lastAtOrBelow(dvdt, t0 + 1 ..< max(t0 + 1, upstrokes[i] + 1), target) {
                    thresholds[i] = below
                } else {
                    let spike = thresholds[i]
                    let t1 = firstIndex(t, atOrAfter: t[spike] + 2 * maxInterval)
                    guard t1 > spike else { drop.append(i); continue }
                    let newPeak = argmax(v, spike ..< t1)
                    if t[newPeak] - t[spike] < maxInterval && (i == thresholds.count - 1 || t[newPeak] < t[thresholds[i + 1]]) {
                        peaks[i] = newPeak
                    } else {
                        drop.append(i)
                    }
                }
            }
            if !drop.isEmpty {
                let dropped = Set(drop)
                thresholds = thresholds.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
                peaks = peaks.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
                upstrokes = upstrokes.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
            }
        }
        var clipped = [Bool](repeating: false, count: thresholds.count)
        if let lastPeak = peaks.last, let lastThreshold = thresholds.last {
            let level = v[lastThreshold] + clippingTolerance
            let upper = min(endIndex + 1, v.count)
            if lastPeak >= upper || lastAtOrBelow(v, lastPeak ..< upper, level) == nil { clipped[clipped.count - 1] = true }
        }
        return Checked(thresholds: thresholds, peaks: peaks, upstrokes: upstrokes, clipped: clipped)
    }

    // MARK: - Helpers (first occurrence, as NumPy's argmax/argmin)

    /// The first index of the maximum over `range` (non-empty, inside `x`), as the scalar loop with `>` finds it.
    private func argmax(_ x: Samples, _ range: Range<Int>) -> Int {
        Int(ionlink_argmax(x.baseAddress!, range.lowerBound, range.upperBound))
    }

    /// The first index of the minimum over `range`, as the scalar loop with `<` finds it.
    private func argmin(_ x: Samples, _ range: Range<Int>) -> Int {
        Int(ionlink_argmin(x.baseAddress!, range.lowerBound, range.upperBound))
    }

    private func clamped(_ i: Int, _ count: Int) -> Int { min(max(i, 0), count) }

    /// The last index in `range` where x ≤ level (NaN never is), as the scalar search down from its top finds it; nil
    /// if there is none.
    private func lastAtOrBelow(_ x: Samples, _ range: Range<Int>, _ level: Double) -> Int? {
        guard !range.isEmpty else { return nil }
        let found = Int(ionlink_last_at_or_below(x.baseAddress!, range.lowerBound, range.upperBound, level))
        return found < range.upperBound ? found : nil
    }

    private func firstIndex(_ t: Samples, atOrAfter value: Double) -> Int {
        min(t.partitioningIndex { $0 >= value }, t.count - 1)
    }
}
