import Foundation
import IonLinkCore

/// Makes a simulation bank: prior draws, simulated under a configuration, summarised per sample and
/// streamed to disk in chunks. Killed at any moment and rerun with the same arguments, it continues from
/// the last complete chunk; the finished bank equals that of an uninterrupted run.
///
/// Layout of a folder: `manifest.json`; while running `chunks/NNNNNN/` (each renamed into place only
/// when all its files are written); when complete `theta.npy`, `valid.npy`, `spike_count.npy`, with a
/// summary `features.npy`, and if traces are kept `traces.npy` (see `BankManifest.fileDescriptions`).
public struct SimulationBank {
    public let folder: String
    public let manifest: BankManifest
    public var threads: Int
    public var showProgress: Bool
    /// Computes the per-sample features (must match the manifest's `summary`).
    public let summary: (any TraceSummary)?

    /// Prepares (or reopens, to resume) the bank in `folder` for shard `shard` of `shardCount`.
    /// Throws if the folder holds a bank made with other settings.
    public init(folder: String, configuration: SimulationConfiguration, count: Int, seed: UInt64,
                shard: Int = 0, of shardCount: Int = 1, chunkSize: Int = 10_000, keptTraces: Int = 0,
                summary: (any TraceSummary)? = nil, proposal: String? = nil, precision: BatchSimulator.Precision = .float64,
                threads: Int = availableCores, showProgress: Bool = true) throws {
        precondition(count >= 1 && shardCount >= 1 && (0..<shardCount).contains(shard) && chunkSize >= 1)
        let range = BankManifest.shardRange(count: count, index: shard, of: shardCount)
        let wanted = BankManifest(
            configuration: configuration, seed: seed, precision: precision == .float64 ? nil : precision, count: count, shardIndex: shard, shardCount: shardCount,
            firstIndex: range.lowerBound, rows: range.count, chunkSize: chunkSize, keptTraces: keptTraces,
            parameterNames: configuration.model.parameterNames, summary: summary?.name, featureNames: summary?.columns,
            proposal: proposal, complete: false)
        if let proposal {
            let path = folder + "/" + proposal
            let reader = try NPYRowReader(path: path)
            guard reader.rows == count, reader.columns == configuration.model.parameters.count else {
                throw InputError(file: path, "expected the proposal's parameters as [\(count), \(configuration.model.parameters.count)], found [\(reader.rows), \(reader.columns)]")
            }
        }
        let fm = FileManager.default
        if fm.fileExists(atPath: folder + "/manifest.json") {
            let existing = try BankManifest.read(folder: folder)
            guard existing.describesSameBank(as: wanted) else {
                throw InputError(file: folder + "/manifest.json",
                                 "this folder holds a bank made with other settings (seed \(existing.seed), count \(existing.count), shard \(existing.shardIndex)/\(existing.shardCount), chunk size \(existing.chunkSize), kept traces \(existing.keptTraces), features \(existing.summary ?? "none"), \(existing.simulationPrecision.rawValue), model '\(existing.configuration.model.name)'); rerun with the same arguments to resume it, or choose another --out")
            }
            manifest = existing
        } else {
            do { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw InputError(file: folder, "cannot create the bank folder: \(error.localizedDescription)")
            }
            try wanted.write(folder: folder)
            manifest = wanted
        }
        self.folder = folder
        self.threads = threads
        self.showProgress = showProgress
        self.summary = summary
    }

    var chunkFolder: String { folder + "/chunks" }
    var chunkCount: Int { (manifest.rows + manifest.chunkSize - 1) / manifest.chunkSize }
    func chunkPath(_ c: Int) -> String { chunkFolder + "/" + String(format: "%06d", c) }

    /// Indices of chunks already complete on disk; removes leftovers of interrupted chunk writes unless told not to
    /// (while other ranks may be writing theirs).
    func completeChunks(removingLeftovers: Bool = true) throws -> Set<Int> {
        let fm = FileManager.default
        guard fm.fileExists(atPath: chunkFolder) else { return [] }
        var done = Set<Int>()
        for name in try fm.contentsOfDirectory(atPath: chunkFolder) {
            if name.count == 6, let c = Int(name), c < chunkCount, !removingLeftovers || chunkIsWhole(c) { done.insert(c) } else if removingLeftovers {
                try? fm.removeItem(atPath: chunkFolder + "/" + name)
            }
        }
        return done
    }

    /// Whether chunk `c`'s files are all there with the rows they should hold (a chunk damaged or truncated after it
    /// was written is made again rather than blocking every rerun).
    func chunkIsWhole(_ c: Int) -> Bool {
        let rows = chunkRows(c).count, path = chunkPath(c)
        var names = ["theta.npy", "valid.npy", "spike_count.npy"]
        if manifest.featureNames != nil { names.append("features.npy") }
        let shapesRight = names.allSatisfy { name in
            guard let reader = try? NPYRowReader(path: path + "/" + name) else { return false }
            return reader.header.shape.first == rows
        }
        // Every file's bytes as written: a flipped byte makes the chunk be simulated again.
        guard shapesRight, let data = FileManager.default.contents(atPath: path + "/" + Self.chunkChecksums),
              let recorded = try? JSONDecoder().decode([String: String].self, from: data) else { return false }
        return recorded.allSatisfy { name, digest in (try? FNV1a.digest(ofFile: path + "/" + name)) == digest }
    }

    /// The file in each chunk folder that holds its files' FNV-1a digests.
    static let chunkChecksums = "checksums.json"

    /// Simulates what is missing and consolidates; returns the manifest (complete unless `maxChunks`
    /// stopped the call early: a later call continues, e.g. across a job scheduler's time limits).
    @discardableResult
    public func make(maxChunks: Int = .max) throws -> BankManifest {
        if manifest.complete {
            try? FileManager.default.removeItem(atPath: chunkFolder)
            return manifest
        }
        let lock = try WriterLock(folder: folder)
        defer { lock.release() }
        try FileManager.default.createDirectory(atPath: chunkFolder, withIntermediateDirectories: true)
        let done = try completeChunks()
        let alreadyDone = done.reduce(0) { $0 + chunkRows($1).count }
        let progress = ProgressReporter("simulate", total: manifest.rows, unit: "sims", alreadyDone: alreadyDone, enabled: showProgress)
        let missing = (0..<chunkCount).filter { !done.contains($0) }
        for c in missing.prefix(maxChunks) {
            try makeChunk(c, progress: progress)
        }
        progress.finish()
        if missing.count > maxChunks { return manifest }
        return try consolidate()
    }

    /// Makes the bank with every rank of an MPI launch: rank r simulates the missing chunks c ≡ r (mod ranks), then rank
    /// 0 consolidates. Chunks are the unit of work and of resumption, so the bank is the one a single process makes,
    /// file for file, and a launch killed at any moment resumes where its ranks stopped. Every rank must open the
    /// bank (after rank 0 created it) and call this.
    @discardableResult
    public func make(on ranks: Ranks) throws -> BankManifest {
        guard ranks.isParallel else { return try make() }
        if manifest.complete { return manifest }
        let lock = ranks.isRoot ? try WriterLock(folder: folder) : nil
        defer { lock?.release() }
        if ranks.isRoot {
            try FileManager.default.createDirectory(atPath: chunkFolder, withIntermediateDirectories: true)
            _ = try completeChunks()   // leftovers of interrupted writes go before any rank writes
        }
        ranks.barrier()
        let done = try completeChunks(removingLeftovers: false)
        let mine = (0..<chunkCount).filter { !done.contains($0) && $0 % ranks.size == ranks.rank }
        let progress = ProgressReporter("simulate (rank 0 of \(ranks.size))", total: mine.reduce(0) { $0 + chunkRows($1).count }, unit: "sims",
                                        enabled: showProgress && ranks.isRoot)
        for c in mine { try makeChunk(c, progress: progress) }
        progress.finish()
        ranks.barrier()
        var result = manifest
        if ranks.isRoot { result = try consolidate() }
        ranks.barrier()
        return ranks.isRoot ? result : try BankManifest.read(folder: folder)
    }

    /// Opens the bank on every rank of an MPI launch (rank 0 first, which creates or checks the folder; then the
    /// others) and makes it with all of them (`make(on:)`); a single process just opens and makes it.
    @discardableResult
    public static func make(on ranks: Ranks, opening open: () throws -> SimulationBank) throws -> BankManifest {
        if !ranks.isRoot { ranks.barrier() }
        let bank = try open()
        if ranks.isRoot { ranks.barrier() }
        return try bank.make(on: ranks)
    }

    /// Rows of this folder (local indices) in chunk `c`.
    func chunkRows(_ c: Int) -> Range<Int> {
        (c * manifest.chunkSize) ..< min(manifest.rows, (c + 1) * manifest.chunkSize)
    }

    private func makeChunk(_ c: Int, progress: ProgressReporter) throws {
        let local = chunkRows(c)
        let model = manifest.configuration.model
        let first = manifest.firstIndex + local.lowerBound
        var theta = [Double]()
        theta.reserveCapacity(local.count * model.parameters.count)
        if let proposal = manifest.proposal {
            let block = try NPYRowReader(path: folder + "/" + proposal).read(first ..< first + local.count)
            for i in 0..<local.count {
                let row = block.row(i)
                try model.checkInsidePrior(row, rowNumber: first + i, file: folder + "/" + proposal)
                theta += row
            }
        } else {
            for i in 0..<local.count { theta += model.priorDraw(seed: manifest.seed, index: UInt64(first + i)) }
        }
        let simulator = BatchSimulator(configuration: manifest.configuration, precision: manifest.simulationPrecision, threads: threads)
        let samples = simulator.sampleCount
        let keep = max(0, min(local.count, manifest.keptTraces - first))
        let window = manifest.configuration.protocol.stimulusWindow
        let featureCount = summary?.columns.count ?? 0
        let valid = SlotBuffer<UInt8>(count: local.count, repeating: 0), spikes = SlotBuffer<Int32>(count: local.count, repeating: 0)
        let traces = SlotBuffer<Float>(count: keep * samples, repeating: 0)
        let features = SlotBuffer<Double>(count: local.count * featureCount, repeating: .nan)
        let summary = self.summary
        let stimulus = manifest.configuration.protocol
        simulator.simulate(parameters: theta, rowCount: local.count, seed: manifest.seed, firstIndex: UInt64(first)) { block in
            for (j, row) in block.rows.enumerated() {
                let trace = UnsafeBufferPointer(rebasing: block.traces[j * samples ..< (j + 1) * samples])
                valid[row] = block.valid[j] ? 1 : 0
                spikes[row] = Int32(SpikeCount.upwardCrossings(trace, window: window))
                if row < keep {
                    for k in 0..<samples { traces[row * samples + k] = Float(trace[k]) }
                }

            }
            if let summary {
                let values = summary.values(ofBlock: block.traces, count: block.rows.count, protocol: stimulus)
                features.write(values, at: block.rows.lowerBound * featureCount)
            }
            progress.advance(by: block.rows.count)
        }
        let final = chunkPath(c)
        let temporary = final + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        let fm = FileManager.default
        try? fm.removeItem(atPath: temporary)
        try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        try NPYWriter.write(theta, shape: [local.count, model.parameters.count], element: .float64, to: temporary + "/theta.npy")
        FailPoint.visit("bank-chunk-half-written")
        try NPYWriter.write(valid.array.map(Double.init), shape: [local.count], element: .uint8, to: temporary + "/valid.npy")
        try NPYWriter.write(spikes.array.map(Double.init), shape: [local.count], element: .int32, to: temporary + "/spike_count.npy")
        if keep > 0 {
            try NPYWriter.write(traces.array.map(Double.init), shape: [keep, samples], element: .float32, to: temporary + "/traces.npy")
        }
        if featureCount > 0 {
            try NPYWriter.write(features.array, shape: [local.count, featureCount], element: .float64, to: temporary + "/features.npy")
        }
        let written = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasSuffix(".npy") }
        try AtomicFile.write(try JSONEncoder().encode(try BankManifest.digests(of: written, in: temporary)), to: temporary + "/" + Self.chunkChecksums)
        guard rename(temporary, final) == 0 else {
            throw InputError(file: final, "cannot move the finished chunk into place (\(String(cString: strerror(errno))))")
        }
    }

    /// Concatenates the chunks into the bank's files, marks the manifest complete, removes the chunks.
    private func consolidate() throws -> BankManifest {
        let chunks = (0..<chunkCount).map(chunkPath)
        try Self.concatenateFiles(of: chunks, withTraces: chunks.filter { FileManager.default.fileExists(atPath: $0 + "/traces.npy") },
                                  as: manifest, into: folder)
        var finished = manifest
        finished.complete = true
        finished.validCount = try BankFiles.countNonZero(folder + "/valid.npy")
        finished.checksums = try BankManifest.digests(of: finished.fileNames, in: folder)
        try finished.write(folder: folder)
        try? FileManager.default.removeItem(atPath: chunkFolder)
        return finished
    }

    /// Concatenates the bank files of `parts` (chunks or shards, in order; `withTraces` those that kept traces) into
    /// the files of the bank `manifest` describes, in `folder`.
    private static func concatenateFiles(of parts: [String], withTraces: [String], as manifest: BankManifest, into folder: String) throws {
        func concatenate(_ name: String, _ from: [String], _ element: NPYElement, _ shape: [Int]) throws {
            try NPYWriter.concatenate(from.map { $0 + "/" + name }, into: folder + "/" + name, element: element, shape: shape)
        }
        try concatenate("theta.npy", parts, .float64, [manifest.rows, manifest.parameterNames.count])
        try concatenate("valid.npy", parts, .uint8, [manifest.rows])
        try concatenate("spike_count.npy", parts, .int32, [manifest.rows])
        if let names = manifest.featureNames { try concatenate("features.npy", parts, .float64, [manifest.rows, names.count]) }
        if manifest.keptRows > 0 {
            try concatenate("traces.npy", withTraces, .float32, [manifest.keptRows, manifest.configuration.protocol.sampleCount])
        }
    }

    /// Combines the complete shards of one bank into `folder`: the result is identical to the bank made
    /// without shards. Every shard of the same run must be given exactly once.
    @discardableResult
    public static func merge(shards: [String], into folder: String) throws -> BankManifest {
        let target = URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
        if let clash = shards.first(where: { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path == target }) {
            throw InputError(file: clash, "the merged bank cannot be written into one of its shards; choose another --out")
        }
        let manifests = try shards.map { try BankManifest.read(folder: $0) }
        guard let reference = manifests.first else { throw InputError(file: "bank merge", "no shard folders given") }
        for (path, m) in zip(shards, manifests) {
            guard m.complete else { throw InputError(file: path + "/manifest.json", "shard is not complete; rerun its `ionlink simulate` command to finish it") }
            try m.verifyChecksums(folder: path)
            guard m.configuration == reference.configuration, m.seed == reference.seed, m.count == reference.count,
                  m.summary == reference.summary, m.featureNames == reference.featureNames,
                  m.shardCount == reference.shardCount, m.chunkSize == reference.chunkSize, m.keptTraces == reference.keptTraces else {
                throw InputError(file: path + "/manifest.json", "shard belongs to another bank than \(shards[0]) (configuration, seed, count, shard count, chunk size or kept traces differ)")
            }
        }
        let order = zip(shards, manifests).sorted { $0.1.shardIndex < $1.1.shardIndex }
        let indices = order.map(\.1.shardIndex)
        guard indices == Array(0..<reference.shardCount) else {
            throw InputError(file: "bank merge", "expected shards 0…\(reference.shardCount - 1) of \(reference.shardCount) exactly once each, got \(indices.map(String.init).joined(separator: ", "))")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var merged = reference
        merged.shardIndex = 0
        merged.shardCount = 1
        merged.firstIndex = 0
        merged.rows = reference.count
        merged.validCount = manifests.reduce(0) { $0 + ($1.validCount ?? 0) }
        try concatenateFiles(of: order.map(\.0), withTraces: order.filter { $0.1.keptRows > 0 }.map(\.0), as: merged, into: folder)
        merged.checksums = try BankManifest.digests(of: merged.fileNames, in: folder)
        try merged.write(folder: folder)
        return merged
    }
}

/// An exclusive lock on a bank folder while a process writes it (`flock` on `.writer.lock`): a second writer gets a
/// clear error instead of interleaving chunks with the first. Released on exit, however the process ends.
final class WriterLock {
    private let descriptor: Int32
    private let path: String

    init(folder: String) throws {
        path = folder + "/.writer.lock"
        descriptor = open(path, O_CREAT | O_RDWR, 0o644)
        guard descriptor >= 0 else { throw InputError(file: path, "cannot open the bank's lock file (\(String(cString: strerror(errno))))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw InputError(file: folder, "another ionlink process is writing this bank now; wait for it to finish (or stop it), then rerun to resume")
        }
    }

    /// Releases the lock and removes its file (a writer that opened it meanwhile was already refused).
    func release() {
        unlink(path)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
