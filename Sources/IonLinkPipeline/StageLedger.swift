import Foundation
import IonLinkCore

/// Records, per stage of a run, the settings its outputs were made with (`stages.json` in the run folder): a rerun
/// reuses a stage only when its record matches and its outputs exist, and redoes it (and so everything after it)
/// otherwise. Under MPI every rank keeps the records and only rank 0 writes them (`writes`).
struct StageLedger {
    let path: String
    let writes: Bool
    private(set) var records: [String: String]

    init(folder: String, writes: Bool = true) throws {
        path = folder + "/stages.json"
        self.writes = writes
        if let data = FileManager.default.contents(atPath: path) {
            guard let decoded = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw InputError(file: path, "not an IonLink stage record; delete it to redo every stage")
            }
            records = decoded
        } else {
            records = [:]
        }
    }

    /// Whether stage `name` was made with `key` and its outputs are all there.
    func isCurrent(_ name: String, key: String, outputs: [String]) -> Bool {
        records[name] == key && outputs.allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }

    mutating func record(_ name: String, key: String) throws {
        records[name] = key
        try save()
    }

    private func save() throws {
        guard writes else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(records), to: path)
    }

    /// A stage key from its settings (any Encodable, sorted-keys JSON) and the keys of the stages it reads.
    static func key(_ settings: some Encodable, after upstream: [String] = []) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: (try? encoder.encode(settings)) ?? Data(), as: UTF8.self)
        return String(FNV1a.hash((upstream + [text]).joined(separator: "|")), radix: 16)
    }
}
