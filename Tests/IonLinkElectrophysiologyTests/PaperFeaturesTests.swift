import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

@Suite struct PaperFeaturesTests {
    static func goldenTraces(float32: Bool) throws -> [Trace] {
        try Golden.traces(float32: float32).map { Trace(voltage: $0, dtMs: 0.04, startMs: 100, endMs: 700) }
    }

    /// Same NaN pattern; values within 1e-3 (absolute, or relative above 1).
    static func compare(_ ours: [Double], _ theirs: [Double], id: String) {
        for (j, (x, y)) in zip(ours, theirs).enumerated() {
            let name = PaperFeatures.names[j]
            if y.isNaN { #expect(x.isNaN, "\(id) \(name): expected NaN, got \(x)"); continue }
            if y.isInfinite { #expect(x == y, "\(id) \(name): expected \(y), got \(x)"); continue }
            let tolerance = 1e-3 * max(1, abs(y))
            #expect(abs(x - y) <= tolerance, "\(id) \(name): \(x) vs \(y)")
        }
    }

    @Test("The time axis equals the golden one bit for bit")
    func timeAxis() throws {
        let reference = try NPYArray.read(Golden.path("sim_time_ms.npy")).values
        let ours = Trace.uniformTime(count: reference.count, dtMs: 0.04)
        #expect(zip(ours, reference).allSatisfy { $0.0 == $0.1 / 1e3 })
    }

    @Test("The 23 features of the 29 golden float64 traces equal the reference", arguments: [false, true])
    func goldenFeatures(float32: Bool) throws {
        let table = try CSVTable.read(Golden.path(float32 ? "sim_features_from_f32_traces.csv" : "sim_features.csv"))
        let traces = try Self.goldenTraces(float32: float32)
        #expect(table.rows.count == traces.count)
        for (i, trace) in traces.enumerated() {
            let spikes = SpikeDetector().spikes(in: trace)
            let ours = PaperFeatures.values(for: trace, spikes: spikes)
            let theirs = (1...23).map { Double(table.rows[i][$0]) ?? .nan } // pandas writes NaN as an empty field
            Self.compare(ours, theirs, id: table.rows[i][0])
        }
    }

    @Test("The fast derivatives (the window's dV/dt from the whole trace's, the trace filtered up to the window's end and a tail, the fallback's third derivative in chunks), on the 29 golden traces, the window as the reference's and moved to cut spikes at its edges: taken (the window's filter is the trace's but for the time grid's rounding), and features as the reference's within 1e-9")
    func fastDerivatives() throws {
        let traces = try Golden.traces(float32: false)
        let time = Trace.uniformTime(count: traces[0].count, dtMs: 0.04)
        // The reference's window, and one whose edges fall in the middle of spiking (1.5 ms after a step-on spike
        // train has started, 0.7 ms before the end of a spike), where the window's dV/dt differs from the whole trace's.
        for (startMs, endMs) in [(100.0, 700.0), (101.5, 352.3), (250.0, 651.1)] {
            let exact = FeatureExtractor(dtMs: 0.04, startMs: startMs, endMs: endMs)
            var single = exact
            single.derivatives = .fast
            // The shortcut is taken: the window's first two times differ by 4e-5 s only up to the grid's rounding.
            #expect(single.effectiveDerivatives(time: time) == .fast, "window \(startMs)–\(endMs) ms")
            #expect(exact.effectiveDerivatives(time: time) == .reference)
            let rows = traces.flatMap { $0 }
            let reference = exact.features(ofRows: rows, rows: traces.count, threads: 2)
            let ours = single.features(ofRows: rows, rows: traces.count, threads: 2)
            let columns = PaperFeatures.count
            for i in traces.indices {
                let x = Array(ours[i * columns ..< (i + 1) * columns]), y = Array(reference[i * columns ..< (i + 1) * columns])
                for j in 0..<columns {
                    #expect(x[j].isNaN == y[j].isNaN && (x[j].isNaN || abs(x[j] - y[j]) <= 1e-9 * max(1, abs(y[j]))),
                            "trace \(i), window \(startMs)–\(endMs) ms, \(PaperFeatures.names[j]): \(x[j]) vs \(y[j])")
                }
            }
        }
    }

    @Test("The fast derivatives on traces too short for the fallback's chunks (88 ms cut from the golden traces around the step's onset) give the reference's features within 1e-9, the fallback from whole rows")
    func fastDerivativesShortTraces() throws {
        let traces = try Golden.traces(float32: false).map { Array($0[2000 ..< 4200]) }
        let exact = FeatureExtractor(dtMs: 0.04, startMs: 20, endMs: 80)
        var fast = exact
        fast.derivatives = .fast
        #expect(fast.effectiveDerivatives(time: Trace.uniformTime(count: 2200, dtMs: 0.04)) == .fast)
        #expect(traces.contains { exact.detector.spikes(in: Trace(voltage: $0, dtMs: 0.04, startMs: 20, endMs: 80)).usedThirdDerivative })
        let rows = traces.flatMap { $0 }
        let reference = exact.features(ofRows: rows, rows: traces.count, threads: 1)
        let ours = fast.features(ofRows: rows, rows: traces.count, threads: 1)
        for (k, (x, y)) in zip(ours, reference).enumerated() {
            #expect(x.isNaN == y.isNaN && (x.isNaN || abs(x - y) <= 1e-9 * max(1, abs(y))),
                    "trace \(k / PaperFeatures.count), \(PaperFeatures.names[k % PaperFeatures.count]): \(x) vs \(y)")
        }
    }

    @Test("The fast derivatives fall back to the reference's where the window is sampled at another interval or is too short for its re-filtered edges")
    func fastDerivativesFallBack() {
        var extractor = FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700, derivatives: .fast)
        var time = Trace.uniformTime(count: 20_000, dtMs: 0.04)
        #expect(extractor.effectiveDerivatives(time: time) == .fast)
        for k in 2400..<time.count { time[k] = time[2399] + Double(k - 2399) * 4.4e-5 } // 10% slower from before the window on
        #expect(extractor.effectiveDerivatives(time: time) == .reference)
        extractor.endMs = 104 // 100 samples: not more than its two edges of 2·76
        #expect(extractor.effectiveDerivatives(time: Trace.uniformTime(count: 20_000, dtMs: 0.04)) == .reference)
        // Where it is taken, the traces are filtered only up to the window's end and a tail of a few hundred samples.
        let paperTime = Trace.uniformTime(count: 20_000, dtMs: 0.04)
        let fast = FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700, derivatives: .fast)
        #expect(fast.filteredSamples(time: paperTime) > 17_500 + 300 && fast.filteredSamples(time: paperTime) < 18_000)
        #expect(FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700).filteredSamples(time: paperTime) == 20_000)
        #expect(FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 795, derivatives: .fast).filteredSamples(time: paperTime) == 20_000)
        #expect(extractor.filteredSamples(time: paperTime) == 20_000) // the 4 ms window: the reference's derivatives
        #expect(FeatureExtractor.Derivatives(for: .float32) == .fast)
        #expect(FeatureExtractor.Derivatives(for: .float64) == .reference)
    }

    @Test("Traces in blocks of up to 16 get the features each gets alone, bit for bit (spiking, silent, NaN; any length)",
          arguments: [20_000, 19_997])
    func blocksEqualSingleTraces(samples: Int) throws {
        var traces = try Golden.traces(float32: false).map { Array($0.prefix(samples)) }
        traces.append([Double](repeating: -70, count: samples))                                  // flat
        traces.append((0..<samples).map { -60 + 25 * sin(Double($0) / 300) })                    // peaks at −35 mV: never filtered
        var gap = traces[0]
        gap[9000] = .nan                                                                         // one bad sample
        traces.append(gap)
        let extractor = FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700)
        let blocks = extractor.features(ofRows: traces.flatMap { $0 }, rows: traces.count, threads: 2)
        for (i, trace) in traces.enumerated() {
            let alone = extractor.features(of: trace)
            let inBlock = Array(blocks[i * PaperFeatures.count ..< (i + 1) * PaperFeatures.count])
            #expect(zip(alone, inBlock).allSatisfy { $0.0.bitPattern == $0.1.bitPattern }, "trace \(i): \(alone) vs \(inBlock)")
        }
        #expect(traces.contains { extractor.features(of: $0)[PaperFeatures.Index.apCount.rawValue].isNaN })
        // Blocks finish the detections that wait for the third derivative: some traces here take that path.
        #expect(traces.contains { SpikeDetector().spikes(in: Trace(voltage: $0, dtMs: 0.04, startMs: 100, endMs: 700)).usedThirdDerivative })
    }

    @Test("Spike counts, clipping and the third-derivative fallback match sim_spikes.csv")
    func goldenSpikeSummary() throws {
        let table = try CSVTable.read(Golden.path("sim_spikes.csv"))
        let count = try table.column("n_spikes_extractor"), clipped = try table.column("n_clipped_extractor")
        let third = try table.column("third_deriv_refinement_called")
        let traces = try Self.goldenTraces(float32: false)
        for (i, trace) in traces.enumerated() {
            let train = SpikeDetector().spikes(in: trace)
            let id = table.rows[i][0]
            #expect(Double(train.spikes.count) == (try table.number(row: i, column: count)), "\(id)")
            #expect(Double(train.spikes.filter(\.clipped).count) == (try table.number(row: i, column: clipped)), "\(id)")
            #expect(train.usedThirdDerivative == (table.rows[i][third] == "True"), "\(id)")
        }
    }

    @Test("Spike by spike: thresholds, peaks, troughs, fast troughs, upstrokes, downstrokes, widths")
    func goldenSpikes() throws {
        let table = try CSVTable.read(Golden.path("sim_extractor_spikes.csv"))
        let ids = try Golden.ids()
        let traces = try Self.goldenTraces(float32: false)
        let trains = traces.map { SpikeDetector().spikes(in: $0) }
        let c = { (name: String) in try table.column(name) }
        let columns = try (id: c("id"), spike: c("spike"), threshold: c("threshold_index"), peak: c("peak_index"),
                           trough: c("trough_index"), fastTrough: c("fast_trough_index"), upstroke: c("upstroke_index"),
                           downstroke: c("downstroke_index"), width: c("width"), clipped: c("clipped"))
        var compared = 0
        for r in 0..<table.rows.count {
            let row = table.rows[r]
            let train = trains[ids.firstIndex(of: row[columns.id])!]
            let k = Int(row[columns.spike])!
            guard k < train.spikes.count else { Issue.record("\(row[columns.id]) spike \(k) missing"); continue }
            let s = train.spikes[k]
            func index(_ column: Int) -> Int? { Double(row[column]).flatMap { $0.isNaN ? nil : Int($0) } }
            let place = "\(row[columns.id]) spike \(k)"
            #expect(s.thresholdIndex == index(columns.threshold), "\(place) threshold")
            #expect(s.peakIndex == index(columns.peak), "\(place) peak")
            #expect(s.troughIndex == index(columns.trough), "\(place) trough")
            #expect(s.fastTroughIndex == index(columns.fastTrough), "\(place) fast trough")
            #expect(s.upstrokeIndex == index(columns.upstroke), "\(place) upstroke")
            #expect(s.downstrokeIndex == index(columns.downstroke), "\(place) downstroke")
            #expect(s.clipped == (row[columns.clipped] == "True"), "\(place) clipped")
            let width = Double(row[columns.width]) ?? .nan
            if width.isNaN { #expect(s.width == nil, "\(place) width") } else { #expect(abs((s.width ?? .nan) - width) < 1e-12, "\(place) width") }
            compared += 1
        }
        #expect(compared == table.rows.count)
        #expect(trains.map(\.spikes.count).reduce(0, +) == table.rows.count)
    }

    @Test("The catalogue: 23 entries in Index order, names as the paper's files, and the docs table generated from it")
    func catalogue() throws {
        #expect(PaperFeatures.count == 23 && PaperFeatures.Index.allCases.count == PaperFeatures.count)
        #expect(PaperFeatures.names[PaperFeatures.Index.apCount.rawValue] == "AP count")
        #expect(PaperFeatures.names[PaperFeatures.Index.stepSkewness.rawValue] == "$V_{m}$ skewness")
        let header = try CSVTable.read(Golden.repository + "/data/m1/M1_features_X_o.csv.gz").header
        #expect(Array(header[1...23]) == PaperFeatures.names)
        let docs = try String(contentsOfFile: Golden.repository + "/docs/reference/features.md", encoding: .utf8)
        #expect(docs.contains("(a test keeps them equal) -->\n" + PaperFeatures.markdownTable + "<!-- /catalogue -->"),
                "docs/reference/features.md: regenerate the table with `ionlink features --catalogue`")
    }
}
