import Foundation
import IonLinkCore
import IonLinkPatchSeq

/// Observed cells' features: an id per row and the features, columns matched by name.
public struct ObservedCells: Sendable {
    public var file: String
    public var ids: [String]
    public var featureNames: [String]
    /// cells × features (NaN where a feature is undefined).
    public var features: Matrix

    public init(file: String, ids: [String], featureNames: [String], features: Matrix) {
        self.file = file; self.ids = ids; self.featureNames = featureNames; self.features = features
    }

    /// Reads a table with an id in the first column and the features `featureNames` among its columns (by name; other
    /// columns are ignored). A missing feature column is an error naming it, and so is a repeated id.
    public static func read(_ path: String, featureNames: [String]) throws -> ObservedCells {
        let table = try CSVTable.read(path)
        let missing = featureNames.filter { !table.header.contains($0) }
        guard missing.isEmpty else {
            let unknown = table.header.dropFirst().filter { !featureNames.contains($0) }
            throw InputError(file: path, location: "header", "missing feature column(s) \(missing.map { "'\($0)'" }.joined(separator: ", "))"
                             + (unknown.isEmpty ? "" : "; columns not among the features: \(unknown.map { "'\($0)'" }.joined(separator: ", "))"))
        }
        let columns = featureNames.map { table.header.firstIndex(of: $0)! }
        var seen: [String: Int] = [:]
        var values: [Double] = []
        values.reserveCapacity(table.rows.count * columns.count)
        for (r, row) in table.rows.enumerated() {
            if let first = seen[row[0]] {
                throw InputError(file: path, location: "row \(r + 1)", "cell id '\(row[0])' repeats row \(first + 1)")
            }
            seen[row[0]] = r
            for c in columns {
                values.append(row[c].trimmingCharacters(in: .whitespaces).isEmpty ? .nan : try table.number(row: r, column: c))
            }
        }
        return ObservedCells(file: path, ids: table.rows.map { $0[0] }, featureNames: featureNames,
                             features: Matrix(rows: table.rows.count, columns: columns.count, values: values))
    }

    public var count: Int { ids.count }

    /// The cells at `rows`, in that order.
    public func subset(_ rows: [Int]) -> ObservedCells {
        ObservedCells(file: file, ids: rows.map { ids[$0] }, featureNames: featureNames, features: features.selectingRows(rows))
    }

    /// Rows whose every feature is defined.
    public var completeRows: [Int] { (0..<count).filter { features.row($0).allSatisfy(\.isFinite) } }

    /// Writes the table (id + features) atomically.
    public func write(to path: String) throws {
        let rows = ids.indices.map { [ids[$0]] + features.row($0).map(CSVTable.formatNumber) }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id"] + featureNames, rows: rows).utf8), to: path)
    }
}

/// Each cell's family (transcriptomic class) from a metadata table, as the paper groups its cells.
public struct CellFamilies: Sendable {
    /// Normalised cell id → family.
    public var familyOf: [String: String]
    /// The metadata column read.
    public var column: String
    /// The family of every cell when there is no metadata (nil: cells not in `familyOf` are "unknown").
    public var everyCell: String?

    public init(familyOf: [String: String], column: String, everyCell: String? = nil) {
        self.familyOf = familyOf; self.column = column; self.everyCell = everyCell
    }

    /// Reads `column` of a metadata table (TSV if the name says so, else CSV) with a `Cell`, `cell_id`, `cell` or `id`
    /// column.
    public static func read(_ path: String, column: String = "RNA family") throws -> CellFamilies {
        let separator: Character = path.lowercased().contains(".tsv") ? "\t" : ","
        let table = try CSVTable.read(path, separator: separator)
        guard let idColumn = ["Cell", "cell_id", "cell", "id"].compactMap({ table.header.firstIndex(of: $0) }).first else {
            throw InputError(file: path, location: "header", "expected a cell id column named Cell, cell_id, cell or id")
        }
        let c = try table.column(column)
        var families: [String: String] = [:]
        for row in table.rows { families[CellID.normalized(row[idColumn])] = row[c].trimmingCharacters(in: .whitespaces) }
        return CellFamilies(familyOf: families, column: column)
    }

    /// The family of `id` ("unknown" if the metadata lacks it or leaves it empty).
    public func family(of id: String) -> String {
        if let everyCell { return everyCell }
        let f = familyOf[CellID.normalized(id)] ?? ""
        return f.isEmpty ? "unknown" : f
    }

    /// The paper's scored set: cells with a known family that is not "low quality" (955 of the 1033 M1 cells).
    public func scoredRows(_ ids: [String]) -> [Int] {
        ids.indices.filter { let f = family(of: ids[$0]); return f != "unknown" && f != "low quality" }
    }
}
