import Foundation
import IonLinkCore

/// The HTML report of `ionlink run`: what was run, the MAP check against the paper's numbers, the gene
/// regression's cross-validation, the figures, and links to every table.
public struct PipelineReport {
    public var folder: String
    public var settings: [(String, String)]
    /// Per cell: the MAP check distance (nil: failed or incomplete).
    public var distances: [Double?]
    public var failedFraction: Double
    public var recordingPlots: [String]
    public var timings: [(String, Double)]

    public init(folder: String, settings: [(String, String)], distances: [Double?], failedFraction: Double, recordingPlots: [String],
                timings: [(String, Double)]) {
        self.folder = folder; self.settings = settings; self.distances = distances; self.failedFraction = failedFraction
        self.recordingPlots = recordingPlots; self.timings = timings
    }

    /// Writes `map_distance.png` and `report.html` into the folder (atomically).
    public func write() throws {
        let usable = distances.compactMap { $0 }
        try Self.histogram(usable, xLabel: "distance of the re-simulated MAP to the observed features (z-scored)",
                           title: "MAP check, \(usable.count) cells", to: folder + "/map_distance.png")
        let mean = usable.reduce(0, +) / Double(max(1, usable.count))
        let sd = (usable.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, usable.count))).squareRoot()
        let median = usable.isEmpty ? .nan : usable.sorted()[usable.count / 2]
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>IonLink report</title>
        <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%}</style></head><body>
        <h1>IonLink report</h1>
        <p>Patch-seq firing linked to ion-channel genes through the Hodgkin–Huxley model of Bernaerts et al. (2025), on the
        shipped M1 data (Scala et al. 2021). Every number below comes from the tables in this folder.</p>
        <h2>Settings</h2>\(Self.table(header: ["setting", "value"], rows: settings.map { [$0.0, $0.1] }))
        <h2>Posteriors: the MAP check</h2>
        <p>Each cell's MAP (the best of its posterior samples) re-simulated with noise; a MAP fails when a feature is undefined.
        The paper (15 M simulations, k = 1000): 2.51% failed, distance 4.35 ± 2.86.</p>
        \(Self.table(header: ["failed", "distance mean ± SD", "median", "cells scored"],
                     rows: [[String(format: "%.2f%%", 100 * failedFraction), String(format: "%.2f ± %.2f", mean, sd),
                             String(format: "%.2f", median), "\(usable.count)"]]))
        <p><img src="map_distance.png" alt="MAP distances"></p>
        <p>Tables: <a href="fits/map.csv">fits/map.csv</a> (MAPs), <a href="fits/posterior_mean.csv">posterior_mean.csv</a>,
        <a href="fits/samples.npy">samples.npy</a> (float32 [cells, samples, 13]), <a href="fits/map_check.csv">map_check.csv</a>,
        <a href="fits/map_features.csv">map_features.csv</a>.</p>
        <h2>Genes → parameters: sparse reduced-rank regression</h2>
        <p>Ion-channel genes (GO list + markers) → the 13 fitted MAP parameters; 10-fold cross-validation (the paper, rank 2:
        R² 0.170 ± 0.026).</p>
        """
        if let cv = try? CSVTable.read(folder + "/regression/cv_summary.csv") {
            let columns = ["rank", "lambda", "mean_n_genes", "r2_test_relaxed_mean", "r2_test_relaxed_sd"]
            let index = columns.compactMap { cv.header.firstIndex(of: $0) }
            html += Self.table(header: columns, rows: cv.rows.map { row in index.map { Self.rounded(row[$0]) } })
        }
        html += """
        <p><img src="regression/biplot.png" alt="bi-plot"></p>
        <p>Tables: <a href="regression/genes.csv">genes.csv</a>, <a href="regression/loadings.csv">loadings.csv</a>,
        <a href="regression/r2_per_output.csv">r2_per_output.csv</a>, <a href="regression/cv.csv">cv.csv</a>,
        <a href="regression/report.txt">report.txt</a>.</p>
        """
        if !recordingPlots.isEmpty {
            html += "<h2>Shipped recordings</h2><p>Features: <a href=\"recordings/cells.csv\">recordings/cells.csv</a>, "
                + "<a href=\"recordings/sweeps.csv\">sweeps.csv</a>.</p>"
                + recordingPlots.map { "<p><img src=\"recordings/plots/\($0)\" alt=\"\($0)\"></p>" }.joined()
        }
        html += "<h2>Run time</h2>" + Self.table(header: ["step", "seconds"], rows: timings.map { [$0.0, $0.1 > 0 ? String(format: "%.1f", $0.1) : "reused"] })
        html += "<p>Simulation bank: <a href=\"bank/\">bank/</a> (see <code>ionlink bank info</code>); estimator: <a href=\"model.json\">model.json</a>.</p></body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: folder + "/report.html")
    }

    static func rounded(_ field: String) -> String {
        guard Int(field) == nil, let v = Double(field) else { return field }
        return String(format: "%.3f", v)
    }

    static func table(header: [String], rows: [[String]]) -> String {
        func escaped(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
        return "<table><tr>" + header.map { "<th>\(escaped($0))</th>" }.joined() + "</tr>"
            + rows.map { "<tr>" + $0.map { "<td>\(escaped($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }

    /// A step histogram of `values` (30 bins) as PNG.
    static func histogram(_ values: [Double], xLabel: String, title: String, to path: String) throws {
        let figure = Figure(width: 720, height: 420)
        let range = Figure.paddedRange(values.isEmpty ? [0, 1] : values)
        let bins = 30, width = (range.upperBound - range.lowerBound) / Double(bins)
        var counts = [Double](repeating: 0, count: bins)
        for v in values { counts[min(bins - 1, max(0, Int((v - range.lowerBound) / width)))] += 1 }
        let panel = Figure.Panel(x: 70, y: 40, width: 620, height: 320, xRange: range, yRange: 0...max(1, (counts.max() ?? 1) * 1.1))
        figure.axes(panel, xLabel: xLabel, yLabel: "cells", title: title)
        var x: [Double] = [], y: [Double] = []
        for (k, c) in counts.enumerated() {
            x += [range.lowerBound + Double(k) * width, range.lowerBound + Double(k + 1) * width]
            y += [c, c]
        }
        figure.line(panel, x: x, y: y, color: .blue, width: 2)
        try figure.writePNG(to: path)
    }
}
