import Foundation
import IonLinkCore

/// A table of ids and the 23 paper features: what `ionlink features` writes and `ionlink train --observed`
/// reads (header `id` or `cell_id`, then the 23 columns in paper order; NaN where undefined).
public struct FeatureTable: Sendable {
    public var ids: [String]
    /// Row-major, ids.count × 23.
    public var values: [Double]

    public init(ids: [String], values: [Double]) {
        precondition(values.count == ids.count * PaperFeatures.count, "\(ids.count) ids need \(ids.count * 23) values, got \(values.count)")
        self.ids = ids
        self.values = values
    }

    /// Writes CSV (17 significant digits, `NaN` for undefined) atomically.
    public func write(to path: String, idColumn: String = "id") throws {
        var text = ([idColumn] + PaperFeatures.names).map(CSVTable.quoted).joined(separator: ",") + "\n"
        for (r, id) in ids.enumerated() {
            text += CSVTable.quoted(id)
            for j in 0..<PaperFeatures.count { text += "," + CSVTable.formatNumber(values[r * PaperFeatures.count + j]) }
            text += "\n"
        }
        try AtomicFile.write(Data(text.utf8), to: path)
    }

    /// Reads a table with an id column first and the 23 features by name (any order, extra columns ignored).
    public static func read(_ path: String) throws -> FeatureTable {
        let table = try CSVTable.read(path)
        let columns = try PaperFeatures.names.map { try table.column($0) }
        var values: [Double] = []
        values.reserveCapacity(table.rows.count * PaperFeatures.count)
        for r in 0..<table.rows.count {
            for c in columns {
                let text = table.rows[r][c].trimmingCharacters(in: .whitespaces)
                values.append(text.isEmpty ? .nan : try table.number(row: r, column: c))
            }
        }
        return FeatureTable(ids: table.rows.map { $0[0] }, values: values)
    }
}
