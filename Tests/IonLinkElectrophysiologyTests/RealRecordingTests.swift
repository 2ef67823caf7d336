import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkTestSupport
import Testing

/// The reference extractor on the bluepyefe recordings (Golden/real_*.csv): dt 0.25 ms (4 kHz), filter
/// 1.5 kHz, window = the step, no LJP correction, the sweep's own filter for the third-derivative fallback.
@Suite struct RealRecordingTests {
    @Test("Spike counts, clipping and first-spike values per sweep equal the reference")
    func sweepFeatures() throws {
        let table = try CSVTable.read(Golden.path("real_sweep_features.csv"))
        let c = { (name: String) in try table.column(name) }
        let recording = try c("recording"), sweep = try c("sweep"), spikes = try c("n_spikes"), clipped = try c("n_clipped")
        let threshold = try c("first_threshold_v"), peak = try c("first_peak_v"), width = try c("first_width_ms"), ahp = try c("first_ahp")
        let rate = try c("avg_rate"), isiCV = try c("isi_cv"), adapt = try c("adapt"), apCV = try c("AP_cv")
        var analyses: [String: [SweepAnalysis]] = [:]
        for r in 0..<table.rows.count {
            let name = table.rows[r][recording]
            if analyses[name] == nil {
                let file = Golden.repository + "/data/recordings/bluepyefe/\(name).csv"
                analyses[name] = try Recording.read(file).sweeps.flatMap { SweepAnalysis.analyse($0, file: file) }
            }
            let a = analyses[name]![Int(table.rows[r][sweep])!]
            let place = "\(name) sweep \(table.rows[r][sweep])"
            #expect(Double(a.spikeCount) == (try table.number(row: r, column: spikes)), "\(place)")
            #expect(Double(a.train.spikes.filter(\.clipped).count) == (try table.number(row: r, column: clipped)), "\(place)")
            let first = try #require(a.train.spikes.first)
            func close(_ x: Double?, _ column: Int, _ what: String) throws {
                let y = try table.number(row: r, column: column)
                #expect(abs((x ?? .nan) - y) <= 1e-6 * max(1, abs(y)), "\(place) \(what): \(x ?? .nan) vs \(y)")
            }
            try close(first.thresholdVoltage, threshold, "threshold")
            try close(first.peakVoltage, peak, "peak")
            try close(first.width.map { $0 * 1000 }, width, "width")
            try close(first.fastTroughVoltage.map { $0 - first.thresholdVoltage }, ahp, "AHP")
            try close(a.rate, rate, "rate")
            let isis = a.isis
            try close(Statistics.standardDeviation(isis) / Statistics.mean(isis), isiCV, "ISI CV")
            try close(Statistics.adaptationIndex(isis), adapt, "adaptation index")
            let heights = a.train.spikes.map(\.height)
            try close(Statistics.standardDeviation(heights) / Statistics.mean(heights), apCV, "AP CV")
        }
    }

    @Test("Spike by spike on the real sweeps: threshold, peak, trough, fast trough, width")
    func spikes() throws {
        let table = try CSVTable.read(Golden.path("real_spikes.csv"))
        let c = { (name: String) in try table.column(name) }
        let recording = try c("recording"), sweep = try c("sweep"), spike = try c("spike")
        let threshold = try c("threshold_index"), peak = try c("peak_index"), fastTrough = try c("fast_trough_index"), width = try c("width")
        var trains: [String: [SpikeTrain]] = [:]
        for r in 0..<table.rows.count {
            let name = table.rows[r][recording]
            if trains[name] == nil {
                let file = Golden.repository + "/data/recordings/bluepyefe/\(name).csv"
                trains[name] = try Recording.read(file).sweeps.flatMap { SweepAnalysis.analyse($0, file: file) }.map(\.train)
            }
            let s = trains[name]![Int(table.rows[r][sweep])!].spikes[Int(table.rows[r][spike])!]
            let place = "\(name) sweep \(table.rows[r][sweep]) spike \(table.rows[r][spike])"
            #expect(Double(s.thresholdIndex) == Double(table.rows[r][threshold]), "\(place) threshold")
            #expect(Double(s.peakIndex) == Double(table.rows[r][peak]), "\(place) peak")
            #expect(s.fastTroughIndex.map(Double.init) == Double(table.rows[r][fastTrough]), "\(place) fast trough")
            let w = Double(table.rows[r][width]) ?? .nan
            #expect(w.isNaN ? s.width == nil : abs((s.width ?? .nan) - w) < 1e-12, "\(place) width")
        }
        #expect(table.rows.count == 581)
    }
}
