import CSignalKernel
import IonLinkCore
@testable import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

@Suite struct BesselFilterTests {
    /// `scipy.signal.bessel(4, wn, 'low')` and `lfilter_zi` (SciPy 1.17.1).
    static let reference: [(wn: Double, b: [Double], a: [Double], zi: [Double])] = [
        (0.8, [0.38138399151799374, 1.525535966071975, 2.2883039491079624, 1.525535966071975, 0.38138399151799374],
         [1.0, 2.2201468813840997, 1.9601676844568536, 0.7969189685131353, 0.12491032993380484],
         [0.6186160084820073, 1.3132269237941343, 0.9850906591430276, 0.2564736615841888]),
        (0.75, [0.3002234028291162, 1.2008936113164648, 1.8013404169746972, 1.2008936113164648, 0.3002234028291162],
         [1.0, 1.8283888067551346, 1.4019477228529087, 0.5026964013007558, 0.07054151435705268],
         [0.6997765971708854, 1.327271792609558, 0.9278790984877717, 0.2296818884720634]),
        (0.4, [0.039277641267493425, 0.1571105650699737, 0.23566584760496057, 0.1571105650699737, 0.039277641267493425],
         [1.0, -0.7005030554063658, 0.4278977562758012, -0.11296969427337678, 0.014017253683834972],
         [0.9607223587325084, 0.10310873825616768, 0.2953406469270091, 0.02526038758365842]),
        (0.95, [0.780827126488694, 3.123308505954776, 4.684962758932164, 3.123308505954776, 0.780827126488694],
         [1.0, 3.5142395212350865, 4.642663814007806, 2.732137838439175, 0.6041928501370164],
         [0.21917287351130765, 0.610103888791624, 0.5678049438672734, 0.1766342763516767]),
    ]

    /// NumPy computes tan with its own SIMD routine, which differs from glibc by an ulp for some inputs
    /// (e.g. Wn = 0.8); the coefficients therefore agree to a few ulp, not bit for bit.
    @Test("Coefficients and initial state equal SciPy's to a few ulp", arguments: 0..<4)
    func design(case index: Int) {
        let r = Self.reference[index]
        let filter = BesselFilter(normalizedCutoff: r.wn)
        for (x, y) in zip(filter.b, r.b) { #expect(abs(x - y) <= 1e-15 * abs(y), "b \(x) vs \(y)") }
        for (x, y) in zip(filter.a, r.a) { #expect(abs(x - y) <= 1e-15 * abs(y), "a \(x) vs \(y)") }
        for (x, y) in zip(filter.zi, r.zi) { #expect(abs(x - y) <= 1e-15 * abs(y), "zi \(x) vs \(y)") }
    }

    @Test("The filtered derivative of a ramp is its slope; a Nyquist oscillation is removed")
    func behaviour() {
        let time = Trace.uniformTime(count: 400, dtMs: 0.1)
        let ramp = (0..<400).map { -65 + 0.5 * Double($0) } // 0.5 mV per 0.1 ms = 5 V/s
        let slope = SpikeDetector.derivative(ramp[...], time: time[...], filterKHz: 2)
        #expect(slope.count == 399)
        #expect(slope[50..<350].allSatisfy { abs($0 - 5) < 1e-9 }) // away from the edge transients
        let alternating = (0..<400).map { $0 % 2 == 0 ? 1.0 : -1.0 }
        let flat = SpikeDetector.derivative(alternating[...], time: time[...], filterKHz: 2)
        #expect(flat[100..<300].allSatisfy { abs($0) < 1e-6 })
    }

    /// SciPy's filtfilt (odd padding, steady-state initial conditions, direct form II transposed) and the derivative,
    /// written out for one signal in the order of operations SciPy uses.
    static func scalarFilteredDerivative(_ x: [Double], time: [Double], filter: BesselFilter) -> [Double] {
        let pad = BesselFilter.padding, n = x.count
        var y = (0..<pad).map { 2 * x[0] - x[pad - $0] } + x + (0..<pad).map { 2 * x[n - 1] - x[n - 2 - $0] }
        func pass(_ order: [Int]) {
            let x0 = y[order[0]]
            var z = filter.zi.map { $0 * x0 }
            for k in order {
                let xn = y[k]
                let yn = z[0] + filter.b[0] * xn
                z[0] = z[1] + xn * filter.b[1] - yn * filter.a[1]
                z[1] = z[2] + xn * filter.b[2] - yn * filter.a[2]
                z[2] = z[3] + xn * filter.b[3] - yn * filter.a[3]
                z[3] = xn * filter.b[4] - yn * filter.a[4]
                y[k] = yn
            }
        }
        pass(Array(y.indices))
        pass(Array(y.indices.reversed()))
        return (0..<(n - 1)).map { 1e-3 * (y[pad + $0 + 1] - y[pad + $0]) / (time[$0 + 1] - time[$0]) }
    }

    @Test("The batched kernel equals SciPy's filtfilt and derivative written out, bit for bit, for 1–16 signals of any length",
          arguments: [16, 17, 23, 24, 25, 40, 1003])
    func batchedKernel(length: Int) {
        let time = Trace.uniformTime(count: length, dtMs: 0.04)
        let filter = BesselFilter(cutoffKHz: 10, dt: time[1] - time[0])!
        var generator = SplitMix64(seed: UInt64(length))
        let signals = (0..<16).map { _ in (0..<length).map { _ in Double.random(in: -65 ..< -25, using: &generator) } }
        let expected = signals.map { Self.scalarFilteredDerivative($0, time: time, filter: filter) }
        for lanes in [1, 7, 8, 9, 16] {
            var out = [Double](repeating: .nan, count: lanes * (length - 1))
            let status = signals.withPointers(count: lanes) { inputs in
                out.withUnsafeMutableBufferPointer { o in
                    ionlink_filtered_derivative(filter.b, filter.a, filter.zi, Int32(BesselFilter.padding), inputs, time, length,
                                                Int32(lanes), (0..<lanes).map { o.baseAddress! + $0 * (length - 1) })
                }
            }
            #expect(status == 0)
            for l in 0..<lanes {
                #expect(Array(out[l * (length - 1) ..< (l + 1) * (length - 1)]) == expected[l], "\(lanes) lanes, signal \(l)")
            }
        }
    }

    @Test("In time chunks, the filtered dV/dt and the fallback's third derivative equal the whole signal's to ~1e-12 as far as they are needed: needs inside the first chunk, just past it, and up to the warm-up before the end; too short is refused")
    func chunkedDerivatives() throws {
        let traces = try Golden.traces(float32: false).prefix(6).map { Array($0) }
        let time = Trace.uniformTime(count: traces[0].count, dtMs: 0.04)
        let filter = try #require(BesselFilter(cutoffKHz: 10, dt: time[1] - time[0]))
        let n = time.count, warm = filter.chunkWarmUp, chunk = 2048
        let needed: [Int] = [1, 700, chunk, chunk + 5, 3 * chunk + 17, n - warm - 1]
        var whole = [Double](repeating: .nan, count: traces.count * (n - 1)), parts = whole
        var thirds = [Double](repeating: .nan, count: traces.count * (n - 3)), thirdParts = thirds
        var done = false, thirdsDone = false, refused = true
        let flat = traces.flatMap { $0 }
        var scratch = [Double](repeating: 0, count: traces.count * n)
        flat.withUnsafeBufferPointer { all in
            let inputs = traces.indices.map { all.baseAddress! + $0 * n }
            let valid = Array(repeating: n, count: inputs.count)
            time.withUnsafeBufferPointer { t in
                whole.withUnsafeMutableBufferPointer { filter.differentiate(inputs, samples: n, time: t.baseAddress!, into: $0.baseAddress!) }
                parts.withUnsafeMutableBufferPointer {
                    done = filter.differentiateInChunks(inputs, valid: valid, needed: needed, time: t.baseAddress!,
                                                        into: $0.baseAddress!, rowStride: n - 1, chunk: chunk)
                }
                scratch.withUnsafeMutableBufferPointer {
                    refused = !filter.differentiateInChunks(inputs, valid: valid, needed: needed.map { _ in n - warm },
                                                            time: t.baseAddress!, into: $0.baseAddress!, rowStride: n, chunk: chunk)
                }
                whole.withUnsafeBufferPointer { first in
                    let rows = (0..<5).map { UnsafePointer(first.baseAddress! + $0 * (n - 1)) }
                    thirds.withUnsafeMutableBufferPointer {
                        SpikeDetector.thirdDerivatives(of: rows, length: n - 1, time: t.baseAddress!, filterKHz: 10, into: $0.baseAddress!)
                    }
                    thirdParts.withUnsafeMutableBufferPointer {
                        thirdsDone = SpikeDetector.thirdDerivativesInChunks(of: rows, length: n - 1, needed: Array(needed.prefix(5)),
                                                                           time: t.baseAddress!, filterKHz: 10, into: $0.baseAddress!)
                    }
                }
            }
        }
        #expect(refused && scratch.allSatisfy { $0 == 0 })
        // On the paper's protocol the rows `.fast` filters leave room for chunks up to the window's end.
        let window = try #require(SpikeDetector().window(time: time, start: 0.1, end: 0.7))
        let filtered = FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700, derivatives: .fast).filteredSamples(time: time)
        var room = [Double](repeating: 0, count: filtered)
        let fits = whole.withUnsafeBufferPointer { first in
            time.withUnsafeBufferPointer { t in
                room.withUnsafeMutableBufferPointer {
                    SpikeDetector.thirdDerivativesInChunks(of: [first.baseAddress!], length: filtered - 1, needed: [window.upperBound + 1],
                                                           time: t.baseAddress!, filterKHz: 10, into: $0.baseAddress!)
                }
            }
        }
        #expect(fits)
        #expect(done && thirdsDone)
        /// Whether row r of `chunked` equals row r of `reference` (rows of `stride` values) over its first `count` values,
        /// to 1e-12 of the row's largest magnitude; records the first value that does not.
        func agree(_ chunked: [Double], _ reference: [Double], row r: Int, stride: Int, count: Int, _ what: String) {
            let row: ArraySlice<Double> = reference[r * stride ..< (r + 1) * stride]
            let scale: Double = row.reduce(0) { max($0, abs($1)) }
            for k in 0..<count {
                let x: Double = chunked[r * stride + k], y: Double = reference[r * stride + k]
                if !(abs(x - y) <= 1e-12 * scale) { Issue.record("trace \(r), \(what) \(k) of \(count): \(x) vs \(y)"); return }
            }
        }
        for (r, need) in needed.enumerated() {
            agree(parts, whole, row: r, stride: n - 1, count: need, "dV/dt")
            if r < 5 { agree(thirdParts, thirds, row: r, stride: n - 3, count: need, "third derivative") }
        }
    }

    @Test("The upward-crossing, below-level, first-at-or-above and last-at-or-below scans equal the scalar loops, NaN included", arguments: [0, 1, 2, 31, 32, 33, 65, 1000])
    func scans(length: Int) {
        var generator = SplitMix64(seed: UInt64(length) + 3)
        var x = (0..<length).map { _ in Double.random(in: -5 ..< 5, using: &generator) }
        for k in stride(from: 7, to: length, by: 29) { x[k] = .nan }
        let level = 2.5
        x.withUnsafeBufferPointer { p in
            for from in [0, 1, 30, 40] where from <= length {
                let expected = (from ..< max(from, length - 1)).first { !(x[$0] >= level) && x[$0 + 1] >= level } ?? length
                #expect(ionlink_next_upward_crossing(p.baseAddress, from, length, level) == expected, "from \(from)")
            }
            for (start, end) in [(0, length), (length / 3, length), (0, length / 2)] {
                let expected = x[start ..< end].contains { $0 < -4.9 }
                #expect((ionlink_any_below(p.baseAddress.map { $0 + start }, end - start, -4.9) != 0) == expected, "[\(start), \(end))")
            }
            for (start, end) in [(0, length), (length / 3, length), (0, length / 2), (min(33, length), length)] {
                for level in [-4.99, 0, 4.9, 6] {
                    let first = (start ..< end).first { x[$0] >= level } ?? end
                    #expect(ionlink_first_at_or_above(p.baseAddress, start, end, level) == first, "first ≥ \(level) in [\(start), \(end))")
                    let last = stride(from: end - 1, through: start, by: -1).first { x[$0] <= -level } ?? end
                    #expect(ionlink_last_at_or_below(p.baseAddress, start, end, -level) == last, "last ≤ \(-level) in [\(start), \(end))")
                }
            }
        }
    }

    @Test("argmax and argmin equal the scalar loops (first of ties), and the backward argmax the loop from the top (last of ties): NaN skipped (or taken if it leads), ±0", arguments: [0, 1, 2, 7, 8, 9, 17, 64, 1001])
    func extrema(length: Int) {
        var generator = SplitMix64(seed: UInt64(length) + 11)
        // Few distinct values, so that ties are common; some NaN and signed zeros.
        var x = (0..<length).map { _ in Double(Int.random(in: -3 ... 3, using: &generator)) }
        for k in stride(from: 5, to: length, by: 13) { x[k] = .nan }
        for k in stride(from: 3, to: length, by: 11) { x[k] = -0.0 }
        func scalar(_ from: Int, _ to: Int, _ better: (Double, Double) -> Bool) -> Int {
            var best = from
            for i in from..<to where better(x[i], x[best]) { best = i }
            return best
        }
        x.withUnsafeBufferPointer { p in
            for (from, to) in [(0, length), (min(1, length), length), (length / 3, length), (0, length / 2), (min(5, length), length)] {
                #expect(ionlink_argmax(p.baseAddress, from, to) == scalar(from, to, >), "argmax [\(from), \(to))")
                #expect(ionlink_argmin(p.baseAddress, from, to) == scalar(from, to, <), "argmin [\(from), \(to))")
                var last = max(from, to - 1)
                for i in stride(from: to - 1, through: from, by: -1) where x[i] > x[last] { last = i }
                #expect(ionlink_last_argmax(p.baseAddress, from, to) == last, "last argmax [\(from), \(to))")
            }
        }
    }

    @Test("The batched sums and central moments equal the scalar loops bit for bit", arguments: [1, 7, 8, 9, 16])
    func batchedMoments(lanes: Int) {
        var generator = SplitMix64(seed: 7)
        let signals = (0..<lanes).map { _ in (0..<1001).map { _ in Double.random(in: -65 ..< -25, using: &generator) } }
        for (from, to) in [(0, 1001), (3, 3), (5, 12), (17, 996)] {
            var sums = [Double](repeating: 1.5, count: lanes)
            var m2 = [Double](repeating: 0, count: lanes), m3 = m2
            let means = signals.map { $0[0] }
            signals.withPointers(count: lanes) { inputs in
                ionlink_add_sums(inputs, Int32(lanes), from, to, &sums)
                ionlink_central_moments(inputs, Int32(lanes), from, to, means, &m2, &m3)
            }
            for l in 0..<lanes {
                var sum = 1.5, second = 0.0, third = 0.0
                for k in from..<to {
                    sum += signals[l][k]
                    let d = signals[l][k] - means[l]
                    second += d * d
                    third += d * d * d
                }
                #expect(sums[l] == sum && m2[l] == second && m3[l] == third, "[\(from), \(to)), signal \(l)")
            }
        }
    }
}

extension Array where Element == [Double] {
    /// Calls `body` with the base addresses of the first `count` arrays.
    func withPointers<R>(count: Int, _ body: ([UnsafePointer<Double>?]) -> R) -> R {
        var pointers: [UnsafePointer<Double>?] = []
        func nest(_ i: Int) -> R {
            guard i < count else { return body(pointers) }
            return self[i].withUnsafeBufferPointer { pointers.append($0.baseAddress); return nest(i + 1) }
        }
        return nest(0)
    }
}
