import Foundation
import IonLinkCore
import IonLinkInference

/// The per-cell outputs of posterior sampling, as `ionlink infer` writes them: `map.csv` (the best sample by
/// log-probability, the paper's MAP), with refinement `map_refined.csv` (that MAP improved by gradient ascent),
/// `posterior_mean.csv`, `acceptance.csv`, `samples.npy` (float32
/// [cells, samples, parameters]) and `log_probs.npy` (float32 [cells, samples]). Samples are streamed to disk cell by
/// cell; files appear only when complete.
public final class PosteriorFitsWriter {
    public let folder: String
    public let ids: [String]
    public let parameterNames: [String]
    public let samples: Int
    public private(set) var map: Matrix
    /// The MAPs refined by gradient ascent (nil unless asked for).
    public private(set) var refinedMAP: Matrix?
    public private(set) var mean: Matrix
    public private(set) var acceptance: [Double]
    private let sampleWriter: NPYWriter
    private let logProbWriter: NPYWriter
    private var next = 0
    /// Whether each cell was sampled (its features were all defined).
    private var sampled: [Bool]

    public init(folder: String, ids: [String], parameterNames: [String], samples: Int, refinedMAP: Bool = false) throws {
        self.folder = folder; self.ids = ids; self.parameterNames = parameterNames; self.samples = samples
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let d = parameterNames.count
        map = Matrix(rows: ids.count, columns: d, repeating: .nan)
        mean = map
        self.refinedMAP = refinedMAP ? map : nil
        acceptance = [Double](repeating: 0, count: ids.count)
        sampled = [Bool](repeating: false, count: ids.count)
        sampleWriter = try NPYWriter(path: folder + "/samples.npy", element: .float32, shape: [ids.count, samples, d])
        logProbWriter = try NPYWriter(path: folder + "/log_probs.npy", element: .float32, shape: [ids.count, samples])
    }

    /// Adds cell `i` (cells must come in order); nil or incomplete cells get NaN rows.
    public func add(_ i: Int, _ cell: PosteriorSampler.Cell?) throws {
        precondition(i == next, "cells must be added in order")
        next += 1
        sampled[i] = cell != nil
        let d = parameterNames.count
        guard let cell, cell.complete else {
            acceptance[i] = cell?.draws.acceptance ?? 0
            try sampleWriter.append(repeatElement(Double.nan, count: samples * d))
            try logProbWriter.append(repeatElement(Double.nan, count: samples))
            return
        }
        acceptance[i] = cell.draws.acceptance
        let m = cell.draws.samples.columnMeans
        for j in 0..<d { map[i, j] = cell.map[j]; mean[i, j] = m[j] }
        if let refined = cell.refinedMAP { for j in 0..<d { refinedMAP?[i, j] = refined[j] } }
        try sampleWriter.append(cell.draws.samples.values)
        try logProbWriter.append(cell.draws.logProbs)
    }

    /// Writes the tables and moves the sample files into place.
    public func finish() throws {
        precondition(next == ids.count, "not every cell was added")
        try sampleWriter.finish()
        try logProbWriter.finish()
        try Self.writeParameters(map, ids: ids, names: parameterNames, to: folder + "/map.csv")
        if let refinedMAP { try Self.writeParameters(refinedMAP, ids: ids, names: parameterNames, to: folder + "/map_refined.csv") }
        try Self.writeParameters(mean, ids: ids, names: parameterNames, to: folder + "/posterior_mean.csv")
        try AtomicFile.write(Data(CSVTable.format(header: ["id", "acceptance"],
                                                  rows: ids.indices.map { [ids[$0], CSVTable.formatNumber(acceptance[$0])] }).utf8),
                             to: folder + "/acceptance.csv")
    }

    /// In-box acceptance below which a cell's sampling is slow and its leakage correction large.
    static let lowAcceptance = 0.01

    /// Advice when some cells' flow samples mostly fell outside the prior box (below 1% inside, or none): their sampling
    /// took up to 100× longer and their log-probs carry a large leakage correction. Nil when every cell was fine.
    public var lowAcceptanceAdvice: String? {
        let low = ids.indices.filter { sampled[$0] && acceptance[$0] < Self.lowAcceptance }
        guard let worst = low.min(by: { acceptance[$0] < acceptance[$1] }) else { return nil }
        return String(format: "note: %d of %d cells had under 1%% of their flow samples inside the prior box (lowest: %@, %.3g%%); "
                      + "their sampling is slow and their log-probs carry a large leakage correction. An estimator whose prior "
                      + "boundary is logit (`ionlink train --prior-boundary logit`) samples inside the box by construction.",
                      low.count, ids.count, ids[worst], 100 * acceptance[worst])
    }

    /// Abandons the sample files.
    public func cancel() { sampleWriter.cancel(); logProbWriter.cancel() }

    /// Writes a parameter table: `id` + one column per parameter, one row per cell.
    public static func writeParameters(_ values: Matrix, ids: [String], names: [String], to path: String) throws {
        let rows = ids.indices.map { [ids[$0]] + values.row($0).map(CSVTable.formatNumber) }
        try AtomicFile.write(Data(CSVTable.format(header: ["id"] + names, rows: rows).utf8), to: path)
    }

    /// Reads a parameter table written by `writeParameters` (columns by name).
    public static func readParameters(_ path: String, names: [String]) throws -> (ids: [String], values: Matrix) {
        let table = try CSVTable.read(path)
        let columns = try names.map { try table.column($0) }
        var values: [Double] = []
        for r in table.rows.indices { for c in columns { values.append(try table.number(row: r, column: c)) } }
        return (table.rows.map { $0[0] }, Matrix(rows: table.rows.count, columns: names.count, values: values))
    }
}

extension PosteriorFitsWriter {
    /// Samples every cell's posterior with `sampler` into `folder` (as the type describes), with a progress bar. The
    /// first cell whose flow samples mostly miss the prior box is reported to `warn` at once, with the remedy. On an
    /// error nothing is left half-written.
    private static func sample(_ sampler: PosteriorSampler, cells: ObservedCells, into folder: String, title: String, showProgress: Bool,
                               warn: ((String) -> Void)?) throws -> PosteriorFitsWriter {
        let writer = try PosteriorFitsWriter(folder: folder, ids: cells.ids, parameterNames: sampler.posterior.parameterNames,
                                             samples: sampler.samples, refinedMAP: sampler.refineMAP)
        let progress = ProgressReporter(title, total: cells.count, unit: "cells", enabled: showProgress)
        do {
            var warned = false
            try sampler.run(cells.features, progress: { progress.advance(by: $0) }) { i, cell in
                try writer.add(i, cell)
                if !warned, let cell, cell.draws.acceptance < lowAcceptance, let warn {
                    warned = true
                    warn(String(format: "warning: cell %@: %.3g%% of its flow samples fall inside the prior box, so its sampling is slow (up to "
                                + "%d flow samples before it gives up) and its log-probs carry a large leakage correction; other cells may follow "
                                + "(a summary comes at the end). Remedy: an estimator with the logit prior boundary (`ionlink train "
                                + "--prior-boundary logit`) samples inside the box by construction; more simulations or epochs help too.",
                                cells.ids[i], 100 * cell.draws.acceptance, Posterior.defaultMaxTries))
                }
            }
            progress.finish()
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        return writer
    }

    /// What sampling on every rank found.
    public struct Outcome: Sendable {
        /// Cells without a posterior, on all ranks together.
        public var cellsWithoutSamples: Int
        /// `lowAcceptanceAdvice` for this rank's cells (rank 0's under MPI, where only rank 0 speaks).
        public var lowAcceptanceAdvice: String?
    }

    /// `sample`, with the cells shared out over the MPI `ranks`: each rank samples a consecutive part of them (seeded by
    /// their global indexes) into a folder of its own, and rank 0 joins the parts into `folder` — the files one process
    /// writes, byte for byte. A single process samples straight into `folder`.
    public static func sample(_ sampler: PosteriorSampler, cells: ObservedCells, into folder: String, title: String, showProgress: Bool,
                              on ranks: Ranks, warn: ((String) -> Void)? = nil) throws -> Outcome {
        guard ranks.isParallel else {
            let writer = try sample(sampler, cells: cells, into: folder, title: title, showProgress: showProgress, warn: warn)
            return Outcome(cellsWithoutSamples: writer.cellsWithoutSamples, lowAcceptanceAdvice: writer.lowAcceptanceAdvice)
        }
        let parts = (0..<ranks.size).map { folder + "/.ranks/\($0)" }
        let mine = ranks.slice(of: cells.count)
        var share = sampler
        share.firstIndex = sampler.firstIndex + mine.lowerBound
        let writer = try sample(share, cells: cells.subset(Array(mine)), into: parts[ranks.rank], title: "\(title) (rank 0 of \(ranks.size))",
                                showProgress: showProgress && ranks.isRoot, warn: ranks.isRoot ? warn : nil)
        // Gathering the counts also waits for every rank's part.
        let without = ranks.allGather([Double(writer.cellsWithoutSamples)]).reduce(0) { $0 + Int($1[0]) }
        if ranks.isRoot {
            try merge(parts: parts, into: folder)
            try? FileManager.default.removeItem(atPath: folder + "/.ranks")
        }
        ranks.barrier()
        return Outcome(cellsWithoutSamples: without, lowAcceptanceAdvice: writer.lowAcceptanceAdvice)
    }

    /// Cells without a posterior (NaN MAP rows): undefined features, or too few samples inside the prior box.
    public var cellsWithoutSamples: Int { (0..<ids.count).filter { map.row($0).contains { $0.isNaN } }.count }

    /// Joins the folders that `sample` wrote for consecutive parts of the cells (in order) into `folder`: the same
    /// files, byte for byte, as sampling every cell at once with the same seed.
    public static func merge(parts: [String], into folder: String) throws {
        guard let first = parts.first else { throw InputError(file: folder, "no parts to merge") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["map.csv", "map_refined.csv", "posterior_mean.csv", "acceptance.csv"]
        where FileManager.default.fileExists(atPath: first + "/" + name) {
            let tables = try parts.map { try CSVTable.read($0 + "/" + name) }
            guard tables.allSatisfy({ $0.header == tables[0].header }) else { throw InputError(file: first + "/" + name, "the parts' headers differ") }
            try AtomicFile.write(Data(CSVTable.format(header: tables[0].header, rows: tables.flatMap(\.rows)).utf8), to: folder + "/" + name)
        }
        for name in ["samples.npy", "log_probs.npy"] {
            let shapes = try parts.map { try NPYRowReader(path: $0 + "/" + name).header.shape }
            let shape = [shapes.reduce(0) { $0 + $1[0] }] + shapes[0].dropFirst()
            try NPYWriter.concatenate(parts.map { $0 + "/" + name }, into: folder + "/" + name, element: .float32, shape: shape)
        }
    }
}
