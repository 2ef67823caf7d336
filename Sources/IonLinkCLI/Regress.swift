import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkPatchSeq
import IonLinkRegression
import IonLinkReport

struct Regress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regress fitted parameters (or any per-cell outputs) on gene expression with sparse reduced-rank regression.",
        discussion: """
        Joins the gene table and the output table by cell id, selects and normalises genes as Bernaerts et al. \
        (2025) (GO ion-channel genes + Pvalb/Lamp5/Vip/Sst with ≥ 10 counts; library size, log2(x+1), z-score), \
        z-scores the outputs, cross-validates sparse reduced-rank regression over ranks and λ (10 folds from \
        NumPy's legacy permutation with --seed), then fits the final relaxed model on all cells.

          ionlink regress --counts data/m1/gene_counts.csv.gz --params data/m1/npe_n_map_parameters.csv.gz --out regression/

        Writes DIR/cv.csv (rank,lambda,alpha,fold,n_genes,r2_test,r2_test_relaxed,r2_train,…), DIR/cv_summary.csv, \
        DIR/genes.csv (gene,w1,…,wr), DIR/loadings.csv (output,v1,…,vr), DIR/r2_per_output.csv, DIR/biplot.png and \
        DIR/report.txt. With --posterior-samples, the final λ is cross-validated again on each posterior draw: \
        DIR/posterior_draws.csv and DIR/gene_stability.csv.
        """
    )

    @Option(help: ArgumentHelp("Gene counts: CSV/TSV (genes × cells or cells × genes, optionally .gz) or AnnData .h5ad.", valueName: "COUNTS"))
    var counts: String

    @Option(help: ArgumentHelp("Outputs: a table with a cell id column and numeric columns (e.g. fitted parameters).", valueName: "PARAMS.csv"))
    var params: String

    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR"))
    var out: String

    @Option(help: "Genes: ion-channel (the paper's GO list + markers), all, or a file with one symbol per line.")
    var genes = "ion-channel"

    @Option(help: "Marker genes added to the gene list (comma-separated).")
    var markers = GeneSets.markers.joined(separator: ",")

    @Option(help: "Keep genes with at least this many counts over the matched cells.")
    var minCounts = 10.0

    @Option(help: "Ranks to cross-validate, comma-separated (the first is the final model's).")
    var rank = "2"

    @Option(help: "λ grid as start:stop:step or a comma-separated list.")
    var lambdas = "0.1:1.9:0.1"

    @Option(help: "Elastic-net mixing: 1 = group lasso (the paper), 0 = ridge.")
    var alpha = 1.0

    @Option(help: "Cross-validation folds.") var folds = 10

    @Option(help: "λ of the final model (default: the λ with the best mean relaxed test R² at the first rank).")
    var finalLambda: Double?

    @Option(help: ArgumentHelp("Cell metadata (TSV/CSV with a Cell/cell_id column) to colour the bi-plot.", valueName: "META"))
    var metadata: String?

    @Option(help: "Metadata column used for colours.") var colorBy = "RNA family"

    @Option(help: ArgumentHelp("Posterior samples (cell_id, sample, outputs…): repeat the CV at the final λ on each draw.", valueName: "SAMPLES.csv"))
    var posteriorSamples: String?

    @Option(help: "Seed of the fold permutation (NumPy legacy seeding; the paper: 42).") var seed: UInt32 = 42
    @Option(help: "Worker threads.") var threads: Int = availableCores
    @Flag(help: "No progress output.") var quiet = false

    func parsedRanks() throws -> [Int] {
        let values = rank.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--rank expects positive integers, e.g. 2 or 2,13; got '\(rank)'.") }
        return values
    }

    func parsedLambdas() throws -> [Double] {
        let parts = lambdas.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 3, let start = parts[0], let stop = parts[1], let step = parts[2], step > 0, stop >= start {
            let n = Int(((stop - start) / step + 1e-9).rounded(.down))
            return (0...n).map { (start + Double($0) * step) * 1e12.rounded() / 1e12 }.map { ($0 * 1e10).rounded() / 1e10 }
        }
        let list = lambdas.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--lambdas expects start:stop:step or a list, e.g. 0.1:1.9:0.1; got '\(lambdas)'.") }
        return list
    }

    func validate() throws {
        _ = try parsedRanks()
        _ = try parsedLambdas()
        guard alpha >= 0 && alpha <= 1 else { throw ValidationError("--alpha must be in [0, 1].") }
        guard folds >= 2 else { throw ValidationError("--folds must be at least 2.") }
    }

    func run() throws {
        let ranks = try parsedRanks(), grid = try parsedLambdas()
        let responses = try ResponseTable.read(params)
        let geneList: Set<String>? = switch genes {
        case "ion-channel": GeneSets.ionChannels
        case "all": nil
        default: try GenePreprocessing.readGeneList(genes)
        }
        let markerList = markers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let preprocessing = GenePreprocessing(geneList: geneList, markers: geneList == nil ? [] : markerList, minimumTotalCounts: minCounts)
        let table = try GeneCounts.read(counts, knownCells: Set(responses.cells))
        let dataset = try PatchSeqDataset.join(counts: table, responses: responses, preprocessing: preprocessing)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var log = dataset.report.description + "\n"
        if !quiet { print(dataset.report) }

        let cv = CrossValidation(folds: folds, seed: seed, threads: threads)
        let total = ranks.count * folds * grid.count
        let progress = ProgressReporter("cross-validation", total: total, unit: "fits", enabled: !quiet)
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
        log += String(format: "final model: rank %d, λ %.4g, α %.2g: %d genes; CV relaxed test R² %.3f ± %.3f (%.1f genes per fold); in-sample R² %.3f\n",
                      mainRank, chosen, alpha, order.count, summary?.r2TestRelaxed.mean ?? .nan, summary?.r2TestRelaxed.sd ?? .nan,
                      summary?.genes ?? .nan, inSampleTotal)
        log += "genes: " + order.map { dataset.genes[$0] }.joined(separator: ", ") + "\n"
        if r >= 2 {
            let groups = try metadata.map { try metadataGroups($0, cells: dataset.cells) }
            try BiplotFigure.write(fit: fit, x: dataset.x, y: dataset.y, genes: dataset.genes, outputs: dataset.outputs, groups: groups,
                                   title: String(format: "sRRR rank %d, λ = %.3g: %d genes", mainRank, chosen, order.count), to: out + "/biplot.png")
        }
        if let posteriorSamples { log += try posteriorDraws(posteriorSamples, table: table, preprocessing: preprocessing, lambda: chosen, rank: mainRank) }
        try write(log, "report.txt")
        if !quiet { print(log, terminator: "") }
    }

    private func rowNorm(_ w: Matrix, _ r: Int) -> Double { (0..<w.columns).reduce(0) { $0 + w[r, $1] * w[r, $1] } }

    private func write(_ text: String, _ name: String) throws {
        try AtomicFile.write(Data(text.utf8), to: out + "/" + name)
    }

    private func metadataGroups(_ path: String, cells: [String]) throws -> [String] {
        let separator: Character = path.lowercased().contains(".tsv") ? "\t" : ","
        let meta = try CSVTable.read(path, separator: separator)
        let idColumn = ["Cell", "cell_id", "cell", "id"].compactMap { meta.header.firstIndex(of: $0) }.first ?? 0
        let column = try meta.column(colorBy)
        var lookup: [String: String] = [:]
        for row in meta.rows { lookup[CellID.normalized(row[idColumn])] = row[column] }
        return cells.map { lookup[$0] ?? "unknown" }
    }

    /// Cross-validates the final λ on each posterior draw (one sample per cell per draw).
    private func posteriorDraws(_ path: String, table: GeneCounts, preprocessing: GenePreprocessing, lambda: Double, rank: Int) throws -> String {
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
