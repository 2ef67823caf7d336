import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkPatchSeq
import IonLinkPipeline

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
    @Flag(help: "Write into an existing folder that IonLink did not make (same-named files are overwritten).") var force = false

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
    @OptionGroup var workers: WorkerOptions

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
        try OutputFolder.prepare(out, for: "regress", ownFiles: ["cv.csv"], force: force)
        var regression = GeneRegression(counts: counts, params: params, out: out)
        regression.genes = genes
        regression.markers = markers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        regression.minCounts = minCounts
        regression.ranks = try parsedRanks()
        regression.lambdas = try parsedLambdas()
        regression.alpha = alpha
        regression.folds = folds
        regression.finalLambda = finalLambda
        regression.metadata = metadata
        regression.colorBy = colorBy
        regression.posteriorSamples = posteriorSamples
        regression.seed = seed
        regression.threads = workers.threads
        regression.showProgress = !workers.quiet
        let quiet = workers.quiet
        regression.log = { if !quiet { print($0) } }
        try regression.run()
    }
}
