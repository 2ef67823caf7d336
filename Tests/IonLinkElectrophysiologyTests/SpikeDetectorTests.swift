import IonLinkCore
import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

@Suite struct SpikeDetectorTests {
    /// A golden trace with its dV/dt, the window's own dV/dt and its window, as `SpikeDetector.spikes(in:)` computes them.
    struct Case {
        var voltage: [Double], time: [Double], derivative: [Double], windowDerivative: [Double], window: ClosedRange<Int>
        var start: Double
    }

    static func cases() throws -> [Case] {
        let detector = SpikeDetector()
        return try Golden.traces(float32: false).map { voltage in
            let trace = Trace(voltage: voltage, dtMs: 0.04, startMs: 100, endMs: 700)
            let window = detector.window(of: trace)!
            return Case(voltage: voltage, time: trace.time,
                        derivative: SpikeDetector.derivative(voltage[...], time: trace.time[...], filterKHz: detector.filterKHz),
                        windowDerivative: SpikeDetector.derivative(voltage[window], time: trace.time[window], filterKHz: detector.filterKHz),
                        window: window, start: trace.start)
        }
    }

    /// The spikes of `c` from its window dV/dt split at `joins` (head, body, tail).
    static func spikes(_ c: Case, joins: (Int, Int)? = nil) -> SpikeTrain {
        let detector = SpikeDetector()
        return c.voltage.withUnsafeBufferPointer { v in
            c.time.withUnsafeBufferPointer { t in
                c.derivative.withUnsafeBufferPointer { d in
                    c.windowDerivative.withUnsafeBufferPointer { w in
                        let window: SpikeDetector.WindowDerivative
                        if let (a, b) = joins {
                            window = .init(head: UnsafeBufferPointer(rebasing: w[..<a]), body: UnsafeBufferPointer(rebasing: w[a..<b]),
                                           tail: UnsafeBufferPointer(rebasing: w[b...]))
                        } else {
                            window = .init(w)
                        }
                        return detector.spikes(voltage: v, time: t, start: c.start, window: c.window, derivative: d, windowDerivative: window)
                    }
                }
            }
        }
    }

    @Test("The window's dV/dt in three pieces gives the spikes it gives in one, wherever the joins fall: between the two samples of an upward crossing of the putative-spike level, inside a fall below 0, at the ends")
    func windowDerivativeInPieces() throws {
        let cases = try Self.cases()
        var crossingsCut = 0
        for (i, c) in cases.enumerated() {
            let whole = Self.spikes(c)
            let w = c.windowDerivative, level = SpikeDetector().dvCutoff
            let crossings = (0..<(w.count - 1)).filter { !(w[$0] >= level) && w[$0 + 1] >= level }
            let dips = (0..<w.count).filter { w[$0] < 0 }
            var joins = [(0, w.count), (0, 0), (w.count, w.count), (1, w.count - 1), (w.count / 3, 2 * w.count / 3)]
            if let first = crossings.first, let last = crossings.last, first + 1 < last + 1 {
                joins.append((first + 1, last + 1)) // x[i] ends one piece, x[i + 1] starts the next
                crossingsCut += 1
            }
            if dips.count > 2 { joins.append((dips[dips.count / 3], dips[2 * dips.count / 3])) }
            for (a, b) in joins {
                let pieces = Self.spikes(c, joins: (a, b))
                #expect(pieces.spikes == whole.spikes && pieces.usedThirdDerivative == whole.usedThirdDerivative,
                        "trace \(i), joins \(a), \(b): \(pieces.spikes.count) spikes vs \(whole.spikes.count)")
            }
        }
        #expect(crossingsCut > 10)
        #expect(cases.contains { Self.spikes($0).usedThirdDerivative }, "no golden trace takes the threshold fallback")
    }

    @Test("Each downstroke is the first minimum of dV/dt from its peak up to its trough (found from the fast trough's search where that lies before the trough)")
    func downstrokes() throws {
        var checked = 0
        for c in try Self.cases() {
            for spike in Self.spikes(c).spikes {
                guard let trough = spike.troughIndex, let downstroke = spike.downstrokeIndex else { continue }
                var first = spike.peakIndex
                for k in spike.peakIndex ..< min(trough, c.derivative.count) where c.derivative[k] < c.derivative[first] { first = k }
                #expect(downstroke == first, "peak \(spike.peakIndex), trough \(trough)")
                checked += 1
            }
        }
        #expect(checked > 100)
    }
}
