import Foundation
import IonLinkCore
import IonLinkPatchSeq
import IonLinkRegression
import IonLinkReport

/// Genes → per-cell outputs (e.g. fitted parameters) by sparse reduced-rank regression, as Bernaerts et al. (2025):
/// joins gene counts and outputs by cell id, selects and normalises genes, cross-validates ranks × λ, fits the final
/// relaxed model and writes its tables and bi-plot into `out` (see `ionlink regress --help` for the files).
public struct GeneRegression: Sendable {
    public var counts: String
    public var params: String
    public var out: String
    /// "ion-channel" (the paper's GO list + markers), "all", or a file with one symbol per line.
    public var genes = "ion-channel"
    public var markers = GeneSets.markers
    public var minCounts = 10.0
    /// Ranks to cross-validate (the first is the final model's).
    public var ranks = [2]
    public var lambdas: [Double] = (1...19).map { Double($0) / 10 }
    public var alpha = 1.0
    public var folds = 10
    /// λ of the final model (nil: the best mean relaxed test R² at the first rank).
    public var finalLambda: Double?
    public var metadata: String?
    public var colorBy = "RNA family"
    public var posteriorSamples: String?
    public var seed: UInt32 = 42
    public var threads = availableCores
    public var showProgress = true
    /// Receives the join report and the summary.
    public var log: @Sendable (String) -> Void = { print($0) }

    public init(counts: String, params: String, out: String) {
        self.counts = counts; self.params = params; self.out = out
    }

    /// Throws a message naming the first setting out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw InputError(file: "regression settings", what) } }
        try check(!ranks.isEmpty && ranks.allSatisfy { $0 >= 1 }, "ranks must be positive integers")
        try check(!lambdas.isEmpty && lambdas.allSatisfy { $0 >= 0 && $0.isFinite }, "λ values must be finite numbers ≥ 0")
        try check(finalLambda.map { $0 >= 0 && $0.isFinite } ?? true, "the final λ must be a finite number ≥ 0")
        try check(alpha >= 0 && alpha <= 1, "α must be in [0, 1]")
        try check(folds >= 2, "folds must be at least 2")
    }

    /// The files `run` writes (a rerun removes those it no longer writes, so no old table outlives a new run).
    static let outputs = ["cv.csv", "cv_summary.csv", "genes.csv", "loadings.csv", "r2_per_output.csv", "biplot.png", "report.txt",
                          "posterior_draws.csv", "gene_stability.csv"]

    /// Runs the regression into a staging folder and moves its tables into `out` only when all are written: a run
    /// that fails leaves `out` as it was, never a mix of new tables and old ones.
    public func run() throws {
        let fm = FileManager.default
        let staging = out + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: staging) }
        var staged = self
        staged.out = staging
        try staged.produce()
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        for name in Self.outputs {
            let source = staging + "/" + name, target = out + "/" + name
            if fm.fileExists(atPath: source) {
                guard rename(source, target) == 0 else {
                    throw InputError(file: target, "cannot move the new table into place (\(String(cString: strerror(errno))))")
                }
            } else {
                try? fm.removeItem(atPath: target)
            }
        }
    }

    private func produce() throws {
        try validate()
        let ranks = self.ranks, grid = lambdas
        let responses = try ResponseTable.read(params)
        let geneList: Set<String>? = switch genes {
        case "ion-channel": GeneSets.ionChannels
        case "all": nil
        default: try GenePreprocessing.readGeneList(genes)
        }
        let markerList = markers
        let preprocessing = GenePreprocessing(geneList: geneList, markers: geneList == nil ? [] : markerList, minimumTotalCounts: minCounts)
        let table = try GeneCounts.read(counts, knownCells: Set(responses.cells))
        let dataset = try PatchSeqDataset.join(counts: table, responses: responses, preprocessing: preprocessing)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var text = dataset.report.description + "\n"
        log(dataset.report.description)

        let cv = CrossValidation(folds: folds, seed: seed, threads: threads)
        let total = ranks.count * folds * grid.count
        let progress = ProgressReporter("cross-validation", total: total, unit: "fits", enabled: showProgress)
        let rows = try cv.run(x: dataset.x, y: dataset.y, ranks: ranks, lambdas: grid, alpha: alpha) { progress.advance(by: $0) }
        progress.finish()
        let cvTable = RegressionTables.cvRows(rows, maxRank: ranks.max()!)
        try write(CSVTable.format(header: cvTable.header, rows: cvTable.rows), "cv.csv")
        let summaries = RegressionTables.summaries(rows)
        let summaryTable = RegressionTables.summaryTable(summaries)
        try write(CSVTable.format(header: summaryTable.header, rows: summaryTable.rows), "cv_summary.csv")

        let mainRank = ranks[0]
        let chosen = finalLambda ?? summaries.filter { $0.rank == mainRank }.max { $0.r2TestRelaxed.mean < $1.r2TestRelaxed.mean }!.lambda
        let model = SparseReducedRankRegression(rank: mainRank, lambda: chosen, alpha: alpha)
        let sparse = model.fit(dataset.x, dataset.y)
        let fit = model.relaxed(dataset.x, dataset.y, selected: sparse.selected)
        let order = fit.selected.sorted { rowNorm(fit.w, $0) > rowNorm(fit.w, $1) }
        let r = fit.w.columns
        try write(CSVTable.format(header: ["gene"] + (1...max(r, 1)).map { "w\($0)" },
                                  rows: order.map { g in [dataset.genes[g]] + (0..<r).map { CSVTable.formatNumber(fit.w[g, $0]) } }), "genes.csv")
        try write(CSVTable.format(header: ["output"] + (1...max(r, 1)).map { "v\($0)" },
                                  rows: dataset.outputs.indices.map { j in [dataset.outputs[j]] + (0..<r).map { CSVTable.formatNumber(fit.v[j, $0]) } }), "loadings.csv")
        let cvPerOutput = finalLambda == nil || grid.contains(chosen) ? RegressionTables.perOutputR2(rows, rank: mainRank, lambda: chosen) : []
        let inSample = RegressionTables.inSampleR2(fit, x: dataset.x, y: dataset.y)
        try write(CSVTable.format(header: ["output", "r2_cv_relaxed", "r2_in_sample"], rows: dataset.outputs.indices.map { j in
            [dataset.outputs[j], CSVTable.formatNumber(j < cvPerOutput.count ? cvPerOutput[j] : .nan), CSVTable.formatNumber(inSample[j])]
        }), "r2_per_output.csv")
        let summary = summaries.first { $0.rank == mainRank && $0.lambda == chosen }
        let inSampleTotal = 1 - (dataset.y - fit.predict(dataset.x)).squaredNorm / dataset.y.squaredNorm
        text += String(format: "final model: rank %d, λ %.4g, α %.2g: %d genes; CV relaxed test R² %.3f ± %.3f (%.1f genes per fold); in-sample R² %.3f\n",
                      mainRank, chosen, alpha, order.count, summary?.r2TestRelaxed.mean ?? .nan, summary?.r2TestRelaxed.sd ?? .nan,
                      summary?.genes ?? .nan, inSampleTotal)
        text += "genes: " + order.map { dataset.genes[$0] }.joined(separator: ", ") + "\n"
        if r >= 2 {
            let groups = try metadata.map { try metadataGroups($0, cells: dataset.cells) }
            try BiplotFigure.write(fit: fit, x: dataset.x, y: dataset.y, genes: dataset.genes, outputs: dataset.outputs, groups: groups,
                                   title: String(format: "sRRR rank %d, λ = %.3g: %d genes", mainRank, chosen, order.count), to: out + "/biplot.png")
        }
        if let posteriorSamples { text += try posteriorDraws(posteriorSamples, table: table, preprocessing: preprocessing, lambda: chosen, rank: mainRank) }
        try write(text, "report.txt")
        log(text.trimmingCharacters(in: .newlines))
    }

    func rowNorm(_ w: Matrix, _ r: Int) -> Double { (0..<w.columns).reduce(0) { $0 + w[r, $1] * w[r, $1] } }

    func write(_ text: String, _ name: String) throws {
        try AtomicFile.write(Data(text.utf8), to: out + "/" + name)
    }

    func metadataGroups(_ path: String, cells: [String]) throws -> [String] {
        let families = try CellFamilies.read(path, column: colorBy)
        return cells.map { families.family(of: $0) }
    }

    /// Cross-validates the final λ on each posterior draw (one sample per cell per draw).
    func posteriorDraws(_ path: String, table: GeneCounts, preprocessing: GenePreprocessing, lambda: Double, rank: Int) throws -> String {
        let samples = try ResponseTable.read(path)
        guard let indexes = samples.samples else { throw InputError(file: path, location: "header", "expected a `sample` column") }
        let draws = Array(Set(indexes)).sorted()
        var rows: [[String]] = []
        var selectionCount: [String: Int] = [:]
        var r2s: [Double] = []
        for draw in draws {
            let subset = samples.draw(draw)
            let dataset = try PatchSeqDataset.join(counts: table, responses: subset, preprocessing: preprocessing)
            let cvRows = try CrossValidation(folds: folds, seed: seed, threads: threads)
                .run(x: dataset.x, y: dataset.y, ranks: [rank], lambdas: [lambda], alpha: alpha)
            let summary = RegressionTables.summaries(cvRows)[0]
            let model = SparseReducedRankRegression(rank: rank, lambda: lambda, alpha: alpha)
            let selected = model.fit(dataset.x, dataset.y).selected.map { dataset.genes[$0] }
            for g in selected { selectionCount[g, default: 0] += 1 }
            r2s.append(summary.r2TestRelaxed.mean)
            rows.append([String(draw), String(dataset.cells.count), CSVTable.formatNumber(summary.genes), CSVTable.formatNumber(summary.r2TestRelaxed.mean),
                         CSVTable.formatNumber(summary.r2TestRelaxed.sd), String(selected.count)])
        }
        try write(CSVTable.format(header: ["draw", "cells", "mean_n_genes_cv", "r2_test_relaxed_mean", "r2_test_relaxed_sd", "n_genes_all_cells"], rows: rows), "posterior_draws.csv")
        let stability = selectionCount.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        try write(CSVTable.format(header: ["gene", "selected_in_draws", "fraction"],
                                  rows: stability.map { [$0.key, String($0.value), CSVTable.formatNumber(Double($0.value) / Double(draws.count))] }), "gene_stability.csv")
        let m = r2s.reduce(0, +) / Double(r2s.count)
        let sd = (r2s.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(r2s.count)).squareRoot()
        return String(format: "posterior draws (%d): CV relaxed test R² %.3f ± %.3f across draws; genes selected in every draw: %@\n",
                      draws.count, m, sd, stability.filter { $0.value == draws.count }.map(\.key).joined(separator: ", "))
    }
}
