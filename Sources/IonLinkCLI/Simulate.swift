import ArgumentParser
import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate the Hodgkin–Huxley model for given parameter sets, or build a bank from the prior.",
        discussion: """
        Two modes:

        Given parameter sets (--params): simulates each row and writes the voltage traces as a float64 \
        NPY matrix [rows, samples], sample k = V(k·dt) in mV (k = 0 … 19999 for the paper protocol).
          ionlink simulate --params P.csv --noise-pa 0 --traces OUT.npy

        From the prior (--count): draws N parameter sets from the model's uniform prior box and writes a \
        simulation bank to --out (parameters, validity, spike counts; see `ionlink bank info`). Streamed in \
        chunks; rerun the same command after an interruption to resume. --shard I/N makes the I-th of N \
        disjoint parts, which `ionlink bank merge` combines into the bank an unsharded run makes (--shard auto in a \
        Slurm array). Under an MPI launcher the ranks share the chunks and rank 0 writes the bank, the same file for file:
          mpirun -n 4 ionlink simulate --count 1000000 --seed 1 --out bank/
          ionlink simulate --count 100000 --seed 1 --out bank/ --threads 2
        """
    )

    @Option(help: "Model and protocol: a JSON configuration file or a preset (m1, v1).")
    var config = "m1"

    @Option(help: ArgumentHelp("CSV of parameter sets: a header with `id` and the model's parameter names (for m1: C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS).", valueName: "P.csv"))
    var params: String?

    @Option(help: ArgumentHelp("With --params: write the traces here (float64 NPY [rows, samples], mV).", valueName: "OUT.npy"))
    var traces: String?

    @Option(help: ArgumentHelp("With --params: also write `id` + the 23 paper features of each trace here.", valueName: "OUT.csv"))
    var features: String?

    @Option(help: "Draw this many parameter sets from the prior and build a bank (needs --out).")
    var count: Int?

    @Flag(help: "With --count: do not compute the 23 features per sample (faster; the bank then cannot train a posterior).")
    var noFeatures = false

    @Option(help: ArgumentHelp("With --count: the bank folder (created, or resumed if it holds a partial bank).", valueName: "DIR"))
    var out: String?

    @Option(help: ArgumentHelp("With --count: make part I of N (0-based), e.g. 0/4; auto: from the Slurm array task (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT).", valueName: "I/N|auto"))
    var shard: String?

    @Option(help: "With --count: samples per chunk written to disk (the unit of resumption).")
    var chunkSize = 10_000

    @Option(help: "With --count: keep the voltage traces (float32) of the bank's first K samples.")
    var keepTraces = 0

    @Option(help: "Current-noise SD in pA, drawn per time step (overrides the configuration; the paper uses 10).")
    var noisePa: Double?

    @Option(help: ArgumentHelp("Kernel arithmetic: float64 (the reference: bit-identical everywhere, equal to the authors' Brian2 traces) or float32 (2–2.7 times as fast; the same noise draws to float precision; features equal in distribution, not bit for bit: `ionlink bench precision` measures it). A bank records it.", valueName: "float64|float32"))
    var precision: BatchSimulator.Precision = .float64

    @Flag(help: "Print the effective configuration (after --config and --noise-pa) as JSON and exit: a starting point for your own model or protocol file.")
    var printConfig = false

    @Flag(help: "With --count: write into an existing folder that IonLink did not make.") var force = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if printConfig { return }
        guard (params == nil) != (count == nil) else { throw ValidationError("Give exactly one of --params or --count.") }
        if params != nil && traces == nil && features == nil { throw ValidationError("--params needs --traces OUT.npy and/or --features OUT.csv.") }
        if let count {
            guard count >= 1 else { throw ValidationError("--count must be at least 1.") }
            guard out != nil else { throw ValidationError("--count needs --out DIR.") }
            _ = try parsedShard()
        }
        guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1.") }
        guard keepTraces >= 0 else { throw ValidationError("--keep-traces must be ≥ 0.") }
        if let noisePa, !(noisePa >= 0 && noisePa.isFinite) { throw ValidationError("--noise-pa must be a number ≥ 0.") }
    }

    func parsedShard() throws -> (index: Int, count: Int) {
        guard let shard else { return (0, 1) }
        if shard == "auto" { return try Self.slurmArrayShard(ProcessInfo.processInfo.environment) }
        let parts = shard.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else {
            throw ValidationError("--shard expects I/N with 0 ≤ I < N, e.g. 0/4; got '\(shard)'.")
        }
        return (i, n)
    }

    /// The shard of a Slurm array task: I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (0 when unset), N =
    /// SLURM_ARRAY_TASK_COUNT (else MAX − MIN + 1).
    static func slurmArrayShard(_ environment: [String: String]) throws -> (index: Int, count: Int) {
        func value(_ key: String) -> Int? { environment[key].flatMap { Int($0) } }
        guard let id = value("SLURM_ARRAY_TASK_ID") else {
            throw ValidationError("--shard auto reads SLURM_ARRAY_TASK_ID, which is not set: run it as a Slurm array task (sbatch --array=0-N), or give --shard I/N.")
        }
        let low = value("SLURM_ARRAY_TASK_MIN") ?? 0
        guard let count = value("SLURM_ARRAY_TASK_COUNT") ?? value("SLURM_ARRAY_TASK_MAX").map({ $0 - low + 1 }) else {
            throw ValidationError("--shard auto needs SLURM_ARRAY_TASK_COUNT (or SLURM_ARRAY_TASK_MAX) besides SLURM_ARRAY_TASK_ID.")
        }
        let index = id - low
        guard count >= 1, (0..<count).contains(index) else {
            throw ValidationError("--shard auto: SLURM_ARRAY_TASK_ID \(id) (min \(low)) is not one of \(count) array tasks.")
        }
        return (index, count)
    }

    func run() throws {
        var configuration = try SimulationConfiguration.load(config)
        if let noisePa { configuration.protocol.noisePA = noisePa }
        if printConfig {
            print(String(decoding: configuration.encoded(), as: UTF8.self))
            return
        }
        if let params {
            guard !Ranks.world.isParallel else { throw ValidationError("--params runs as one process; under MPI only --count spreads over ranks.") }
            let table = try ParameterTable.read(params, model: configuration.model)
            if !table.ignoredColumns.isEmpty {
                FileHandle.standardError.write(Data("note: \(params): column(s) not among the model's parameters, ignored: \(table.ignoredColumns.joined(separator: ", "))\n".utf8))
            }
            if traces == nil, let features {
                // Features only: streamed in chunks on every thread, no trace kept.
                let theta = Matrix(rows: table.ids.count, columns: configuration.model.parameters.count, values: table.values)
                let progress = ProgressReporter("simulate", total: theta.rows, unit: "sims", enabled: !compute.quiet)
                let values = ParameterSimulation(configuration: configuration, precision: precision, threads: compute.threads)
                    .features(of: theta, seed: compute.seed) { progress.advance(by: $0) }
                progress.finish()
                try FeatureTable(ids: table.ids, values: values.values).write(to: features)
                if !compute.quiet { print("wrote the 23 features of \(table.ids.count) simulations to \(features)") }
                return
            }
            // Traces (and features): streamed in chunks to the NPY file, so memory holds one chunk whatever the rows.
            let simulator = BatchSimulator(configuration: configuration, precision: precision, threads: compute.threads)
            let window = configuration.protocol.stimulusWindowMs
            let extractor = FeatureExtractor(dtMs: configuration.protocol.dtMs, startMs: window.start, endMs: window.end,
                                             derivatives: .init(for: precision))
            let rows = table.ids.count, d = configuration.model.parameters.count, chunk = 1024
            let writer = try traces.map { try NPYWriter(path: $0, element: .float64, shape: [rows, simulator.sampleCount]) }
            var featureValues: [Double] = [], invalid: [String] = []
            let progress = ProgressReporter("simulate", total: rows, unit: "sims", enabled: !compute.quiet)
            do {
                for start in stride(from: 0, to: rows, by: chunk) {
                    let part = start ..< min(rows, start + chunk)
                    let result = simulator.traces(parameters: Array(table.values[part.lowerBound * d ..< part.upperBound * d]), rowCount: part.count,
                                                  seed: compute.seed, firstIndex: UInt64(start))
                    invalid += zip(table.ids[part], result.valid).filter { !$0.1 }.map(\.0)
                    try writer?.append(result.traces)
                    if features != nil { featureValues += extractor.features(ofRows: result.traces, rows: part.count, threads: compute.threads) }
                    progress.advance(by: part.count)
                }
                progress.finish()
                try writer?.finish()
            } catch {
                writer?.cancel()
                throw error
            }
            if !invalid.isEmpty {
                FileHandle.standardError.write(Data("warning: \(invalid.count) simulation(s) became non-finite (NaN rows): \(invalid.prefix(10).joined(separator: ", "))\n".utf8))
            }
            if let traces, !compute.quiet { print("wrote \(rows) traces × \(simulator.sampleCount) samples to \(traces)") }
            if let features {
                try FeatureTable(ids: table.ids, values: featureValues).write(to: features)
                if !compute.quiet { print("wrote the 23 features of \(rows) traces to \(features)") }
            }
        } else if let count, let out {
            let ranks = Ranks.world
            if ranks.isParallel && shard != nil {
                throw ValidationError("--shard and an MPI launch do not mix: the \(ranks.size) ranks split the bank among themselves.")
            }
            let shard = try parsedShard()
            if self.shard == "auto" && !compute.quiet {
                FileHandle.standardError.write(Data("shard \(shard.index)/\(shard.count) from the Slurm array (SLURM_ARRAY_TASK_ID)\n".utf8))
            }
            if ranks.isRoot { try OutputFolder.prepare(out, for: "simulate", ownFiles: ["manifest.json"], force: force) }
            let manifest = try SimulationBank.make(on: ranks) {
                try SimulationBank(folder: out, configuration: configuration, count: count, seed: compute.seed,
                                   shard: shard.index, of: shard.count, chunkSize: chunkSize, keptTraces: keepTraces,
                                   summary: noFeatures ? nil : PaperFeatureSummary(precision: precision), precision: precision,
                                   threads: compute.threads, showProgress: !compute.quiet)
            }
            if ranks.isRoot && !compute.quiet {
                print("bank \(out): \(manifest.rows) samples (global \(manifest.firstIndex)…\(manifest.firstIndex + manifest.rows - 1) of \(manifest.count)), \(manifest.validCount ?? 0) valid")
            }
        }
    }
}
