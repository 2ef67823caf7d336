import Foundation
import IonLinkCore

/// What a run records for its report (`run.json`): its settings, the time of each stage, and the model's
/// parameters with their prior box. Everything else the report shows is read from the run's tables.
public struct RunRecord: Codable, Sendable {
    /// (setting, value) rows, in order.
    public var settings: [[String]]
    /// (stage, seconds; 0 = reused) rows, in order.
    public var timings: [Timing]
    public var parameterNames: [String]
    public var low: [Double]
    public var high: [Double]
    /// The simulation step, ms (for the example traces).
    public var dtMs: Double
    public var version: String

    public struct Timing: Codable, Sendable {
        public var stage: String
        public var seconds: Double
        public init(stage: String, seconds: Double) { self.stage = stage; self.seconds = seconds }
    }

    public init(settings: [(String, String)], timings: [(String, Double)], parameterNames: [String], low: [Double], high: [Double], dtMs: Double) {
        self.settings = settings.map { [$0.0, $0.1] }
        self.timings = timings.map { Timing(stage: $0.0, seconds: $0.1) }
        self.parameterNames = parameterNames; self.low = low; self.high = high; self.dtMs = dtMs
        version = IonLinkVersion.current
    }

    public static let file = "run.json"

    public func write(to folder: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: folder + "/" + Self.file)
    }

    public static func read(folder: String) throws -> RunRecord {
        let path = folder + "/" + file
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "not found: is this the folder of a finished `ionlink run`?")
        }
        do { return try JSONDecoder().decode(RunRecord.self, from: data) } catch {
            throw InputError(file: path, "not an IonLink run record (\(error))")
        }
    }
}

/// The HTML report of `ionlink run`, drawn entirely from the run folder's tables (so `ionlink report DIR` rebuilds it
/// without recomputing): a summary beside the paper's numbers, the settings, the fits scored as the paper scores them
/// (overall, per family, per cell), predictive checks (example traces, observed against simulated features), the
/// fitted parameters by family, the estimator's training, the gene regression, run times and links to every table.
/// Figures are PNG files beside `report.html`; the folder opens offline.
public struct PipelineReport {
    public var folder: String
    public var record: RunRecord

    public init(folder: String) throws {
        self.folder = folder
        record = try RunRecord.read(folder: folder)
    }

    /// The paper's NPE-N MAP check on its 955 cells.
    static let paper = "2.51% failed, distance 4.35 ± 2.86 (median 3.35)"

    /// A table of the run, or nil where the run did not write it.
    private func table(_ path: String) -> CSVTable? { try? CSVTable.read(folder + "/" + path) }

    /// Per-cell distances of a check table (nil where failed), with the families and scored flags.
    private func check(_ name: String) -> (distances: [Double?], families: [String], scored: [Bool])? {
        guard let t = table("fits/\(name)"), let d = try? t.column("distance"), let f = try? t.column("family"),
              let s = try? t.column("scored"), let failed = try? t.column("failed") else { return nil }
        return (t.rows.map { $0[failed] == "1" ? nil : Double($0[d]) }, t.rows.map { $0[f] }, t.rows.map { $0[s] == "1" })
    }

    /// Writes the figures and `report.html` into the folder (atomically).
    public func write() throws {
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>IonLink report</title>
        <style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222;line-height:1.4}table{border-collapse:collapse;margin:.5em 0;display:block;max-width:100%;overflow-x:auto}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%}
        .summary td:first-child{text-align:left}</style></head><body>
        <h1>IonLink report</h1>
        <p>Patch-seq firing linked to ion-channel genes through the Hodgkin–Huxley model of Bernaerts et al. (2025).
        Every number below comes from the tables in this folder (IonLink \(record.version)).</p>
        """
        html += try summary()
        html += "<h2 id=\"settings\">Settings</h2>" + Self.table(header: ["setting", "value"], rows: record.settings)
        html += try fits()
        html += try predictive()
        html += try posteriors()
        html += try estimator()
        html += try regression()
        html += "<h2 id=\"provenance\">Run time and files</h2>"
            + Self.table(header: ["step", "seconds"], rows: record.timings.map { [$0.stage, $0.seconds > 0 ? String(format: "%.1f", $0.seconds) : "reused"] })
        let files = [("bank/manifest.json", "the prior bank (see ionlink bank info)"), ("model.json", "the estimator"),
                     ("stages.json", "stage records"), ("run.json", "this report's record"), ("observed/left_out.csv", "recordings left out")]
            .filter { FileManager.default.fileExists(atPath: folder + "/" + $0.0) }
        html += "<p>Files: " + files.map { "<a href=\"\($0.0)\">\($0.0)</a> (\($0.1))" }.joined(separator: ", ")
            + ". Rebuild the report from the tables with <code>ionlink report DIR</code>.</p></body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: folder + "/report.html")
    }

    // MARK: - Sections

    private func summary() throws -> String {
        var rows: [[String]] = []
        if let cells = table("fits/cells.csv"), let scored = try? cells.column("scored") {
            let fitted = table("fits/map.csv").map { t in t.rows.filter { !$0.dropFirst().contains { Double($0)?.isNaN ?? true } }.count } ?? 0
            rows.append(["cells", "\(cells.rows.count) observed, \(fitted) with a posterior, \(cells.rows.filter { $0[scored] == "1" }.count) scored (family known, not low quality)", ""])
        }
        if let fit = table("fits/fit_summary.csv"), let e = try? fit.column("estimate"), let f = try? fit.column("family") {
            let cols = ["failed_percent", "distance_mean", "distance_sd", "distance_median"].compactMap { try? fit.column($0) }
            let names = ["map": "MAP (best sample, the paper's estimate)", "map_refined": "refined MAP (gradient ascent)", "best_fit": "best fit (simulation-checked)"]
            for row in fit.rows where row[f] == "all" && cols.count == 4 {
                rows.append([names[row[e]] ?? row[e], "\(row[cols[0]])% failed, distance \(row[cols[1]]) ± \(row[cols[2]]) (median \(row[cols[3]]))",
                             "paper's MAP: " + Self.paper])
            }
        }
        if let coverage = table("diagnostics/coverage.csv"), let level = try? coverage.column("level"), let covered = try? coverage.column("coverage") {
            let at = [0.5, 0.8, 0.95].compactMap { target in coverage.rows.first { abs((Double($0[level]) ?? .nan) - target) < 1e-9 }.flatMap { Double($0[covered]) } }
            if at.count == 3 {
                let verdict = at[1] < 0.75 ? " (over-confident)" : at[1] > 0.85 ? " (under-confident)" : ""
                rows.append(["posterior calibration (held-out pairs)", "50/80/95% regions hold the truth in " + at.map { String(format: "%.2f", $0) }.joined(separator: "/") + verdict,
                             "calibrated: 0.50/0.80/0.95"])
            }
        }
        if let predictive = table("fits/predictive.csv"), let flag = try? predictive.column("flagged_outside_model") {
            rows.append(["cells outside the model", "\(predictive.rows.filter { $0[flag] == "1" }.count) flagged", "the paper: Vip cells fit worst"])
        }
        if let genes = table("regression/genes.csv") {
            let selected = genes.rows.filter { $0.dropFirst().contains { (Double($0) ?? 0) != 0 } }.count
            var r2 = ""
            if let cv = table("regression/cv_summary.csv"), let m = try? cv.column("r2_test_relaxed_mean"), let sd = try? cv.column("r2_test_relaxed_sd"),
               let best = cv.rows.max(by: { (Double($0[m]) ?? -.infinity) < (Double($1[m]) ?? -.infinity) }) {
                r2 = ", CV R² " + Self.rounded(best[m]) + " ± " + Self.rounded(best[sd])
            }
            rows.append(["genes → parameters", "\(selected) genes selected\(r2)", "the paper (rank 2): R² 0.170 ± 0.026"])
        }
        return "<h2 id=\"summary\">Summary</h2><table class=\"summary\"><tr><th>what</th><th>this run</th><th>the paper</th></tr>"
            + rows.map { "<tr>" + $0.map { "<td>\(Self.escaped($0))</td>" }.joined() + "</tr>" }.joined() + "</table>"
    }

    private func fits() throws -> String {
        var html = """
        <h2 id="fits">Fits, scored as the paper scores them</h2>
        <p>Each fit is re-simulated with current noise on a seed that no choice was made on; it fails when any of the 23
        features is undefined, else its distance is the Euclidean distance to the observed features, each z-scored by the SD
        of the scored cells (family known and not "low quality"; 955 on the paper's M1 data).
        <b>MAP</b>: the best posterior sample by log-probability, the paper's estimate. <b>Refined MAP</b>: that sample
        moved uphill on the posterior density by gradient ascent inside the prior box (as sbi's <code>posterior.map()</code>).
        <b>Best fit</b>: of the MAPs and the first posterior samples, the one whose simulations lie nearest the cell (chosen on
        other noise seeds). The paper's NPE-N MAPs (15 M simulations, k = 1000, 10 000 samples): \(Self.paper).</p>
        """
        if let fit = table("fits/fit_summary.csv") { html += Self.table(header: fit.header, rows: fit.rows) }
        var estimates: [(name: String, distances: [Double?])] = []
        var families: [String] = [], scored: [Bool] = []
        for (name, file) in [("MAP", "map_check.csv"), ("refined MAP", "map_refined_check.csv"), ("best fit", "best_fit_check.csv")] {
            guard let c = check(file) else { continue }
            estimates.append((name, c.distances)); families = c.families; scored = c.scored
            let values = zip(c.distances, c.scored).compactMap { $1 ? $0 : nil }
            try Self.histogram(values, xLabel: "distance of the re-simulated \(name) to the observed features (z-scored)",
                               title: "\(name), \(values.count) of \(c.scored.filter { $0 }.count) scored cells", to: folder + "/\(Self.slug(name))_distance.png")
        }
        html += "<p>" + estimates.map { "<img src=\"\(Self.slug($0.name))_distance.png\" alt=\"\($0.name) distances\" width=\"560\">" }.joined() + "</p>"
        if !estimates.isEmpty {
            try RunFigures.distancesByFamily(estimates, families: families, scored: scored, to: folder + "/distance_by_family.png")
            html += Self.image("distance_by_family", alt: "distances by family", in: folder)
        }
        if let predictive = table("fits/predictive.csv"), let flag = try? predictive.column("flagged_outside_model") {
            let flagged = predictive.rows.filter { $0[flag] == "1" }
            html += "<p>Cells flagged as outside what the model produces (most posterior samples fail, or even the nearest lies beyond the "
                + "upper Tukey fence of all cells): \(flagged.count)" + (flagged.isEmpty ? "" : " — " + flagged.map { "\($0[0]) (\($0[1]))" }.joined(separator: ", ")) + ".</p>"
        }
        html += "<p>Tables: " + ["fit_summary.csv", "map.csv", "map_check.csv", "map_refined.csv", "map_refined_check.csv", "best_fit.csv",
                                 "best_fit_check.csv", "predictive.csv", "posterior_mean.csv", "samples.npy", "log_probs.npy", "cells.csv"]
            .filter { FileManager.default.fileExists(atPath: folder + "/fits/" + $0) }
            .map { "<a href=\"fits/\($0)\">\($0)</a>" }.joined(separator: ", ") + " (samples.npy: float32 [cells, samples, parameters]).</p>"
        return html
    }

    private func predictive() throws -> String {
        var html = "<h2 id=\"predictive\">Predictive checks</h2>"
        if let index = table("fits/example_traces.csv"), let reader = try? NPYRowReader(path: folder + "/fits/example_traces.npy"),
           let c = try? index.column("cell_id"), let f = try? index.column("family"), let s = try? index.column("series") {
            let traces = try reader.read(0 ..< reader.rows)
            var cells: [(title: String, series: [(label: String, voltage: [Double])])] = []
            for (r, row) in index.rows.enumerated() {
                let title = "\(row[c]) (\(row[f]))"
                if let k = cells.firstIndex(where: { $0.title == title }) {
                    // The recorded trace is drawn first, beneath the simulations.
                    if row[s] == "recorded" { cells[k].series.insert((row[s], traces.row(r)), at: 0) } else { cells[k].series.append((row[s], traces.row(r))) }
                } else {
                    cells.append((title, [(row[s], traces.row(r))]))
                }
            }
            try RunFigures.traces(cells, dtMs: record.dtMs, to: folder + "/example_traces.png")
            let recorded = index.rows.contains { $0[s] == "recorded" }
            html += "<p>One cell per family (its best fit at the family's median distance): the model simulated at the MAP, the refined "
                + "MAP, the best fit and two posterior samples, on the check seed"
                + (recorded ? "; in black the recorded sweep the features came from, its step onset aligned with the model's." : ".") + "</p>" + Self.image("example_traces", alt: "example traces", in: folder)
        }
        if let cells = table("fits/cells.csv"), let simulated = table("fits/map_refined_features.csv") {
            let names = Array(simulated.header.dropFirst())
            let observedColumns = names.compactMap { try? cells.column($0) }
            if observedColumns.count == names.count, cells.rows.count == simulated.rows.count, let f = try? cells.column("family") {
                let observed = Matrix(rows: cells.rows.count, columns: names.count, values: cells.rows.flatMap { row in observedColumns.map { Double(row[$0]) ?? .nan } })
                let sim = Matrix(rows: simulated.rows.count, columns: names.count, values: simulated.rows.flatMap { $0.dropFirst().map { Double($0) ?? .nan } })
                try RunFigures.featureScatter(observed: observed, simulated: sim, names: names, families: cells.rows.map { $0[f] },
                                              title: "observed against re-simulated features at the refined MAP, by family", to: folder + "/features_observed_simulated.png")
                html += Self.image("features_observed_simulated", alt: "observed against simulated features", in: folder)
            }
        }
        return html
    }

    /// Family-mean z-scored MAP parameters of Bernaerts et al. (2025), hh_sbi `figure_6_and_7.ipynb` (the spec's
    /// REGRESSION.md §6.5): per parameter, the means of Lamp5, Sncg, Vip, Sst, Pvalb and Pyr (IT, ET, CT, NP, L6b).
    static let paperFamilyMeans: [(parameter: String, means: [Double])] = [
        ("r_SS", [0.06, -0.26, -0.39, -0.46, -0.70, 1.18]), ("gKv31", [-0.55, -0.83, -0.49, 0.11, 0.74, -0.56]),
        ("gKd", [-0.69, 0.49, -0.36, -0.05, 0.88, -0.62]), ("C", [0.87, 0.75, 0.15, -0.05, -0.71, 0.46]),
    ]
    static let paperGroups: [(name: String, families: Set<String>)] = [
        ("Lamp5", ["Lamp5"]), ("Sncg", ["Sncg"]), ("Vip", ["Vip"]), ("Sst", ["Sst"]), ("Pvalb", ["Pvalb"]),
        ("Pyr", ["IT", "ET", "CT", "NP", "L6b"]),
    ]

    /// The run's family-mean z-scored MAPs (the paper's estimate, z-scored over the scored cells) beside the paper's,
    /// where the run's families are the paper's; empty otherwise (e.g. a lab's cells in one family).
    private func familyMeans(cells: CSVTable) -> String {
        guard let map = table("fits/map.csv"), let f = try? cells.column("family"), let s = try? cells.column("scored"),
              map.rows.count == cells.rows.count else { return "" }
        let scored = cells.rows.indices.filter { cells.rows[$0][s] == "1" }
        var rows: [[String]] = []
        for (parameter, paper) in Self.paperFamilyMeans {
            guard let column = try? map.column(parameter) else { continue }
            let values = scored.map { Double(map.rows[$0][column]) ?? .nan }.filter(\.isFinite)
            guard values.count > 1 else { continue }
            let scoredValues = Matrix(rows: values.count, columns: 1, values: values)
            let (mean, sd) = (scoredValues.columnMeans[0], scoredValues.columnStandardDeviations[0])
            var row = [parameter]
            for (k, group) in Self.paperGroups.enumerated() {
                let members = scored.filter { group.families.contains(cells.rows[$0][f]) }.map { Double(map.rows[$0][column]) ?? .nan }.filter(\.isFinite)
                row.append(members.isEmpty || sd == 0 ? "– / \(paper[k])" : String(format: "%+.2f / %+.2f", (members.reduce(0, +) / Double(members.count) - mean) / sd, paper[k]))
            }
            rows.append(row)
        }
        let groupsFound = Self.paperGroups.filter { group in scored.contains { group.families.contains(cells.rows[$0][f]) } }.count
        guard !rows.isEmpty, groupsFound >= 3 else { return "" }
        return "<p>Family means of the z-scored MAPs (the best sample, z-scored over the scored cells), this run / the paper's "
            + "(hh_sbi's figure 6–7 notebook; Pyr = IT, ET, CT, NP and L6b), for the four parameters the paper found best predicted by genes:</p>"
            + Self.table(header: ["parameter"] + Self.paperGroups.map(\.name), rows: rows)
    }

    private func posteriors() throws -> String {
        guard let map = table("fits/map_refined.csv") ?? table("fits/map.csv"), let cells = table("fits/cells.csv"),
              let f = try? cells.column("family"), cells.rows.count == map.rows.count else { return "" }
        let columns = record.parameterNames.compactMap { try? map.column($0) }
        guard columns.count == record.parameterNames.count else { return "" }
        let values = Matrix(rows: map.rows.count, columns: columns.count, values: map.rows.flatMap { row in columns.map { Double(row[$0]) ?? .nan } })
        try RunFigures.parametersByFamily(values, names: record.parameterNames, low: record.low, high: record.high, families: cells.rows.map { $0[f] },
                                          title: "fitted parameters (refined MAPs) by family, on their prior intervals", to: folder + "/parameters_by_family.png")
        let samples = FileManager.default.fileExists(atPath: folder + "/fits/samples.npy")
            ? " The posterior samples of every cell are in <a href=\"fits/samples.npy\">samples.npy</a> with their log-probabilities." : ""
        var html = "<h2 id=\"posteriors\">Posteriors</h2><p>Each cell's refined MAP, by family; the axes span the prior box." + samples + "</p>"
            + Self.image("parameters_by_family", alt: "parameters by family", in: folder) + familyMeans(cells: cells)
        // Pair plots of the example cells' posterior samples.
        if let reader = try? NPYRowReader(path: folder + "/fits/samples.npy"), let examples = table("fits/example_traces.csv"),
           let c = try? examples.column("cell_id"), reader.rows == cells.rows.count, reader.columns % values.columns == 0 {
            let best = table("fits/best_fit.csv")
            var seen: [String] = []
            for row in examples.rows where !seen.contains(row[c]) {
                seen.append(row[c])
                guard let i = cells.rows.firstIndex(where: { $0[0] == row[c] }) else { continue }
                let drawn = try reader.read(i ..< i + 1).row(0)
                let draws = Matrix(rows: drawn.count / values.columns, columns: values.columns, values: drawn)
                var marks: [(label: String, theta: [Double], color: Figure.Color)] = [("refined MAP", values.row(i), .red)]
                if let best, let columns = Optional(record.parameterNames.compactMap { try? best.column($0) }), columns.count == values.columns, i < best.rows.count {
                    marks.append(("best fit", columns.map { Double(best.rows[i][$0]) ?? .nan }, .green))
                }
                let name = "pairs_\(Self.slug(row[c]))"
                try RunFigures.pairPlot(draws, names: record.parameterNames, low: record.low, high: record.high, marks: marks,
                                        title: "\(row[c]) (\(cells.rows[i][f])): \(draws.rows) posterior samples", to: folder + "/\(name).png")
                html += "<p><img src=\"\(name).png\" alt=\"posterior of \(row[c])\"></p>"
            }
        }
        return html
    }

    private func estimator() throws -> String {
        guard let t = table("model_training.csv"), let e = try? t.column("epoch"), let tr = try? t.column("train_log_prob"),
              let v = try? t.column("validation_log_prob"), !t.rows.isEmpty else { return "" }
        func numbers(_ c: Int) -> [Double] { t.rows.map { Double($0[c]) ?? .nan } }
        try RunFigures.trainingCurve(epochs: numbers(e), train: numbers(tr), validation: numbers(v),
                                     title: "NPE-N training (last round): best validation log-prob \(Self.rounded(String(numbers(v).filter(\.isFinite).max() ?? .nan)))",
                                     to: folder + "/training_curve.png")
        return "<h2 id=\"estimator\">Estimator</h2><p>The last round's NPE-N training: mean log q(θ | x) of the training and validation pairs "
            + "(<a href=\"model_training.csv\">model_training.csv</a>).</p>" + Self.image("training_curve", alt: "training curve", in: folder)
            + (try calibration())
    }

    /// SBC rank histograms and expected coverage on the pairs the last round held out of its training.
    private func calibration() throws -> String {
        guard let ranksTable = table("diagnostics/sbc_ranks.csv"), let coverageTable = table("diagnostics/coverage.csv"),
              let summary = table("diagnostics/calibration.csv"), let level = try? coverageTable.column("level"),
              let covered = try? coverageTable.column("coverage") else { return "" }
        let names = Array(ranksTable.header.dropFirst())
        let ranks = ranksTable.rows.map { $0.dropFirst().map { Int($0) ?? 0 } }
        func value(_ quantity: String, _ parameter: String = "") -> String? {
            summary.rows.first { $0[0] == quantity && $0[1] == parameter }?[2]
        }
        let samples = Int(value("samples_per_case") ?? "") ?? 1
        let levels = coverageTable.rows.map { Double($0[level]) ?? .nan }, coverage = coverageTable.rows.map { Double($0[covered]) ?? .nan }
        try RunFigures.calibration(ranks: ranks, samplesPerCase: samples, names: names, levels: levels, coverage: coverage,
                                   title: "Calibration on \(ranks.count) held-out pairs, \(samples) posterior samples each", to: folder + "/calibration.png")
        let pValues = names.map { name in [name, Self.rounded(value("sbc_p_value", name) ?? "")] }
        func at(_ target: Double) -> String {
            guard let k = levels.firstIndex(where: { abs($0 - target) < 1e-9 }) else { return "–" }
            return String(format: "%.2f", coverage[k])
        }
        return "<h3 id=\"calibration\">Calibration</h3><p>\(ranks.count) validation pairs of the last round's training set (θ, x with "
            + "feature noise; held out of the gradient steps, they only chose the epoch whose weights were kept). For each, \(samples) posterior samples give the rank of the true θ per parameter (simulation-based calibration, "
            + "Talts et al. 2018: uniform ranks, inside the grey 99% band, mean calibrated) and whether the true θ lies in each highest-density "
            + "region (expected coverage: on the diagonal is calibrated, above it under-confident, below over-confident). "
            + "Held-out log q(θ | x): \(Self.rounded(value("heldout_log_prob") ?? "")). Coverage of the 50%, 80% and 95% regions: "
            + "\(at(0.5)), \(at(0.8)), \(at(0.95)). Tables: <a href=\"diagnostics/sbc_ranks.csv\">sbc_ranks.csv</a>, "
            + "<a href=\"diagnostics/coverage.csv\">coverage.csv</a>, <a href=\"diagnostics/calibration.csv\">calibration.csv</a>. "
            + "<code>ionlink diagnose</code> runs the same check on any other held-out simulations.</p>"
            + Self.image("calibration", alt: "SBC rank histograms and expected coverage", in: folder)
            + "<details><summary>SBC χ² uniformity p-value per parameter (10 bins; below 0.01 is miscalibrated)</summary>"
            + Self.table(header: ["parameter", "p-value"], rows: pValues) + "</details>"
    }

    private func regression() throws -> String {
        var html = """
        <h2 id="genes">Genes → parameters: sparse reduced-rank regression</h2>
        <p>Ion-channel genes (GO list + markers) → the 13 fitted MAP parameters; 10-fold cross-validation (the paper, rank 2:
        R² 0.170 ± 0.026).</p>
        """
        if let cv = table("regression/cv_summary.csv") {
            let columns = ["rank", "lambda", "mean_n_genes", "r2_test_relaxed_mean", "r2_test_relaxed_sd"]
            let index = columns.compactMap { cv.header.firstIndex(of: $0) }
            html += Self.table(header: columns, rows: cv.rows.map { row in index.map { Self.rounded(row[$0]) } })
        }
        if let cv = table("regression/cv_summary.csv"), let rank = try? cv.column("rank"), let genes = try? cv.column("mean_n_genes"),
           let r2 = try? cv.column("r2_test_relaxed_mean") {
            var series: [(label: String, genes: [Double], r2: [Double])] = []
            func add(_ t: CSVTable, _ source: String, rank: Int, genes: Int, r2: Int) {
                for value in Set(t.rows.map { $0[rank] }).sorted() {
                    let rows = t.rows.filter { $0[rank] == value }
                    series.append(("\(source), rank \(value)", rows.map { Double($0[genes]) ?? .nan }, rows.map { Double($0[r2]) ?? .nan }))
                }
            }
            add(cv, "this run", rank: rank, genes: genes, r2: r2)
            if let paper = table("regression/paper_cv_summary.csv"), let pr = try? paper.column("rank"), let pg = try? paper.column("mean_n_genes"),
               let p2 = try? paper.column("r2_test_relaxed_mean") {
                add(paper, "the paper", rank: pr, genes: pg, r2: p2)
            }
            try RunFigures.r2AgainstGenes(series, to: folder + "/r2_against_genes.png")
            html += Self.image("r2_against_genes", alt: "CV R² against genes", in: folder)
        }
        if let per = table("regression/r2_per_output.csv"), let cv = try? per.column("r2_cv_relaxed"), let ins = try? per.column("r2_in_sample") {
            try RunFigures.r2PerOutput(names: per.rows.map { $0[0] }, cv: per.rows.map { Double($0[cv]) ?? .nan },
                                       inSample: per.rows.map { Double($0[ins]) ?? .nan }, to: folder + "/r2_per_parameter.png")
            html += Self.image("r2_per_parameter", alt: "R² per parameter", in: folder)
        }
        if FileManager.default.fileExists(atPath: folder + "/regression/biplot.png") { html += "<p><img src=\"regression/biplot.png\" alt=\"bi-plot\"></p>" }
        if let stability = table("regression/gene_stability.csv"), let draws = table("regression/posterior_draws.csv"),
           let r2 = try? draws.column("r2_test_relaxed_mean") {
            let values = draws.rows.compactMap { Double($0[r2]) }
            let mean = values.reduce(0, +) / Double(max(1, values.count))
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, values.count))).squareRoot()
            html += "<h3>Gene stability over posterior draws</h3><p>The final model refitted on \(draws.rows.count) posterior draws of every "
                + "cell's parameters instead of its MAP: CV R² \(String(format: "%.3f ± %.3f", mean, sd)) across draws. How often each gene is "
                + "selected (<a href=\"regression/gene_stability.csv\">gene_stability.csv</a>, <a href=\"regression/posterior_draws.csv\">posterior_draws.csv</a>):</p>"
                + Self.table(header: stability.header, rows: Array(stability.rows.prefix(25)))
        }
        html += "<p>Tables: " + ["genes.csv", "loadings.csv", "r2_per_output.csv", "cv.csv", "cv_summary.csv", "report.txt"]
            .filter { FileManager.default.fileExists(atPath: folder + "/regression/" + $0) }
            .map { "<a href=\"regression/\($0)\">\($0)</a>" }.joined(separator: ", ") + ".</p>"
        return html
    }

    // MARK: - Helpers

    static func slug(_ name: String) -> String { name.lowercased().replacingOccurrences(of: " ", with: "_") }

    /// A figure's PNG, linked to its SVG when there is one.
    static func image(_ name: String, alt: String, in folder: String) -> String {
        let img = "<img src=\"\(name).png\" alt=\"\(alt)\">"
        return FileManager.default.fileExists(atPath: folder + "/\(name).svg")
            ? "<p><a href=\"\(name).svg\">\(img)</a><br><small>\(alt): <a href=\"\(name).svg\">SVG</a></small></p>" : "<p>\(img)</p>"
    }

    /// The report as one file, every figure inlined (base64 PNG), to send to a colleague: `report_inline.html`.
    public func writeInline() throws {
        var html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        for name in Set(html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }) {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            html = html.replacingOccurrences(of: "src=\"\(name)\"", with: "src=\"data:image/png;base64,\(data.base64EncodedString())\"")
        }
        try AtomicFile.write(Data(html.utf8), to: folder + "/report_inline.html")
    }

    static func rounded(_ field: String) -> String {
        guard Int(field) == nil, let v = Double(field) else { return field }
        return String(format: "%.3f", v)
    }

    static func escaped(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }

    static func table(header: [String], rows: [[String]]) -> String {
        "<table><tr>" + header.map { "<th>\(escaped($0))</th>" }.joined() + "</tr>"
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
