import Foundation
import IonLinkCore

/// `manifest.json` of a simulation bank: what was simulated, with which seed, which part of the bank
/// this folder holds, and whether it is complete. It has no timestamps, so a bank made in shards and
/// merged is byte-identical to one made in one go.
public struct BankManifest: Codable, Equatable, Sendable {
    public var format = "ionlink-bank"
    public var formatVersion = 1
    public var ionlinkVersion = IonLinkVersion.current
    public var configuration: SimulationConfiguration
    public var seed: UInt64
    /// The kernel's arithmetic; nil (absent from the JSON) is float64, as in every bank made before float32 existed.
    public var precision: BatchSimulator.Precision?
    /// Samples in the whole bank (all shards).
    public var count: Int
    /// This folder's shard: index in 0..<shardCount.
    public var shardIndex: Int
    public var shardCount: Int
    /// Global index of this folder's first sample.
    public var firstIndex: Int
    /// Samples in this folder.
    public var rows: Int
    /// Samples per chunk while the bank is being made (the unit of resumption).
    public var chunkSize: Int
    /// Voltage traces are kept for samples with global index below this.
    public var keptTraces: Int
    /// Free parameters, the columns of `theta.npy`.
    public var parameterNames: [String]
    /// The per-sample summary stored in `features.npy` (nil: none), and its columns.
    public var summary: String?
    public var featureNames: [String]?
    /// Where the samples' parameters come from: nil for prior draws, else an NPY file in the bank folder
    /// (float64 [count, parameters]) written before the bank, e.g. a sequential round's proposal.
    public var proposal: String?
    /// True once the consolidated files below are in place.
    public var complete: Bool
    /// Samples whose simulation stayed finite (set when complete).
    public var validCount: Int?
    /// The files of a complete bank and what they hold.
    public var files: [String: String] = BankManifest.fileDescriptions
    /// FNV-1a digests of the files of a complete bank (nil in banks made before IonLink recorded them).
    public var checksums: [String: String]?

    enum CodingKeys: String, CodingKey {
        case format, seed, count, rows, complete, files, configuration
        case formatVersion = "format_version", ionlinkVersion = "ionlink_version"
        case shardIndex = "shard_index", shardCount = "shard_count", firstIndex = "first_index"
        case chunkSize = "chunk_size", keptTraces = "kept_traces", parameterNames = "parameter_names"
        case validCount = "valid_count", summary, featureNames = "feature_names", proposal, checksums, precision
    }

    /// The arithmetic the bank's samples were simulated in.
    public var simulationPrecision: BatchSimulator.Precision { precision ?? .float64 }

    public static let fileDescriptions: [String: String] = [
        "theta.npy": "float64 [rows, parameters]: the free parameters of each sample, in parameter_names order",
        "valid.npy": "uint8 [rows]: 1 if the simulation stayed finite, else 0",
        "spike_count.npy": "int32 [rows]: upward 0-mV crossings during the stimulus window",
        "features.npy": "float64 [rows, features]: the per-sample summary (feature_names order), NaN where undefined",
        "traces.npy": "float32 [kept rows, samples]: V (mV) of the samples with global index < kept_traces, sample k = V(k·dt)",
    ]

    /// The global sample indices of shard `index` of `shards` in a bank of `count` samples.
    public static func shardRange(count: Int, index: Int, of shards: Int) -> Range<Int> {
        (count * index / shards) ..< (count * (index + 1) / shards)
    }

    public var globalRange: Range<Int> { firstIndex ..< firstIndex + rows }

    /// The files of this bank when complete.
    var fileNames: [String] {
        ["theta.npy", "valid.npy", "spike_count.npy"] + (featureNames != nil ? ["features.npy"] : []) + (keptRows > 0 ? ["traces.npy"] : [])
    }

    /// Kept traces in this folder.
    public var keptRows: Int { max(0, min(keptTraces, globalRange.upperBound) - firstIndex) }

    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! encoder.encode(self)
    }

    /// Reads `DIR/manifest.json`.
    public static func read(folder: String) throws -> BankManifest {
        let path = folder + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the bank manifest (is \(folder) a simulation bank?)")
        }
        let manifest: BankManifest
        do {
            manifest = try JSONDecoder().decode(BankManifest.self, from: data)
        } catch {
            throw InputError(file: path, "not a valid IonLink bank manifest: \(error)")
        }
        try manifest.validate(file: path)
        return manifest
    }

    /// Checks that the sizes and indices hang together (a damaged or hand-edited manifest gets an error, not a trap).
    func validate(file: String) throws {
        func check(_ condition: Bool, _ field: String, _ expected: String) throws {
            guard condition else { throw InputError(file: file, location: field, "expected \(expected)") }
        }
        try check(count >= 1, "count", "at least 1 sample, found \(count)")
        try check(shardCount >= 1 && (0..<shardCount).contains(shardIndex), "shard_index", "0 ≤ shard_index < shard_count, found \(shardIndex) of \(shardCount)")
        try check(rows >= 0 && firstIndex >= 0 && rows <= count && firstIndex <= count - rows, "rows",
                  "first_index + rows ≤ count, found \(firstIndex) + \(rows) of \(count)")
        try check(chunkSize >= 1, "chunk_size", "at least 1, found \(chunkSize)")
        try check(keptTraces >= 0, "kept_traces", "a number ≥ 0, found \(keptTraces)")
        try check(validCount.map { (0...rows).contains($0) } ?? true, "valid_count", "between 0 and rows (\(rows))")
        try check(parameterNames == configuration.model.parameterNames, "parameter_names", "the free parameters of the configuration's model")
        try check(featureNames.map { !$0.isEmpty } ?? true, "feature_names", "at least one name when present")
        try configuration.validate(file: file)
    }

    /// Whether `other` describes the same bank as this one, whatever the state of completion of each (complete, valid
    /// count, checksums).
    func describesSameBank(as other: BankManifest) -> Bool {
        func settings(_ m: BankManifest) -> BankManifest {
            var m = m
            m.complete = false
            m.validCount = nil
            m.checksums = nil
            return m
        }
        return settings(self) == settings(other)
    }

    /// The FNV-1a digest of each of `names` in `folder`.
    static func digests(of names: [String], in folder: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for name in names { result[name] = try FNV1a.digest(ofFile: folder + "/" + name) }
        return result
    }

    /// Checks the files of this complete bank in `folder` against their recorded checksums; throws naming the first
    /// file whose bytes changed. Returns false (nothing to check) for a bank made before checksums were recorded.
    @discardableResult
    public func verifyChecksums(folder: String) throws -> Bool {
        guard let checksums else { return false }
        for (name, expected) in checksums.sorted(by: { $0.key < $1.key }) {
            let found = try FNV1a.digest(ofFile: folder + "/" + name)
            guard found == expected else {
                throw InputError(file: folder + "/" + name, "checksum mismatch: the file changed after the bank was made (FNV-1a \(found), recorded \(expected)); make the bank again")
            }
        }
        return true
    }

    func write(folder: String) throws {
        try AtomicFile.write(encoded(), to: folder + "/manifest.json")
    }
}
