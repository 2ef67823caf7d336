import IonLinkCore

/// Parameter sets read from a CSV file: an `id` column and one column per free parameter of a model
/// (by name, any order; other columns are ignored and listed in `ignoredColumns`).
public struct ParameterTable: Sendable {
    public var ids: [String]
    /// Row-major values, `ids.count` × free parameters, in the model's order.
    public var values: [Double]
    /// Columns that are neither the id nor a parameter of the model (for the caller to mention).
    public var ignoredColumns: [String] = []

    /// Reads `path`, checking that every value is a finite number inside the model's prior box.
    public static func read(_ path: String, model: NeuronModel) throws -> ParameterTable {
        let table = try CSVTable.read(path)
        let idColumn = table.header.firstIndex(of: "id") ?? table.header.firstIndex(of: "cell_id")
        let columns = try model.parameters.map { try table.column($0.name.rawValue) }
        var values = [Double]()
        values.reserveCapacity(table.rows.count * columns.count)
        var ids = [String]()
        for r in 0..<table.rows.count {
            let row = try columns.map { try table.number(row: r, column: $0) }
            let id = idColumn.map { table.rows[r][$0] } ?? String(r)
            try model.checkInsidePrior(row, rowNumber: r + 1, file: path, id: idColumn == nil ? nil : id)
            values += row
            ids.append(id)
        }
        guard !ids.isEmpty else { throw InputError(file: path, "no data rows; expected a header and at least one parameter set") }
        var parsed = ParameterTable(ids: ids, values: values)
        let used = Set(model.parameters.map(\.name.rawValue) + ["id", "cell_id"])
        parsed.ignoredColumns = table.header.filter { !used.contains($0) }
        return parsed
    }
}
