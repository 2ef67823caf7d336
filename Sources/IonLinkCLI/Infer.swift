import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference
import IonLinkPipeline

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample the posterior of each observed cell with a trained estimator; write MAPs, means and samples.",
        discussion: """
          ionlink infer --estimator model.json --observed cells.csv --out fits/ [--samples 10000] [--refine-map]

        cells.csv: a header, an id in the first column, then the features, matched by name to the training \
        features (a missing or misspelled feature column is an error naming it; other columns are ignored). Samples outside the prior box are rejected; log-probs are corrected \
        for the flow's mass outside it. Writes DIR/map.csv (the best of the samples, the paper's MAP; with \
        --refine-map also DIR/map_refined.csv, that MAP improved by gradient ascent inside the box, as sbi's \
        posterior.map()), DIR/posterior_mean.csv, \
        DIR/samples.npy (float32 [cells, samples, parameters]), DIR/log_probs.npy ([cells, samples]) and \
        DIR/acceptance.csv. Cells whose features are undefined, or whose samples all fall outside the box, get NaN rows.
        """
    )

    @Option(name: [.customLong("estimator"), .customLong("model")], help: ArgumentHelp("A trained estimator (ionlink train); --model is the old name.", valueName: "ESTIMATOR.json"))
    var estimator: String
    @Option(help: ArgumentHelp("Observed features: id + features.", valueName: "X.csv")) var observed: String
    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String
    @Flag(help: "Write into an existing folder that IonLink did not make (same-named files are overwritten).") var force = false
    @Option(help: "Posterior samples per cell.") var samples = 10_000
    @Flag(help: "Also write map_refined.csv: the best sample refined by gradient ascent on log q(θ|x) inside the prior box.") var refineMap = false
    @Option(help: "Seed for sampling.") var seed: UInt64 = 1
    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1, got \(samples).") }
    }

    func run() throws {
        let posterior = try Posterior.read(estimator)
        let cells = try ObservedCells.read(observed, featureNames: posterior.featureNames)
        var sampler = PosteriorSampler(posterior: posterior, samples: samples, seed: seed, threads: workers.threads)
        sampler.refineMAP = refineMap
        let ranks = Ranks.world
        if ranks.isRoot { try OutputFolder.prepare(out, for: "infer", ownFiles: ["map.csv"], force: force) }
        ranks.barrier()
        // Under MPI each rank samples a consecutive part of the cells; rank 0 joins the parts into one process's files.
        let outcome = try PosteriorFitsWriter.sample(sampler, cells: cells, into: out, title: "infer", showProgress: !workers.quiet, on: ranks) {
            FileHandle.standardError.write(Data(("\n" + $0 + "\n").utf8))
        }
        guard ranks.isRoot else { return }
        let failed = outcome.cellsWithoutSamples
        if !workers.quiet {
            print("posteriors of \(cells.count - failed) of \(cells.count) cells" + (ranks.isParallel ? " on \(ranks.size) ranks" : "")
                  + " written to \(out)" + (failed > 0 ? " (\(failed) without samples: NaN rows)" : ""))
        }
        if let advice = outcome.lowAcceptanceAdvice { FileHandle.standardError.write(Data((advice + "\n").utf8)) }
    }
}
