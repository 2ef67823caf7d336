import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkInference
import IonLinkPatchSeq
import IonLinkReport

/// The whole analysis of `ionlink run` as typed stages: prior bank → (NPE-N training → truncated-prior proposal →
/// proposal bank) per round → posteriors of the observed cells → the paper's MAP check → simulation-checked best fits
/// → genes → parameters (sRRR) → report. Every stage writes its outputs under `folder` and records its settings in
/// `stages.json`; a rerun reuses the stages whose settings and inputs are unchanged (banks resume chunk by chunk).
///
/// Under an MPI launch every rank calls `run()` with the same inputs and settings (`ranks`): the banks, the NPE-N
/// search, training and the posteriors of the cells are shared out, the lighter stages after them run on rank 0, and
/// the outputs are those of one process, file for file.
///
/// ```swift
/// let pipeline = Pipeline(folder: "results", inputs: try .shipped(data: "data"), settings: RunSettings())
/// let result = try pipeline.run()
/// print(result.map.text, result.bestFit?.text ?? "")
/// ```
public final class Pipeline {
    public let folder: String
    public let inputs: RunInputs
    public let settings: RunSettings
    public var threads = availableCores
    public var showProgress = true
    /// The MPI ranks that share the run (`Ranks.world`: this process alone unless an MPI launcher started it). Only rank
    /// 0 writes outputs, logs and shows progress.
    public var ranks = Ranks.world
    /// Receives the progress lines of each stage.
    public var log: @Sendable (String) -> Void = { print($0) }
    /// Seconds spent per stage in this call (0: reused).
    public private(set) var timings: [(String, Double)] = []

    public init(folder: String, inputs: RunInputs, settings: RunSettings) {
        self.folder = folder; self.inputs = inputs; self.settings = settings
    }

    /// What a run found, scored on the paper's cells (see `FitScore`).
    public struct Result: Sendable, Codable {
        /// The paper's MAP: the best posterior sample by log-probability.
        public var map: FitSummary
        /// That MAP refined by gradient ascent on the posterior density (sbi's `posterior.map()`).
        public var refinedMAP: FitSummary
        public var bestFit: FitSummary?
        public var scoredCells: Int
        public var flaggedCells: [String]
    }

    var seeds: RunSeeds { RunSeeds(seed: settings.seed) }
    var model: NeuronModel { inputs.configuration.model }

    /// Runs every stage (reusing finished ones) and writes `report.html`.
    @discardableResult
    public func run() throws -> Result {
        try settings.validate()
        let (userLog, userProgress) = (log, showProgress)
        defer { (log, showProgress) = (userLog, userProgress) }
        if !ranks.isRoot { (log, showProgress) = ({ @Sendable _ in }, false) }
        if ranks.isRoot { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        ranks.barrier()
        timings = []
        var ledger = try StageLedger(folder: folder, writes: ranks.isRoot)
        let cells = try observedCells()
        let families = try inputs.families()
        let familyOf = cells.ids.map(families.family(of:))
        let scored = families.scoredRows(cells.ids)
        guard !scored.isEmpty else {
            throw InputError(file: inputs.metadata ?? inputs.observed,
                             "none of the \(cells.count) observed cells has a family (other than low quality) in column '\(families.column)'")
        }
        guard FileManager.default.fileExists(atPath: inputs.counts) else { throw InputError(file: inputs.counts, "gene counts not found") }
        // A damaged gene table is found now, not after the fits (it is read again by the regression at the end).
        let genes = try GeneCounts.read(inputs.counts, knownCells: Set(cells.ids.map(CellID.normalized)))
        let joined = Set(genes.cells.map(CellID.normalized)).intersection(cells.ids.map(CellID.normalized)).count
        guard joined >= 20 else {
            throw InputError(file: inputs.counts, "only \(joined) of the \(cells.count) observed cells have gene counts here; the regression needs at least 20 (ids are matched after normalisation, e.g. 20190418_sample_8)")
        }
        let complete = cells.completeRows
        guard complete.count >= 1 else { throw InputError(file: inputs.observed, "no cell has every feature defined") }
        if complete.count < cells.count { log("observed: \(cells.count - complete.count) cells with undefined features are not fitted") }
        let score = FitScore(observed: cells.features, scoredRows: scored)
        if ranks.isRoot { try writeCells(cells, families: familyOf, scored: scored, to: folder + "/fits/cells.csv") }

        // Rounds: bank → estimator → (proposal of the next round).
        // Stages follow the observed features' contents (a lab's new recordings in the same folder redo the fits).
        var banks: [String] = [], upstream: [String] = [StageLedger.key(["observed": try RunInputs.digest(inputs.observed)])]
        var posterior: Posterior?
        for round in 1...settings.rounds {
            let bank = round == 1 ? folder + "/bank" : roundFolder(round) + "/bank"
            let count = round == 1 ? settings.simulations : settings.roundSimulations
            try timed(round == 1 ? "prior bank" : "round \(round) bank") {
                try makeBank(bank, count: count, seed: seeds.bank(round: round), proposal: round == 1 ? nil : Self.proposalFile)
            }
            banks.append(bank)
            // Keys name no path: the same folder spelled another way (relative, absolute) is the same run.
            var bankKey = ["round": "\(round)", "count": "\(count)", "seed": "\(seeds.bank(round: round))"]
            if settings.precision != .float64 { bankKey["precision"] = settings.precision.rawValue }   // float64 keys as before
            upstream.append(StageLedger.key(bankKey))
            let modelPath = round == settings.rounds ? folder + "/model.json" : roundFolder(round) + "/model.json"
            let trainKey = StageLedger.key(TrainingKey(round: round, neighbours: settings.neighbours, noise: settings.noise, seed: settings.seed,
                                                       maxEpochs: settings.maxEpochs, cells: settings.cells,
                                                       gradientParts: settings.gradientParts == 2 ? nil : settings.gradientParts,
                                                       loss: usesAtomicLoss(round: round) ? "atomic, logit boundary" : nil), after: upstream)
            let heldOut = round == settings.rounds ? [folder + "/diagnostics/heldout_theta.npy", folder + "/diagnostics/heldout_x.npy"] : []
            if isCurrent(ledger, "training \(round)", key: trainKey, outputs: [modelPath] + heldOut) {
                posterior = try Posterior.read(modelPath)
                timings.append(("NPE-N training, round \(round)", 0))
            } else {
                try timed("NPE-N training, round \(round)") {
                    posterior = try train(round: round, banks: banks, observed: cells.subset(complete), to: modelPath)
                }
                try ledger.record("training \(round)", key: trainKey)
            }
            upstream.append(trainKey)
            guard round < settings.rounds, let posterior else { continue }
            let next = roundFolder(round + 1) + "/bank"
            var proposalSettings = ["samples": settings.samples, "count": settings.roundSimulations, "pool": 2]
            if settings.sequential == .atomic { proposalSettings["untruncated"] = 1 }
            let proposalKey = StageLedger.key(proposalSettings, after: upstream)
            if isCurrent(ledger, "proposal \(round + 1)", key: proposalKey, outputs: [next + "/" + Self.proposalFile]) {
                timings.append(("proposal of round \(round + 1)", 0))
            } else {
                if ranks.isRoot { try? FileManager.default.removeItem(atPath: roundFolder(round + 1)) }
                ranks.barrier()
                try timed("proposal of round \(round + 1)") {
                    try writeProposal(posterior, observed: cells.subset(complete), round: round + 1, to: next)
                }
                try ledger.record("proposal \(round + 1)", key: proposalKey)
            }
            upstream.append(proposalKey)
        }
        guard let posterior else { preconditionFailure("at least one round") }

        // Calibration of the final estimator on its held-out pairs (SBC ranks, expected coverage, log-prob).
        let diagnostics = folder + "/diagnostics"
        let calibrationKey = StageLedger.key(["cases": Self.calibrationCases, "samples": Self.calibrationSamples], after: upstream)
        if isCurrent(ledger, "calibration", key: calibrationKey, outputs: [diagnostics + "/sbc_ranks.csv", diagnostics + "/coverage.csv"]) {
            timings.append(("calibration", 0))
        } else {
            try timed("calibration") { if ranks.isRoot { try writeCalibration(posterior, to: diagnostics) } }
            try ledger.record("calibration", key: calibrationKey)
        }

        // Posteriors of every observed cell.
        let fits = folder + "/fits"
        let posteriorKey = StageLedger.key(["samples": settings.samples], after: upstream)
        if isCurrent(ledger, "posteriors", key: posteriorKey, outputs: [fits + "/map.csv", fits + "/map_refined.csv", fits + "/samples.npy"]) {
            timings.append(("posteriors", 0))
        } else {
            try timed("posteriors") { try samplePosteriors(posterior, cells: cells, to: fits) }
            try ledger.record("posteriors", key: posteriorKey)
        }
        upstream.append(posteriorKey)
        // The rest is light: rank 0 alone checks the fits, regresses and reports (no collective calls until the end),
        // and every rank returns its result.
        guard ranks.isRoot else {
            ranks.barrier()
            return try Self.broadcast(nil, ranks: ranks)
        }
        // Read back from the files in every case, so a resumed run chooses from the same (float32) samples.
        let candidates = try CandidateSet.read(fits: fits, cells: cells.count, names: model.parameterNames, perCell: settings.candidates)

        // The paper's MAP check and the best fits, both scored on the check seed.
        let checks = FitChecks(pipeline: self, cells: cells, families: familyOf, scored: scored, score: score)
        let checkKey = StageLedger.key(["check": seeds.check], after: upstream)
        var mapDistances: [Double?] = [], refinedDistances: [Double?] = []
        if ledger.isCurrent("map check", key: checkKey, outputs: [fits + "/map_check.csv", fits + "/map_refined_check.csv"]) {
            mapDistances = try FitChecks.readDistances(fits + "/map_check.csv", cells: cells.count)
            refinedDistances = try FitChecks.readDistances(fits + "/map_refined_check.csv", cells: cells.count)
            timings.append(("MAP re-simulation", 0))
        } else {
            try timed("MAP re-simulation") {
                mapDistances = try checks.check(candidates.map, name: "map", to: fits)
                refinedDistances = try checks.check(candidates.refinedMAP, name: "map_refined", to: fits)
            }
            try ledger.record("map check", key: checkKey)
        }
        var bestDistances: [Double?]?
        var flagged: [String] = []
        if settings.candidates > 0 {
            let bestKey = StageLedger.key(["selection": seeds.selection.map(String.init), "candidates": ["\(settings.candidates)"]],
                                         after: upstream + [checkKey])
            if ledger.isCurrent("best fit", key: bestKey, outputs: [fits + "/best_fit_check.csv", fits + "/predictive.csv"]) {
                bestDistances = try FitChecks.readDistances(fits + "/best_fit_check.csv", cells: cells.count)
                flagged = try FitChecks.readFlagged(fits + "/predictive.csv")
                timings.append(("best fits", 0))
            } else {
                try timed("best fits") {
                    let outcome = try checks.bestFits(candidates, to: fits)
                    bestDistances = outcome.distances
                    flagged = outcome.flagged
                }
                try ledger.record("best fit", key: bestKey)
            }
        }
        let summary = try checks.writeSummary(map: mapDistances, refinedMAP: refinedDistances, bestFit: bestDistances, to: fits + "/fit_summary.csv")

        // Genes → the fitted MAP parameters.
        let regressionKey = StageLedger.key(["regression": "map", "draws": "\(Self.regressionDraws)", "counts": try RunInputs.digest(inputs.counts),
                                             "metadata": try RunInputs.digest(inputs.metadata)], after: upstream)
        if ledger.isCurrent("regression", key: regressionKey, outputs: [folder + "/regression/cv_summary.csv", folder + "/regression/gene_stability.csv"]) {
            timings.append(("genes → parameters (sRRR)", 0))
        } else {
            try timed("genes → parameters (sRRR)") {
                // Uncertainty-aware: the final λ is cross-validated again on posterior draws, and each gene's selection
                // counted over them (regression/gene_stability.csv).
                try writePosteriorDraws(fits: fits, cells: cells, draws: Self.regressionDraws, to: fits + "/posterior_draws.csv")
                var regression = GeneRegression(counts: inputs.counts, params: fits + "/map.csv", out: folder + "/regression")
                regression.posteriorSamples = fits + "/posterior_draws.csv"
                regression.metadata = inputs.metadata
                regression.threads = threads
                regression.showProgress = showProgress
                let log = self.log
                regression.log = { log($0) }
                try regression.run()
            }
            try ledger.record("regression", key: regressionKey)
        }
        if let paper = inputs.paperCrossValidation, FileManager.default.fileExists(atPath: paper) {
            try writePaperCrossValidation(paper, to: folder + "/regression/paper_cv_summary.csv")
        }
        let result = Result(map: summary.map, refinedMAP: summary.refinedMAP, bestFit: summary.bestFit, scoredCells: scored.count, flaggedCells: flagged)
        try checks.exampleTraces(candidates, distances: bestDistances ?? refinedDistances,
                                 best: settings.candidates > 0 ? fits + "/best_fit.csv" : nil, to: fits)
        try writeReport()
        ranks.barrier()
        return try Self.broadcast(result, ranks: ranks)
    }

    /// Whether stage `name` can be reused, agreed by every rank (any rank's doubt redoes it everywhere).
    private func isCurrent(_ ledger: StageLedger, _ name: String, key: String, outputs: [String]) -> Bool {
        ranks.all(ledger.isCurrent(name, key: key, outputs: outputs))
    }

    /// Rank 0's result, handed to every rank (a single process gets its own back).
    private static func broadcast(_ result: Result?, ranks: Ranks) throws -> Result {
        if !ranks.isParallel, let result { return result }
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let sent = try result.map { try encoder.encode($0).map(Double.init) } ?? []
        return try decoder.decode(Result.self, from: Data(ranks.allGather(sent)[0].map(UInt8.init)))
    }

    static let proposalFile = "proposal_theta.npy"
    /// Validation pairs of the final round (held out of its gradient steps) that check calibration, and posterior samples per pair.
    static let calibrationCases = 200
    static let calibrationSamples = 500

    /// SBC ranks (`sbc_ranks.csv`: case + one rank per parameter, out of `calibrationSamples`), expected coverage
    /// (`coverage.csv`: level, coverage) and a summary (`calibration.csv`: per parameter the SBC p-value, and the
    /// held-out log-prob) of `posterior` on the held-out pairs in `folder`.
    private func writeCalibration(_ posterior: Posterior, to folder: String) throws {
        let thetaFile = try NPYArray.read(folder + "/heldout_theta.npy"), xFile = try NPYArray.read(folder + "/heldout_x.npy")
        let theta = Matrix(rows: thetaFile.shape[0], columns: thetaFile.shape[1], values: thetaFile.values)
        let x = Matrix(rows: xFile.shape[0], columns: xFile.shape[1], values: xFile.values)
        let progress = ProgressReporter("calibration", total: theta.rows, unit: "cases", enabled: showProgress)
        let levels = (1...19).map { Double($0) / 20 }
        let result = Diagnostics.calibrate(posterior: posterior, theta: theta, x: x, samplesPerCase: Self.calibrationSamples, levels: levels,
                                           seed: seeds.calibration, threads: threads) { progress.advance(by: 1) }
        progress.finish()
        let names = posterior.parameterNames
        try AtomicFile.write(Data(CSVTable.format(header: ["case"] + names, rows: result.ranks.enumerated().map { ["\($0.offset)"] + $0.element.map(String.init) }).utf8),
                             to: folder + "/sbc_ranks.csv")
        try AtomicFile.write(Data(CSVTable.format(header: ["level", "coverage"], rows: zip(levels, result.coverage).map {
            [CSVTable.formatNumber($0.0), CSVTable.formatNumber($0.1)]
        }).utf8), to: folder + "/coverage.csv")
        let summary = zip(names, result.pValues).map { ["sbc_p_value", $0.0, CSVTable.formatNumber($0.1)] }
            + [["heldout_log_prob", "", CSVTable.formatNumber(result.meanLogProbability)], ["cases", "", "\(result.ranks.count)"],
               ["samples_per_case", "", "\(Self.calibrationSamples)"]]
        try AtomicFile.write(Data(CSVTable.format(header: ["quantity", "parameter", "value"], rows: summary).utf8), to: folder + "/calibration.csv")
        let miscalibrated = zip(names, result.pValues).filter { $0.1 < 0.01 }.map(\.0)
        log(String(format: "calibration on %d held-out pairs: held-out log-prob %.3f; 50%%/80%%/95%% HDR coverage %.2f/%.2f/%.2f; SBC p < 0.01 for %@",
                   result.ranks.count, result.meanLogProbability, result.coverage[9], result.coverage[15], result.coverage[18],
                   miscalibrated.isEmpty ? "none" : miscalibrated.joined(separator: ", ")))
    }
    /// Posterior draws per cell on which the gene regression is repeated.
    static let regressionDraws = 10

    /// The first `draws` posterior samples of every cell with samples, as `cell_id,sample,parameters…` (the table
    /// `ionlink regress --posterior-samples` reads).
    private func writePosteriorDraws(fits: String, cells: ObservedCells, draws: Int, to path: String) throws {
        let reader = try NPYRowReader(path: fits + "/samples.npy")
        let d = model.parameterNames.count
        var rows: [[String]] = []
        for start in stride(from: 0, to: reader.rows, by: 256) {
            let block = try reader.read(start ..< min(reader.rows, start + 256))
            for r in 0..<block.rows {
                let row = block.row(r)
                for k in 0..<min(draws, row.count / d) where row[k * d].isFinite {
                    rows.append([cells.ids[start + r], "\(k)"] + row[k * d ..< (k + 1) * d].map(CSVTable.formatNumber))
                }
            }
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "sample"] + model.parameterNames, rows: rows).utf8), to: path)
    }

    func roundFolder(_ round: Int) -> String { folder + "/rounds/\(round)" }

    private func timed(_ name: String, _ body: () throws -> Void) throws {
        log("== \(name)")
        let start = Date()
        try body()
        timings.append((name, Date().timeIntervalSince(start)))
    }

    /// The observed cells (the first `settings.cells` if set).
    func observedCells() throws -> ObservedCells {
        let cells = try ObservedCells.read(inputs.observed, featureNames: PaperFeatures.names)
        guard let n = settings.cells else { return cells }
        return cells.subset(Array(0..<min(n, cells.count)))
    }

    // MARK: - Stages

    private func makeBank(_ bank: String, count: Int, seed: UInt64, proposal: String?) throws {
        let made = try SimulationBank.make(on: ranks) {
            try SimulationBank(folder: bank, configuration: inputs.configuration, count: count, seed: seed,
                               summary: PaperFeatureSummary(precision: settings.precision), proposal: proposal,
                               precision: settings.precision, threads: threads, showProgress: showProgress)
        }
        log("bank \(bank): \(made.rows) simulations, \(made.validCount ?? 0) finite")
    }

    struct TrainingKey: Codable {
        var round: Int, neighbours: Int, noise: Double, seed: UInt64, maxEpochs: Int, cells: Int?
        /// Nil (left out of the key) for the default 2.
        var gradientParts: Int?
        /// APT's loss and boundary; nil (left out of the key) for maximum likelihood with the rejection boundary.
        var loss: String?
    }

    /// Whether round `round` trains with APT's atomic loss (the later rounds of `--sequential atomic`; round 1's θ come
    /// from the prior, where the atomic loss and maximum likelihood agree).
    func usesAtomicLoss(round: Int) -> Bool { settings.sequential == .atomic && round > 1 }

    /// θ of the atomic loss's contrasting atoms: this many draws from the pool of all rounds' simulations.
    static let atomPoolSize = 100_000

    /// NPE-N on the union of the banks so far: the k nearest simulations of each observed cell, plus feature noise.
    private func train(round: Int, banks: [String], observed: ObservedCells, to path: String) throws -> Posterior {
        let pool = try BankPool(folders: banks)
        log("pool: \(pool.count) simulations with all \(pool.featureNames.count) features defined in \(banks.count) bank(s)")
        let progress = ProgressReporter("neighbours", total: pool.count, unit: "sims", enabled: showProgress)
        let chosen = try pool.nearest(to: observed.features, k: settings.neighbours, ranks: ranks) { progress.advance(by: $0) }
        progress.finish()
        let seed = settings.seed &+ UInt64(round - 1)
        var x = try pool.features(chosen)
        if settings.noise > 0 { x = NeighbourSelection.addNoise(x, eps: settings.noise, convention: .paper, seed: seed) }
        log("NPE-N: \(chosen.count) unique simulations nearest to \(observed.count) cells (k = \(settings.neighbours)), noise eps \(settings.noise)")
        // APT's atomic loss compares densities only at θ inside the box and leaves the flow's mass outside it free: with
        // the rejection boundary that flow put nearly all of it outside (in-box acceptance ≈ 0, BENCHMARKS.md), so its
        // rounds train on the logit scale, where every sample lies inside.
        let boundary: PriorBoundary = usesAtomicLoss(round: round) ? .logit : .rejection
        var npe = NPE(prior: try BoxPrior(names: model.parameterNames, low: model.lowerBounds, high: model.upperBounds), boundary: boundary,
                      featureNames: pool.featureNames)
        npe.appendSimulations(theta: try pool.theta(chosen), x: x)
        var options = TrainingOptions()
        options.seed = seed
        options.ranks = ranks
        options.gradientParts = settings.gradientParts
        if usesAtomicLoss(round: round) {
            options.loss = .apt
            npe.atomPool = try pool.proposalDraws(Self.atomPoolSize, seed: seed)
            if case .atomic(let atoms) = options.loss {
                log("APT: atomic loss, \(atoms) atoms per pair, drawn from \(Self.atomPoolSize) of all rounds' simulations")
            }
        }
        options.maxEpochs = settings.maxEpochs
        let log = self.log, verbose = showProgress
        let (posterior, history) = try npe.train(options: options) { line in if verbose { log(line) } }
        defer { ranks.barrier() }   // the other ranks go on once rank 0 has written the model
        guard ranks.isRoot else { return posterior }
        if round == settings.rounds {
            // Pairs that took no part in the gradient steps, of the training distribution itself: the calibration check's cases.
            let heldOut = Array(history.validationRows.prefix(Self.calibrationCases))
            let calibration = folder + "/diagnostics"
            try FileManager.default.createDirectory(atPath: calibration, withIntermediateDirectories: true)
            let theta = npe.theta.selectingRows(heldOut), x = npe.x.selectingRows(heldOut)
            try NPYWriter.write(theta.values, shape: [theta.rows, theta.columns], element: .float64, to: calibration + "/heldout_theta.npy")
            try NPYWriter.write(x.values, shape: [x.rows, x.columns], element: .float64, to: calibration + "/heldout_x.npy")
        }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try posterior.write(to: path)
        let rows = history.trainLogProb.indices.map { e in
            ["\(e + 1)", CSVTable.formatNumber(history.trainLogProb[e]), CSVTable.formatNumber(history.validationLogProb[e])]
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["epoch", "train_log_prob", "validation_log_prob"], rows: rows).utf8),
                             to: (path as NSString).deletingPathExtension + "_training.csv")
        log(String(format: "best validation log-prob %.4f at epoch %d of %d (%.1f s)", history.validationLogProb[history.bestEpoch],
                   history.bestEpoch + 1, history.validationLogProb.count, history.seconds))
        return posterior
    }

    /// The next round's parameters: per observed cell an equal share of draws from its truncated prior (TSNPE), or from
    /// its posterior itself (APT).
    private func writeProposal(_ posterior: Posterior, observed: ObservedCells, round: Int, to bank: String) throws {
        let total = settings.roundSimulations, n = observed.count, d = model.parameters.count
        // Cell i's share of the rows starts at firstRow(i); under MPI each rank draws for a consecutive part of the cells
        // into a file of its own, and rank 0 joins them.
        func firstRow(_ i: Int) -> Int { i * (total / n) + min(i, total % n) }
        let mine = ranks.slice(of: n)
        let parts = (0..<ranks.size).map { bank + "/.ranks/\($0).npy" }
        if ranks.isRoot { try FileManager.default.createDirectory(atPath: bank + "/.ranks", withIntermediateDirectories: true) }
        ranks.barrier()
        let writer = try NPYWriter(path: ranks.isParallel ? parts[ranks.rank] : bank + "/" + Self.proposalFile, element: .float64,
                                   shape: [firstRow(mine.upperBound) - firstRow(mine.lowerBound), d])
        let progress = ProgressReporter(ranks.isParallel ? "proposal (rank 0 of \(ranks.size))" : "proposal", total: mine.count, unit: "cells",
                                        enabled: showProgress)
        var ess: [Double] = [], written = firstRow(mine.lowerBound)
        do {
            var sampler = PosteriorSampler(posterior: posterior, samples: settings.samples, seed: seeds.bank(round: round), threads: threads)
            sampler.firstIndex = mine.lowerBound
            try sampler.run(observed.features.selectingRows(Array(mine)), progress: { progress.advance(by: $0) }) { local, cell in
                let i = mine.lowerBound + local
                let share = firstRow(i + 1) - firstRow(i)
                defer { written += share }
                guard let draws = cell?.draws, draws.samples.rows > 0 else {
                    // No posterior samples inside the box: this cell's share comes from the prior (draw = proposal row).
                    for row in written ..< written + share { try writer.append(model.priorDraw(seed: seeds.bank(round: round), index: UInt64(row))) }
                    return
                }
                if settings.sequential == .atomic {
                    try writer.append((0..<share).flatMap { draws.samples.row($0 % draws.samples.rows) })
                    return
                }
                let x = observed.features.row(i), correction = Foundation.log(draws.acceptance)
                let drawn = TruncatedProposal.draw(draws, count: share, seed: seeds.bank(round: round), index: UInt64(i)) { theta in
                    posterior.logProbability(theta, given: Matrix(repeatingRow: x, count: theta.rows)).enumerated().map { r, lp in
                        posterior.inside(theta.row(r)) ? lp - correction : -.infinity
                    }
                }
                ess.append(drawn.effectiveSampleSize)
                try writer.append(drawn.theta.values)
            }
            progress.finish()
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        ess = ranks.allGather(ess).flatMap { $0 }   // also waits for every rank's part
        if ranks.isParallel && ranks.isRoot {
            try NPYWriter.concatenate(parts, into: bank + "/" + Self.proposalFile, element: .float64, shape: [total, d])
        }
        if ranks.isRoot { try? FileManager.default.removeItem(atPath: bank + "/.ranks") }
        ranks.barrier()
        let meanESS = ess.reduce(0, +) / Double(max(1, ess.count))
        if settings.sequential == .atomic {
            log("proposal of round \(round): \(total) parameter sets drawn from the posteriors of \(n) cells (APT)")
            return
        }
        log(String(format: "proposal of round %d: %d parameter sets from the truncated posteriors of %d cells (mean effective sample size %.0f of a pool of %d)",
                   round, total, n, meanESS, 2 * settings.samples))
    }

    /// Samples every cell's posterior into `fits/`, the cells shared out over the ranks.
    private func samplePosteriors(_ posterior: Posterior, cells: ObservedCells, to fits: String) throws {
        var sampler = PosteriorSampler(posterior: posterior, samples: settings.samples, seed: settings.seed, threads: threads)
        sampler.refineMAP = true
        let log = self.log
        let outcome = try PosteriorFitsWriter.sample(sampler, cells: cells, into: fits, title: "posteriors", showProgress: showProgress, on: ranks) { log($0) }
        let missing = outcome.cellsWithoutSamples
        log("posteriors of \(cells.count - missing) of \(cells.count) cells" + (missing > 0 ? " (\(missing) without samples: NaN rows)" : ""))
        if let advice = outcome.lowAcceptanceAdvice { log(advice) }
    }

    /// The paper's cross-validation averaged over folds per rank and λ (mean genes, mean relaxed test R²), for the
    /// report to draw beside the run's.
    private func writePaperCrossValidation(_ path: String, to destination: String) throws {
        let table = try CSVTable.read(path)
        let rank = try table.column("rank"), lambda = try table.column("lambdau"), genes = try table.column("n_selected_genes")
        let r2 = try table.column("r2_test_relaxed")
        var groups: [String: (rank: String, lambda: Double, genes: [Double], r2: [Double])] = [:]
        for (r, row) in table.rows.enumerated() {
            let key = row[rank] + "|" + row[lambda]
            let value = try table.number(row: r, column: lambda)
            var group = groups[key] ?? (row[rank], value, [], [])
            // An empty gene count is a fit that selected none (the paper's file leaves it blank).
            group.genes.append(row[genes].isEmpty ? 0 : try table.number(row: r, column: genes))
            group.r2.append(try table.number(row: r, column: r2))
            groups[key] = group
        }
        let rows = groups.values.sorted { ($0.rank, $0.lambda) < ($1.rank, $1.lambda) }.map { g in
            [g.rank, CSVTable.formatNumber(g.lambda), CSVTable.formatNumber(g.genes.reduce(0, +) / Double(g.genes.count)),
             CSVTable.formatNumber(g.r2.reduce(0, +) / Double(g.r2.count))]
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["rank", "lambda", "mean_n_genes", "r2_test_relaxed_mean"], rows: rows).utf8), to: destination)
    }

    /// The observed cells as the run saw them: id, family, whether scored, and their features (`fits/cells.csv`).
    private func writeCells(_ cells: ObservedCells, families: [String], scored: [Int], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let isScored = Set(scored)
        let rows = (0..<cells.count).map { i in
            [cells.ids[i], families[i], isScored.contains(i) ? "1" : "0"] + cells.features.row(i).map(CSVTable.formatNumber)
        }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "family", "scored"] + cells.featureNames, rows: rows).utf8), to: path)
    }

    /// `run.json` (settings, stage times, the model's prior box) and `report.html`, drawn from the run's tables.
    private func writeReport() throws {
        let settingsTable: [(String, String)] = [
            ("model", inputs.configurationName), ("prior simulations (round 1)", "\(settings.simulations)"),
            ("rounds", "\(settings.rounds)" + (settings.rounds > 1 ? " (+ \(settings.roundSimulations) simulations per later round, " + (settings.sequential == .atomic ? "APT: from the posteriors, atomic loss)" : "TSNPE: from the truncated priors)") : "")),
            ("NPE-N neighbours per cell", "\(settings.neighbours)"), ("feature noise eps", "\(settings.noise) (paper convention)"),
            ("posterior samples per cell", "\(settings.samples)"), ("best-fit candidates per cell", "\(settings.candidates)"),
            ("seed", "\(settings.seed)"), ("check noise seed", "\(seeds.check)"),
            ("simulator arithmetic", settings.precision == .float64 ? "float64" : "float32 (features equal to float64's in distribution)"),
            ("observed cells", inputs.observed),
            ("cell metadata", inputs.metadata ?? "none (every cell scored, one family)"), ("family column", inputs.familyColumn),
            ("gene counts", inputs.counts), ("threads", "\(threads)" + (ranks.isParallel ? " per rank, \(ranks.size) MPI ranks" : "")),
        ] + inputs.provenance
        try RunRecord(settings: settingsTable, timings: timings, parameterNames: model.parameterNames, low: model.lowerBounds,
                      high: model.upperBounds, dtMs: inputs.configuration.protocol.dtMs).write(to: folder)
        try PipelineReport(folder: folder).write()
    }
}
