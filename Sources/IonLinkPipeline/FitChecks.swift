import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology

/// Each cell's best-fit candidates: its MAP, its refined MAP and its first posterior samples.
struct CandidateSet {
    let cells: Int, perCell: Int, dimension: Int
    /// The point estimates ahead of the samples in each cell's block: the MAP and the refined MAP.
    static let estimates = ["map", "refined map"]
    /// Rows per cell: the estimates, then `perCell` samples.
    var rowsPerCell: Int { Self.estimates.count + perCell }
    /// cells × rowsPerCell rows, cell-major. NaN for cells without a posterior.
    private(set) var theta: Matrix

    init(cells: Int, perCell: Int, dimension: Int) {
        self.cells = cells; self.perCell = perCell; self.dimension = dimension
        theta = Matrix(rows: cells * (Self.estimates.count + perCell), columns: dimension, repeating: .nan)
    }

    mutating func set(cell i: Int, map: [Double], refinedMAP: [Double], samples: Matrix) {
        let base = i * rowsPerCell, first = Self.estimates.count
        for j in 0..<dimension { theta[base, j] = map[j]; theta[base + 1, j] = refinedMAP[j] }
        for k in 0..<min(perCell, samples.rows) { for j in 0..<dimension { theta[base + first + k, j] = samples[k, j] } }
    }

    /// The MAPs, cells × parameters.
    var map: Matrix { theta.selectingRows((0..<cells).map { $0 * rowsPerCell }) }
    /// The refined MAPs, cells × parameters.
    var refinedMAP: Matrix { theta.selectingRows((0..<cells).map { $0 * rowsPerCell + 1 }) }

    /// What candidate k of a cell is, for the tables.
    func name(_ k: Int) -> String { k < Self.estimates.count ? Self.estimates[k] : "sample \(k - Self.estimates.count + 1)" }

    /// Reads the candidates back from a finished posterior stage (`map.csv`, `map_refined.csv`, `samples.npy`).
    static func read(fits: String, cells: Int, names: [String], perCell wanted: Int) throws -> CandidateSet {
        let map = try PosteriorFitsWriter.readParameters(fits + "/map.csv", names: names)
        let refined = try PosteriorFitsWriter.readParameters(fits + "/map_refined.csv", names: names)
        let samples = try NPYRowReader(path: fits + "/samples.npy")
        guard map.values.rows == cells, refined.values.rows == cells, samples.rows == cells, samples.columns % names.count == 0 else {
            throw InputError(file: fits, "the posterior files do not match the observed cells; delete the folder to redo them")
        }
        let perCell = min(wanted, samples.columns / names.count)
        var set = CandidateSet(cells: cells, perCell: perCell, dimension: names.count)
        for start in stride(from: 0, to: cells, by: 32) {   // 32 cells of 10 000 samples: 33 MB
            let block = try samples.read(start ..< min(cells, start + 32))
            for r in 0..<block.rows {
                let row = block.row(r)
                let drawn = Matrix(rows: perCell, columns: names.count, values: Array(row[0 ..< perCell * names.count]))
                set.set(cell: start + r, map: map.values.row(start + r), refinedMAP: refined.values.row(start + r), samples: drawn)
            }
        }
        return set
    }
}

/// The fit checks of a run: the paper's MAP check and the simulation-checked best fits, with their tables.
struct FitChecks {
    let pipeline: Pipeline
    let cells: ObservedCells
    let families: [String]
    let scored: [Int]
    let score: FitScore
    /// Shortlisted candidates per cell, re-simulated on the further selection seeds.
    var shortlist = 5

    private var simulation: ParameterSimulation {
        ParameterSimulation(configuration: pipeline.inputs.configuration, precision: pipeline.settings.precision, threads: pipeline.threads)
    }

    /// Features of the rows of `theta` with every value finite (NaN rows elsewhere), on noise `seed`.
    private func simulate(_ theta: Matrix, seed: UInt64, title: String) -> Matrix {
        let rows = (0..<theta.rows).filter { theta.row($0).allSatisfy(\.isFinite) }
        let progress = ProgressReporter(title, total: rows.count, unit: "sims", enabled: pipeline.showProgress)
        let simulated = simulation.features(of: theta.selectingRows(rows), seed: seed) { progress.advance(by: $0) }
        progress.finish()
        var out = Matrix(rows: theta.rows, columns: simulated.columns, repeating: .nan)
        for (k, r) in rows.enumerated() { for j in 0..<simulated.columns { out[r, j] = simulated[k, j] } }
        return out
    }

    private var isScored: [Bool] {
        var flags = [Bool](repeating: false, count: cells.count)
        for r in scored { flags[r] = true }
        return flags
    }

    /// Re-simulates point estimates (one row per cell) on the check seed; writes `NAME_features.csv` and
    /// `NAME_check.csv` (NAME: map, map_refined).
    func check(_ estimates: Matrix, name: String, to fits: String) throws -> [Double?] {
        let features = simulate(estimates, seed: pipeline.seeds.check, title: name.replacingOccurrences(of: "_", with: " ") + " check")
        try FeatureTable(ids: cells.ids, values: features.values).write(to: fits + "/\(name)_features.csv")
        let distances = (0..<cells.count).map { score.distance(simulated: features.row($0), observed: cells.features.row($0)) }
        try writeCheck(distances, extra: [:], to: fits + "/\(name)_check.csv")
        return distances
    }

    /// Chooses each cell's best fit among its candidates on the selection seeds and scores it on the check seed.
    /// Writes `best_fit.csv`, `best_fit_check.csv` and `predictive.csv`; returns the check distances and the cells
    /// flagged as outside what the model produces.
    func bestFits(_ candidates: CandidateSet, to fits: String) throws -> (distances: [Double?], flagged: [String]) {
        let seeds = pipeline.seeds.selection
        let per = candidates.rowsPerCell, n = cells.count
        // 1. Every candidate on the first selection seed.
        let first = simulate(candidates.theta, seed: seeds[0], title: "best-fit candidates")
        var firstDistance = [Double?](repeating: nil, count: n * per)
        for i in 0..<n { for k in 0..<per { firstDistance[i * per + k] = score.distance(simulated: first.row(i * per + k), observed: cells.features.row(i)) } }
        // 2. The shortlist on the other selection seeds; the winner has the smallest mean distance over all draws.
        var listed: [[Int]] = []
        for i in 0..<n {
            let ok = (0..<per).filter { firstDistance[i * per + $0] != nil }
            listed.append(Array(ok.sorted { firstDistance[i * per + $0]! < firstDistance[i * per + $1]! }.prefix(shortlist)))
        }
        let rows = listed.enumerated().flatMap { i, ks in ks.map { i * per + $0 } }
        let shortTheta = candidates.theta.selectingRows(rows)
        let again = seeds.dropFirst().map { simulate(shortTheta, seed: $0, title: "best-fit shortlist") }
        var winner = [Int?](repeating: nil, count: n), selectionDistance = [Double](repeating: .nan, count: n)
        var position = 0
        for i in 0..<n {
            var best: (k: Int, mean: Double)?
            for k in listed[i] {
                var total = firstDistance[i * per + k]!
                var failed = false
                for draw in again {
                    guard let d = score.distance(simulated: draw.row(position), observed: cells.features.row(i)) else { failed = true; break }
                    total += d
                }
                position += 1
                let mean = total / Double(1 + again.count)
                if !failed, best == nil || mean < best!.mean { best = (k, mean) }
            }
            winner[i] = best?.k ?? listed[i].first ?? (candidates.theta.row(i * per).allSatisfy(\.isFinite) ? 0 : nil)
            selectionDistance[i] = best?.mean ?? .nan
        }
        // 3. The winners on the check seed, never used to choose them.
        var bestTheta = Matrix(rows: n, columns: candidates.dimension, repeating: .nan)
        for i in 0..<n { if let k = winner[i] { for j in 0..<candidates.dimension { bestTheta[i, j] = candidates.theta[i * per + k, j] } } }
        let checked = simulate(bestTheta, seed: pipeline.seeds.check, title: "best-fit check")
        let distances = (0..<n).map { winner[$0] == nil ? nil : score.distance(simulated: checked.row($0), observed: cells.features.row($0)) }
        try PosteriorFitsWriter.writeParameters(bestTheta, ids: cells.ids, names: pipeline.model.parameterNames, to: fits + "/best_fit.csv")
        try writeCheck(distances, extra: [
            "candidate": winner.map { $0.map(candidates.name) ?? "" },
            "selection_distance": selectionDistance.map(CSVTable.formatNumber),
        ], to: fits + "/best_fit_check.csv")
        let flagged = try writePredictive(firstDistance, per: per, first: CandidateSet.estimates.count, to: fits + "/predictive.csv")
        return (distances, flagged)
    }

    /// Simulated traces of one example cell per family (the six largest; the scored cell at its family's median
    /// distance): MAP, refined MAP, best fit and two posterior samples, on the check seed. Writes
    /// `example_traces.npy` (float32 [rows, samples], mV) and `example_traces.csv` (cell_id, family, series) for the report.
    func exampleTraces(_ candidates: CandidateSet, distances: [Double?], best: String?, to fits: String) throws {
        let bestTheta = try best.map { try PosteriorFitsWriter.readParameters($0, names: pipeline.model.parameterNames).values }
        let byFamily = Dictionary(grouping: scored.filter { distances[$0] != nil }, by: { families[$0] })
        let chosen = byFamily.sorted { $0.value.count > $1.value.count || ($0.value.count == $1.value.count && $0.key < $1.key) }.prefix(6).map { _, rows in
            rows.sorted { distances[$0]! < distances[$1]! }[rows.count / 2]
        }
        var theta: [Double] = [], index: [[String]] = []
        let per = candidates.rowsPerCell, first = CandidateSet.estimates.count
        for cell in chosen {
            var series: [(String, [Double])] = [("MAP", candidates.theta.row(cell * per)), ("refined MAP", candidates.theta.row(cell * per + 1))]
            if let bestTheta { series.append(("best fit", bestTheta.row(cell))) }
            for k in 0..<min(2, candidates.perCell) { series.append(("posterior sample \(k + 1)", candidates.theta.row(cell * per + first + k))) }
            for (label, row) in series where row.allSatisfy(\.isFinite) {
                theta += row
                index.append([cells.ids[cell], families[cell], label])
            }
        }
        let simulator = BatchSimulator(configuration: pipeline.inputs.configuration, precision: pipeline.settings.precision,
                                       threads: pipeline.threads)
        var traces = simulator.traces(parameters: theta, rowCount: index.count, seed: pipeline.seeds.check).traces
        if let (table, settings) = pipeline.inputs.recordedSweeps {
            // The recorded sweep of each example cell, after its simulated series.
            let sweeps = try CSVTable.read(table)
            let (id, file, sweep, current) = (try sweeps.column("cell_id"), try sweeps.column("file"), try sweeps.column("sweep"), try sweeps.column("current_pa"))
            for cell in chosen {
                guard let row = sweeps.rows.first(where: { $0[id] == cells.ids[cell] }), let number = Int(row[sweep]), let pA = Double(row[current]) else { continue }
                do {
                    traces += try RecordedCells.alignedTrace(file: row[file], sweep: number, currentPA: pA, settings: settings,
                                                             on: pipeline.inputs.configuration.protocol)
                    index.append([cells.ids[cell], families[cell], "recorded"])
                } catch {
                    pipeline.log("example traces: the recording of \(cells.ids[cell]) could not be read again (\(error)); drawn without it")
                }
            }
        }
        try NPYWriter.write(traces, shape: [index.count, simulator.sampleCount], element: .float32, to: fits + "/example_traces.npy")
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "family", "series"], rows: index).utf8), to: fits + "/example_traces.csv")
    }

    /// Per cell: the posterior samples' predictive failures and distances (first selection seed), and a flag for cells
    /// whose observation lies outside what the model produces: most samples fail, or even the nearest sample lies
    /// beyond the upper Tukey fence (Q3 + 1.5 IQR) of the scored cells' nearest-sample distances.
    private func writePredictive(_ distances: [Double?], per: Int, first: Int, to path: String) throws -> [String] {
        let n = cells.count
        let samples = (0..<n).map { i in (first..<per).map { distances[i * per + $0] } }
        let nearest = samples.map { $0.compactMap { $0 }.min() }
        let scoredNearest = scored.compactMap { nearest[$0] }.sorted()
        let (q1, q3) = (scoredNearest.sortedQuantile(0.25), scoredNearest.sortedQuantile(0.75))
        let fence = q3 + 1.5 * (q3 - q1)
        var flagged: [String] = []
        var rows: [[String]] = []
        for i in 0..<n {
            let ok = samples[i].compactMap { $0 }.sorted()
            let failedFraction = samples[i].isEmpty ? Double.nan : Double(samples[i].count - ok.count) / Double(samples[i].count)
            let outside = !samples[i].isEmpty && (failedFraction > 0.5 || (nearest[i].map { $0 > fence } ?? true))
            if outside && !samples[i].isEmpty { flagged.append(cells.ids[i]) }
            rows.append([cells.ids[i], families[i], "\(samples[i].count)", CSVTable.formatNumber(failedFraction),
                         CSVTable.formatNumber(ok.sortedQuantile(0.05)), CSVTable.formatNumber(ok.sortedQuantile(0.5)),
                         CSVTable.formatNumber(ok.sortedQuantile(0.95)),
                         CSVTable.formatNumber(nearest[i] ?? .nan), outside ? "1" : "0"])
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "family", "samples_simulated", "failed_fraction", "distance_q05", "distance_median",
                                                           "distance_q95", "nearest_sample_distance", "flagged_outside_model"], rows: rows).utf8), to: path)
        return flagged
    }

    private func writeCheck(_ distances: [Double?], extra: [String: [String]], to path: String) throws {
        let flags = isScored, names = extra.keys.sorted()
        let rows = (0..<cells.count).map { i in
            [cells.ids[i], families[i], flags[i] ? "1" : "0", distances[i].map(CSVTable.formatNumber) ?? "NaN", distances[i] == nil ? "1" : "0"]
                + names.map { extra[$0]![i] }
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "family", "scored", "distance", "failed"] + names, rows: rows).utf8), to: path)
    }

    /// Distances from a check table written by this type (nil where failed).
    static func readDistances(_ path: String, cells: Int) throws -> [Double?] {
        let table = try CSVTable.read(path)
        let d = try table.column("distance"), f = try table.column("failed")
        guard table.rows.count == cells else { throw InputError(file: path, "expected \(cells) rows, found \(table.rows.count)") }
        return try table.rows.indices.map { r in table.rows[r][f] == "1" ? nil : try table.number(row: r, column: d) }
    }

    static func readFlagged(_ path: String) throws -> [String] {
        let table = try CSVTable.read(path)
        let f = try table.column("flagged_outside_model")
        return table.rows.filter { $0[f] == "1" }.map { $0[0] }
    }

    /// The overall and per-family table of the scored cells, MAP, refined MAP and best fit beside the paper's MAP;
    /// written as CSV.
    func writeSummary(map: [Double?], refinedMAP: [Double?], bestFit: [Double?]?,
                      to path: String) throws -> (map: FitSummary, refinedMAP: FitSummary, bestFit: FitSummary?, rows: [[String]]) {
        let header = ["estimate", "family", "cells", "failed", "failed_percent", "distance_mean", "distance_sd", "distance_median",
                      "paper_map_failed", "paper_map_distance_mean"]
        var rows: [[String]] = []
        func add(_ estimate: String, _ distances: [Double?]) -> FitSummary {
            let d = scored.map { distances[$0] }, f = scored.map { families[$0] }
            let all = FitSummary(d)
            let paperAll = ["\(PaperResults.mapFailed)", String(format: "%.2f", PaperResults.mapMean)]
            rows.append([estimate, "all", "\(all.cells)", "\(all.failed)", fmt(all.failedPercent), fmt(all.mean), fmt(all.sd), fmt(all.median)] + paperAll)
            for (family, s) in familySummaries(families: f, distances: d) {
                let paper = PaperResults.mapByFamily[family]
                rows.append([estimate, family, "\(s.cells)", "\(s.failed)", fmt(s.failedPercent), fmt(s.mean), fmt(s.sd), fmt(s.median),
                             paper.map { "\($0.failed)" } ?? "", paper.map { fmt($0.mean) } ?? ""])
            }
            return all
        }
        let m = add("map", map)
        let r = add("map_refined", refinedMAP)
        let b = bestFit.map { add("best_fit", $0) }
        try AtomicFile.write(Data(CSVTable.format(header: header, rows: rows).utf8), to: path)
        return (m, r, b, [header] + rows)
    }

    private func fmt(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", x) : "" }
}
