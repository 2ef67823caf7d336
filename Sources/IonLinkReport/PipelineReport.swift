import Foundation
import IonLinkCore

/// The HTML report of `ionlink run`: what was run, the fits scored as the paper scores them (overall and per
/// family, MAP and best fit beside the paper's numbers), the cells flagged as outside the model, the gene
/// regression's cross-validation, the figures, and links to every table.
public struct PipelineReport {
    public var folder: String
    public var settings: [(String, String)]
    /// The fit summary: a header row, then one row per estimate and family (see `fits/fit_summary.csv`).
    public var fitTable: [[String]]
    /// Scored cells' distances of the re-simulated MAPs and best fits (failures left out).
    public var mapDistances: [Double]
    public var bestFitDistances: [Double]?
    public var scoredCells: Int
    public var flaggedCells: [String]
    public var timings: [(String, Double)]

    public init(folder: String, settings: [(String, String)], fitTable: [[String]], mapDistances: [Double], bestFitDistances: [Double]?,
                scoredCells: Int, flaggedCells: [String], timings: [(String, Double)]) {
        self.folder = folder; self.settings = settings; self.fitTable = fitTable; self.mapDistances = mapDistances
        self.bestFitDistances = bestFitDistances; self.scoredCells = scoredCells; self.flaggedCells = flaggedCells; self.timings = timings
    }

    /// Writes `map_distance.png`, `best_fit_distance.png` and `report.html` into the folder (atomically).
    public func write() throws {
        try Self.histogram(mapDistances, xLabel: "distance of the re-simulated MAP to the observed features (z-scored)",
                           title: "MAP check, \(mapDistances.count) of \(scoredCells) cells", to: folder + "/map_distance.png")
        if let bestFitDistances {
            try Self.histogram(bestFitDistances, xLabel: "distance of the re-simulated best fit to the observed features (z-scored)",
                               title: "best fits, \(bestFitDistances.count) of \(scoredCells) cells", to: folder + "/best_fit_distance.png")
        }
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>IonLink report</title>
        <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%}</style></head><body>
        <h1>IonLink report</h1>
        <p>Patch-seq firing linked to ion-channel genes through the Hodgkin–Huxley model of Bernaerts et al. (2025).
        Every number below comes from the tables in this folder.</p>
        <h2>Settings</h2>\(Self.table(header: ["setting", "value"], rows: settings.map { [$0.0, $0.1] }))
        <h2>Fits, scored as the paper scores them</h2>
        <p>Each fit is re-simulated with current noise on a seed that no choice was made on; it fails when any of the 23
        features is undefined, else its distance is the Euclidean distance to the observed features, each z-scored by the SD
        of the \(scoredCells) scored cells (those whose family is known and not "low quality"; 955 on the paper's M1 data).
        <b>MAP</b>: the best posterior sample by log-probability, the paper's estimate. <b>Refined MAP</b>: that sample
        moved uphill on the posterior density by gradient ascent inside the prior box (as sbi's <code>posterior.map()</code>).
        <b>Best fit</b>: of the MAPs and the first posterior samples, the one whose simulations lie nearest the cell (chosen on other noise seeds). The paper's
        NPE-N MAPs (15 M simulations, k = 1000, 10 000 samples): 2.51% failed, distance 4.35 ± 2.86 (median 3.35).</p>
        """
        if let header = fitTable.first { html += Self.table(header: header, rows: Array(fitTable.dropFirst())) }
        html += "<p><img src=\"map_distance.png\" alt=\"MAP distances\">"
        if bestFitDistances != nil { html += "<img src=\"best_fit_distance.png\" alt=\"best-fit distances\">" }
        html += "</p>"
        html += "<p>Cells flagged as outside what the model produces (most posterior samples fail, or even the nearest lies beyond the "
            + "upper Tukey fence of all cells): \(flaggedCells.count)" + (flaggedCells.isEmpty ? "" : " — " + flaggedCells.joined(separator: ", ")) + ".</p>"
        html += """
        <p>Tables: <a href="fits/fit_summary.csv">fits/fit_summary.csv</a>, <a href="fits/map.csv">map.csv</a> (MAPs),
        <a href="fits/map_check.csv">map_check.csv</a>, <a href="fits/map_refined.csv">map_refined.csv</a>,
        <a href="fits/map_refined_check.csv">map_refined_check.csv</a>, <a href="fits/best_fit.csv">best_fit.csv</a>,
        <a href="fits/best_fit_check.csv">best_fit_check.csv</a>, <a href="fits/predictive.csv">predictive.csv</a>,
        <a href="fits/posterior_mean.csv">posterior_mean.csv</a>, <a href="fits/samples.npy">samples.npy</a> (float32 [cells, samples, 13]),
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
        html += "<h2>Run time</h2>" + Self.table(header: ["step", "seconds"], rows: timings.map { [$0.0, $0.1 > 0 ? String(format: "%.1f", $0.1) : "reused"] })
        html += "<p>Simulation bank: <a href=\"bank/\">bank/</a> (see <code>ionlink bank info</code>); estimator: <a href=\"model.json\">model.json</a>; "
            + "stage records: <a href=\"stages.json\">stages.json</a>.</p></body></html>\n"
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
