import Foundation
import IonLinkBiophysics
import IonLinkCore

/// How the rounds after the first draw their simulations and train.
public enum SequentialMethod: String, Codable, Sendable, CaseIterable {
    /// TSNPE (Deistler et al. 2022), the default: the prior truncated to the cells' posteriors' high-density regions
    /// (`TruncatedProposal`), trained with the plain NPE-N loss, which stays valid there.
    case truncated
    /// APT / SNPE-C (Greenberg et al. 2019): draws from the cells' posteriors themselves, trained with the atomic loss
    /// (`TrainingLoss.apt`), its atoms drawn from all the rounds' simulations (NPE-N selects pairs by x), on the logit
    /// scale of the prior box (the atomic loss leaves mass outside the box unconstrained).
    case atomic
}

/// What `ionlink run` computes. Every field changes results; threads and output do not (see `Pipeline`).
public struct RunSettings: Codable, Equatable, Sendable {
    /// Prior simulations of round 1 (the paper: 15 000 000).
    public var simulations = 200_000
    /// Rounds of population-sequential NPE (1 = the paper's single round).
    public var rounds = 2
    /// Simulations of each later round, drawn from the proposal of the observed cells.
    public var roundSimulations = 200_000
    /// The later rounds' proposal and loss (TSNPE by default; BENCHMARKS.md compares it with APT).
    public var sequential = SequentialMethod.truncated
    /// NPE-N: nearest simulations per observed cell (the paper: 1000).
    public var neighbours = 100
    /// NPE-N feature noise eps, the paper's convention (SD √(eps·SDⱼ)). The paper's NPE-N uses 0.1. With the
    /// two-round defaults 0.3 fits best of the values measured (0.3: MAP 1.26% failed, 4.32; 0.5: 0.42%, 4.42; 1: 1.36%,
    /// 4.50; BENCHMARKS.md), hence the default.
    public var noise = 0.3
    /// Posterior samples per cell; the MAP is the best of them by log-probability (the paper: 10 000).
    public var samples = 1000
    /// Posterior samples per cell simulated to choose the best fit (besides the MAP); 0 = no best fit.
    public var candidates = 150
    /// Seed of everything random: prior draws, noise, training, sampling.
    public var seed: UInt64 = 1
    /// Each training batch's gradient is summed from this many fixed parts, shared out over MPI ranks (as many as the
    /// ranks that should train; the part count, not the rank count, decides the model's rounding).
    public var gradientParts = 2
    /// Stop training after this many epochs in any case (quick trials).
    public var maxEpochs = 100_000
    /// Use only the first N observed cells (quick trials; nil = all).
    public var cells: Int?
    /// The simulator's arithmetic, for the banks and every re-simulation (the checks, the best fits, the example traces).
    /// float32 runs about twice the simulations per second; its features equal float64's in distribution, not bit for
    /// bit (BENCHMARKS.md).
    public var precision = BatchSimulator.Precision.float64

    public init() {}

    /// The paper's protocol: one round of 15 M prior simulations, k = 1000, eps 0.1, 10 000 samples per cell.
    public static var paper: RunSettings {
        var s = RunSettings()
        s.simulations = 15_000_000
        s.rounds = 1
        s.neighbours = 1000
        s.noise = 0.1
        s.samples = 10_000
        return s
    }

    /// Throws a message naming the first setting out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw InputError(file: "settings", what) } }
        try check(simulations >= 1000, "simulations must be at least 1000, got \(simulations)")
        try check(rounds >= 1, "rounds must be at least 1, got \(rounds)")
        try check(rounds == 1 || roundSimulations >= 1000, "round simulations must be at least 1000, got \(roundSimulations)")
        try check(neighbours >= 1, "neighbours must be at least 1, got \(neighbours)")
        try check(noise >= 0 && noise.isFinite, "noise must be a finite number ≥ 0, got \(noise)")
        try check(samples >= 1, "samples must be at least 1, got \(samples)")
        try check(candidates >= 0, "candidates must be ≥ 0, got \(candidates)")
        try check(gradientParts >= 1, "gradient parts must be at least 1, got \(gradientParts)")
        try check(maxEpochs >= 1, "max epochs must be at least 1, got \(maxEpochs)")
        try check((cells ?? 20) >= 20, "cells must be at least 20 (10-fold CV of the regression), got \(cells ?? 0)")
    }
}

/// The noise seeds of a run, all derived from its seed and all different: round r's bank, the re-simulations that
/// choose best fits, and the one re-simulation that scores every reported fit (never used for choosing).
public struct RunSeeds: Sendable, Equatable {
    public let seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    private func derived(_ k: UInt64) -> UInt64 { StreamKey.key(seed: seed, purpose: .fitNoise, index: k) }

    /// Round r's bank (round 1 is the prior bank, seeded by the run seed itself, as `ionlink simulate --seed`).
    public func bank(round r: Int) -> UInt64 { r == 1 ? seed : derived(100 + UInt64(r)) }
    /// Seeds of the re-simulations that choose best fits: the first screens every candidate, the rest re-check the
    /// shortlist.
    public var selection: [UInt64] { [derived(1), derived(2), derived(3)] }
    /// The seed of the scoring re-simulation of the MAPs and best fits.
    public var check: UInt64 { derived(4) }
    /// The seed of the posterior samples drawn for the calibration check.
    public var calibration: UInt64 { derived(5) }
}

/// Where the data of a run come from.
public struct RunInputs: Sendable {
    /// Observed features: id + the 23 features (matched by name).
    public var observed: String
    /// Gene counts (CSV/TSV/h5ad).
    public var counts: String
    /// Cell metadata with the family column (nil: every cell is scored, as one family).
    public var metadata: String?
    /// The metadata column that names each cell's family (the paper: `RNA family`).
    public var familyColumn = "RNA family"
    public var configuration: SimulationConfiguration
    public var configurationName: String
    /// Where the observed features came from, for the report (setting, value).
    public var provenance: [(String, String)] = []
    /// The paper's sRRR cross-validation table (per rank, fold and λ), drawn beside the run's when given.
    public var paperCrossValidation: String?
    /// For a run on recordings: the table of each cell's file, sweep and current (`observed/sweeps.csv`) and how they
    /// were read, so the report can overlay the recorded traces.
    public var recordedSweeps: (table: String, settings: RecordedCells.Settings)?

    public init(observed: String, counts: String, metadata: String?, configuration: SimulationConfiguration = .paperM1,
                configurationName: String = "m1") {
        self.observed = observed; self.counts = counts; self.metadata = metadata
        self.configuration = configuration; self.configurationName = configurationName
    }

    /// The data shipped in the repository's `data/` folder (the paper's M1 cells).
    public static func shipped(data: String) throws -> RunInputs {
        var inputs = RunInputs(observed: data + "/m1/M1_features_X_o.csv.gz", counts: data + "/m1/gene_counts.csv.gz",
                               metadata: data + "/m1/m1_patchseq_meta_data.tsv.gz")
        for file in [inputs.observed, inputs.counts, data + "/m1/m1_patchseq_meta_data.tsv.gz"] where !FileManager.default.fileExists(atPath: file) {
            throw InputError(file: file, "not found: --data must be the repository's data/ folder (with m1/)")
        }
        inputs.provenance = [("observed features", "the paper's 1033 M1 cells (Scala et al. 2021; data/m1)")]
        inputs.paperCrossValidation = data + "/m1/sRRR_cv_results_paper.csv.gz"
        return inputs
    }

    /// The families of the cells: from the metadata's family column, or one family for all when there is no metadata.
    func families() throws -> CellFamilies {
        guard let metadata else { return CellFamilies(familyOf: [:], column: familyColumn, everyCell: "all cells") }
        return try CellFamilies.read(metadata, column: familyColumn)
    }

    /// A digest of the contents of `path` (FNV-1a, 64 bits): stage keys follow the inputs, not their names.
    static func digest(_ path: String?) throws -> String {
        guard let path else { return "none" }
        return try FNV1a.digest(ofFile: path)
    }
}
