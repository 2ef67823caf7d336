import ArgumentParser
import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkPipeline

/// The whole pipeline on the shipped data, or on a lab's own recordings and gene counts, as one command that writes a
/// report.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on the shipped data, or on your own recordings and gene counts, and write an HTML report.",
        discussion: """
        Stages (each writes its tables under --out and records its settings in stages.json; a rerun reuses every stage \
        whose settings and inputs are unchanged and redoes the rest; banks resume chunk by chunk):
          1. a prior simulation bank of the paper's M1 model with its 23 features (bank/)
          2. NPE-N: a MAF trained on the simulations nearest the observed cells, plus feature noise (model.json)
          3. with --rounds R > 1, population-sequential NPE (TSNPE): each later round simulates parameters drawn from \
        the observed cells' posteriors truncated to their high-probability regions (rounds/R/bank/) and retrains NPE-N on \
        all banks
          4. posterior samples, MAPs (the best sample, the paper's), refined MAPs (gradient ascent on the posterior, \
        as sbi's posterior.map()) and means of every cell (fits/)
          5. the paper's MAP check: the MAPs and refined MAPs re-simulated on a fresh noise seed (fits/map_check.csv, \
        map_refined_check.csv)
          6. best fits: the two MAPs and --candidates posterior samples of each cell simulated, the nearest to the cell kept \
        (chosen on three noise seeds), and re-simulated on the fresh check seed (fits/best_fit.csv, best_fit_check.csv); \
        per-cell predictive summary and cells outside the model (fits/predictive.csv)
          7. the paper's metric on its cells (family known, not "low quality"), overall and by family, MAPs and best fit \
        beside the paper (fits/fit_summary.csv)
          8. ion-channel genes → the fitted MAP parameters by sparse reduced-rank regression (regression/)
        and report.html, which links every table and shows the figures.

          ionlink run --out results/                  # the defaults: about 6 minutes on 2 cores
          ionlink run --out results/ --preset paper   # the paper's protocol: 15 M simulations, k = 1000, 10 000 samples

        Your own Patch-seq cells: --recordings takes NWB/ABF files or folders of them (one cell per file; its id is the \
        NWB session_id, else the file name without extension). Each cell's 23 features come from its step nearest \
        --target-pa, with --ljp-mv subtracted; a cell without such a step, with fewer than 5 spikes there, with clipped \
        spikes, or whose file cannot be read is left out and listed with its reason (observed/left_out.csv). Gene \
        counts (--counts: CSV/TSV, cells × genes or genes × cells, or h5ad) are joined by normalised cell id; \
        --metadata (optional) gives each cell's family in --family-column for the per-family tables.
          ionlink run --recordings nwb/ --counts genes.h5ad --metadata cells.csv --config m1 --ljp-mv 15.4 \
            --target-pa 300 --out results/
        """
    )

    enum Preset: String, ExpressibleByArgument, CaseIterable { case laptop, paper }

    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out = "results"
    @Flag(help: "Write into an existing folder that IonLink did not make (same-named files are overwritten).") var force = false
    @Option(help: ArgumentHelp("The shipped data folder (m1/ from the repository).", valueName: "DIR")) var data = "data"
    @Option(help: "Defaults to start from: laptop (minutes on 2 cores) or paper (one round of 15 000 000 simulations, k = 1000, 10 000 samples; hours, or a cluster). Options given explicitly override the preset.")
    var preset: Preset = .laptop
    @Option(help: "Prior simulations in round 1 (laptop 200000; the paper 15000000).") var simulations: Int?
    @Option(help: "Rounds of population-sequential NPE (1 = the paper's single round; laptop 2).") var rounds: Int?
    @Option(help: "Simulations of each later round, drawn from the cells' truncated posteriors (laptop 200000).") var roundSimulations: Int?
    @Option(help: ArgumentHelp("The later rounds' method: truncated (TSNPE: the prior truncated to the cells' posteriors, plain NPE-N loss; the default) or atomic (APT/SNPE-C: the posteriors themselves, atomic loss with atoms from all rounds' simulations). BENCHMARKS.md compares them.",
                               valueName: "truncated|atomic")) var sequential: SequentialMethod?
    @Option(help: "NPE-N: nearest simulations per observed cell (laptop 100; the paper 1000).") var neighbours: Int?
    @Option(help: "NPE-N feature-noise eps, the paper's convention: SD √(eps·SDⱼ) (laptop 0.3, measured best with two rounds; the paper's NPE-N 0.1).") var noise: Double?
    @Option(help: "Posterior samples per cell; the MAP is the best of them (laptop 1000; the paper 10000).") var samples: Int?
    @Option(help: "Posterior samples per cell simulated to choose its best fit, besides the MAP (0 = no best fits; laptop 150).") var candidates: Int?
    @Option(help: "Seed of the banks, training, sampling and noise.") var seed: UInt64 = 1
    @Option(help: "Stop training after this many epochs in any case (for quick trials).") var maxEpochs: Int?
    @Option(help: "Training: each batch's gradient is summed from this many fixed parts, shared out over MPI ranks (give the ranks' count to train on all of them; the part count, not the rank count, decides the model's rounding).")
    var gradientParts: Int?
    @Option(help: "Use only the first N observed cells (for quick trials; default: all).") var cells: Int?
    @Option(help: ArgumentHelp("The simulator's arithmetic for the banks and every re-simulation: float64 (the reference) or float32 (its banks about twice as fast; features equal in distribution; see `ionlink bench precision`).",
                               valueName: "float64|float32")) var precision: BatchSimulator.Precision = .float64
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Your recordings: NWB/ABF files or folders of them (instead of the shipped cells).",
                                                         valueName: "PATH")) var recordings: [String] = []
    @Option(help: ArgumentHelp("With --recordings: the gene counts (CSV/TSV or h5ad).", valueName: "FILE")) var counts: String?
    @Option(help: ArgumentHelp("With --recordings: cell metadata with a family column (CSV/TSV; optional).", valueName: "FILE")) var metadata: String?
    @Option(help: "The metadata column naming each cell's family.") var familyColumn = "RNA family"
    @Option(help: "With --recordings: model and protocol, a JSON configuration file or a preset (m1, v1).") var config = "m1"
    @Option(help: "With --recordings: liquid-junction potential subtracted from the voltages, mV (the paper's M1: 15.4).") var ljpMv = 15.4
    @Option(help: "With --recordings: the features come from the step nearest this current, pA.") var targetPa = 300.0
    @Option(help: ArgumentHelp("With --recordings: the sweep each cell's features come from: target (nearest --target-pa, M1) or highest (the highest-current step that fires, V1; the current is the model's 14th parameter). Default: highest when the configuration takes the current as a parameter, else target.",
                               valueName: "target|highest")) var sweep: RecordedCells.SweepRule?
    @Option(help: ArgumentHelp("With --recordings: how NWB values become mV and pA (see ionlink features --help).",
                               valueName: "auto|stored|si")) var nwbUnits: NWBUnits = .auto
    @OptionGroup var workers: WorkerOptions

    func runSettings() -> RunSettings {
        var s = preset == .paper ? RunSettings.paper : RunSettings()
        if let simulations { s.simulations = simulations }
        if let rounds { s.rounds = rounds }
        if let roundSimulations { s.roundSimulations = roundSimulations }
        if let sequential { s.sequential = sequential }
        if let neighbours { s.neighbours = neighbours }
        if let noise { s.noise = noise }
        if let samples { s.samples = samples }
        if let candidates { s.candidates = candidates }
        if let maxEpochs { s.maxEpochs = maxEpochs }
        if let gradientParts { s.gradientParts = gradientParts }
        s.seed = seed
        s.cells = cells
        s.precision = precision
        return s
    }

    func validate() throws {
        do { try runSettings().validate() } catch let error as InputError { throw ValidationError(error.message) }
        if !recordings.isEmpty && counts == nil { throw ValidationError("--recordings needs --counts: the gene counts of those cells.") }
        if recordings.isEmpty && (counts != nil || metadata != nil) {
            throw ValidationError("--counts and --metadata go with --recordings; without it the shipped data are used.")
        }
    }

    func inputs() throws -> RunInputs {
        guard !recordings.isEmpty, let counts else {
            var inputs = try RunInputs.shipped(data: data)
            inputs.familyColumn = familyColumn
            return inputs
        }
        let configuration = try SimulationConfiguration.load(config)
        var settings = RecordedCells.Settings()
        settings.ljpMV = ljpMv
        settings.targetPA = targetPa
        settings.nwbUnits = nwbUnits.rawValue
        settings.sweep = sweep ?? (configuration.protocol.usesAmplitude ? .highest : .target)
        let quiet = workers.quiet || !Ranks.world.isRoot
        var (inputs, _) = try RunInputs.recorded(try RecordedCells.files(in: recordings), counts: counts, metadata: metadata,
                                                 configuration: configuration, configurationName: config,
                                                 settings: settings, folder: out, threads: workers.threads, showProgress: !quiet,
                                                 writes: Ranks.world.isRoot, log: { if !quiet { print($0) } })
        inputs.familyColumn = familyColumn
        return inputs
    }

    func run() throws {
        // Under MPI every rank runs the pipeline; rank 0 prepares the folder, writes and speaks.
        let ranks = Ranks.world
        if ranks.isRoot { try OutputFolder.prepare(out, for: "run", ownFiles: ["stages.json"], force: force) }
        ranks.barrier()
        let runInputs = try inputs()
        ranks.barrier()   // rank 0 has written the recordings' features
        let pipeline = Pipeline(folder: out, inputs: runInputs, settings: runSettings())
        pipeline.ranks = ranks
        pipeline.threads = workers.threads
        pipeline.showProgress = !workers.quiet
        let quiet = workers.quiet
        pipeline.log = { if !quiet { print($0) } }
        let result = try pipeline.run()
        guard ranks.isRoot else { return }
        print("MAP (paper's metric, \(result.scoredCells) cells): \(result.map.text)")
        print("refined MAP: \(result.refinedMAP.text)")
        if let best = result.bestFit { print("best fit: \(best.text)") }
        print("report: \(out)/report.html")
    }
}

extension RecordedCells.SweepRule: ExpressibleByArgument {}
extension SequentialMethod: ExpressibleByArgument {}
