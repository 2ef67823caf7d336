import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference

struct Infer: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample the posterior of each observed cell with a trained estimator; write MAPs, means and samples.",
        discussion: """
          ionlink infer --model model.json --observed cells.csv --out fits/ [--samples 10000] [--refine-map]

        cells.csv: a header, an id in the first column, then the features (matched by name to the training \
        features, else taken in order). Samples outside the prior box are rejected; log-probs are corrected \
        for the flow's mass outside it. Writes DIR/map.csv (the best of the samples, the paper's MAP; with \
        --refine-map then improved by gradient ascent inside the box), DIR/posterior_mean.csv, \
        DIR/samples.npy (float32 [cells, samples, parameters]), DIR/log_probs.npy ([cells, samples]) and \
        DIR/acceptance.csv. Cells whose features are undefined, or whose samples all fall outside the box, get NaN rows.
        """
    )

    @Option(help: ArgumentHelp("A trained estimator (ionlink train).", valueName: "MODEL")) var model: String
    @Option(help: ArgumentHelp("Observed features: id + features.", valueName: "X.csv")) var observed: String
    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out: String
    @Option(help: "Posterior samples per cell.") var samples = 10_000
    @Flag(help: "Refine the best sample by gradient ascent on log q(θ|x) inside the prior box.") var refineMap = false
    @Option(help: "Seed for sampling.") var seed: UInt64 = 1
    @Option(help: "Worker threads (cells in parallel).") var threads: Int = availableCores
    @Flag(help: "No progress output.") var quiet = false

    func run() throws {
        let posterior = try Posterior.read(model)
        let table = try CSVTable.read(observed)
        let byName = posterior.featureNames.compactMap { table.header.firstIndex(of: $0) }
        let columns = byName.count == posterior.featureNames.count ? byName : Array(1..<table.header.count)
        guard columns.count == posterior.density.contextDimension else {
            throw InputError(file: observed, location: "header", "expected \(posterior.density.contextDimension) feature columns (\(posterior.featureNames.prefix(3).joined(separator: ", "))…), found \(columns.count)")
        }
        let ids = table.rows.map { $0[0] }
        let x = try (0..<table.rows.count).map { r in try columns.map { c -> Double in
            let text = table.rows[r][c].trimmingCharacters(in: .whitespaces)
            return text.isEmpty ? .nan : try table.number(row: r, column: c)
        } }
        let d = posterior.density.dimension
        let results = ResultSlots(cells: ids.count, samples: samples, dimension: d)
        let progress = ProgressReporter("infer", total: ids.count, unit: "cells", enabled: !quiet)
        let samplesPerCell = samples, refine = refineMap, seed = self.seed
        parallelFor(ids.count, threads: threads) { i in
            defer { progress.advance(by: 1) }
            guard x[i].allSatisfy(\.isFinite) else { return }
            let draws = posterior.sample(samplesPerCell, given: x[i], seed: seed, index: UInt64(i))
            guard draws.samples.rows == samplesPerCell else { results.setAcceptance(i, draws.acceptance); return }
            let map = posterior.map(from: draws, given: x[i], refine: refine)
            results.set(i, draws: draws, map: map)
        }
        progress.finish()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let header = ["id"] + posterior.parameterNames
        try AtomicFile.write(Data(CSVTable.format(header: header, rows: ids.indices.map { [ids[$0]] + results.map[$0].map(CSVTable.formatNumber) }).utf8), to: out + "/map.csv")
        try AtomicFile.write(Data(CSVTable.format(header: header, rows: ids.indices.map { [ids[$0]] + results.mean[$0].map(CSVTable.formatNumber) }).utf8), to: out + "/posterior_mean.csv")
        try AtomicFile.write(Data(CSVTable.format(header: ["id", "acceptance"], rows: ids.indices.map { [ids[$0], CSVTable.formatNumber(results.acceptance[$0])] }).utf8), to: out + "/acceptance.csv")
        try NPYWriter.write(results.samples, shape: [ids.count, samples, d], element: .float32, to: out + "/samples.npy")
        try NPYWriter.write(results.logProbs, shape: [ids.count, samples], element: .float32, to: out + "/log_probs.npy")
        let failed = ids.indices.filter { results.map[$0].contains { $0.isNaN } }.count
        if !quiet { print("posteriors of \(ids.count - failed) of \(ids.count) cells written to \(out)" + (failed > 0 ? " (\(failed) without samples: NaN rows)" : "")) }
    }
}

/// Per-cell results written by worker threads.
final class ResultSlots: @unchecked Sendable {
    var map: [[Double]], mean: [[Double]], acceptance: [Double], samples: [Double], logProbs: [Double]
    let count: Int, dimension: Int
    private let lock = NSLock()
    init(cells: Int, samples: Int, dimension: Int) {
        count = samples; self.dimension = dimension
        map = Array(repeating: Array(repeating: .nan, count: dimension), count: cells)
        mean = map
        acceptance = Array(repeating: 0, count: cells)
        self.samples = Array(repeating: .nan, count: cells * samples * dimension)
        logProbs = Array(repeating: .nan, count: cells * samples)
    }
    func setAcceptance(_ i: Int, _ a: Double) { lock.lock(); acceptance[i] = a; lock.unlock() }
    func set(_ i: Int, draws: Posterior.Draws, map m: [Double]) {
        lock.lock(); defer { lock.unlock() }
        map[i] = m
        mean[i] = draws.samples.columnMeans
        acceptance[i] = draws.acceptance
        for k in 0..<(count * dimension) { samples[i * count * dimension + k] = draws.samples.values[k] }
        for k in 0..<count { logProbs[i * count + k] = draws.logProbs[k] }
    }
}
