import Foundation
import IonLinkCore

/// The outputs of a regression: any table with a cell-id column and numeric columns (fitted parameters or
/// features). The id column is `cell_id`, `id`, `cell` or `Cell` (else the first column); non-numeric
/// columns other than the id are ignored; a `sample` column marks posterior samples (several rows per cell).
public struct ResponseTable: Sendable {
    public var file: String
    /// Normalised cell ids, one per row.
    public var cells: [String]
    /// Posterior-sample index per row, if the table has a `sample` column.
    public var samples: [Int]?
    public var outputs: [String]
    /// rows × outputs; NaN where the table has no number.
    public var values: Matrix

    public init(file: String, cells: [String], samples: [Int]?, outputs: [String], values: Matrix) {
        self.file = file; self.cells = cells; self.samples = samples; self.outputs = outputs; self.values = values
    }

    /// The rows of posterior draw `draw` as a one-row-per-cell table.
    public func draw(_ draw: Int) -> ResponseTable {
        let rows = (samples ?? []).indices.filter { samples![$0] == draw }
        return ResponseTable(file: file, cells: rows.map { cells[$0] }, samples: nil, outputs: outputs, values: values.selectingRows(rows))
    }

    public static func read(_ path: String) throws -> ResponseTable {
        let table = try CSVTable.read(path)
        guard !table.rows.isEmpty else { throw InputError(file: path, "no data rows") }
        let idColumn = ["cell_id", "id", "cell", "Cell", "cell id"].compactMap { table.header.firstIndex(of: $0) }.first ?? 0
        let sampleColumn = table.header.firstIndex(of: "sample")
        var numeric: [Int] = []
        for c in 0..<table.header.count where c != idColumn && c != sampleColumn {
            let parsable = table.rows.prefix(50).filter { Double($0[c].trimmingCharacters(in: .whitespaces)) != nil || $0[c].isEmpty || $0[c].lowercased() == "nan" }.count
            if parsable == min(50, table.rows.count) { numeric.append(c) }
        }
        guard !numeric.isEmpty else { throw InputError(file: path, location: "header", "no numeric columns to regress on") }
        var values = [Double]()
        for r in 0..<table.rows.count {
            for c in numeric {
                let text = table.rows[r][c].trimmingCharacters(in: .whitespaces)
                if text.isEmpty || text.lowercased() == "nan" { values.append(.nan); continue }
                guard let v = Double(text) else {
                    throw InputError(file: path, location: "row \(r + 1), column \(table.header[c])", "expected a number, found \"\(text)\"")
                }
                values.append(v)
            }
        }
        let samples = try sampleColumn.map { c in
            try (0..<table.rows.count).map { r -> Int in
                guard let s = Int(table.rows[r][c].trimmingCharacters(in: .whitespaces)) else {
                    throw InputError(file: path, location: "row \(r + 1), column sample", "expected an integer sample index, found \"\(table.rows[r][c])\"")
                }
                return s
            }
        }
        return ResponseTable(file: path, cells: table.rows.map { CellID.normalized($0[idColumn]) }, samples: samples,
                             outputs: numeric.map { table.header[$0] }, values: Matrix(rows: table.rows.count, columns: numeric.count, values: values))
    }
}
