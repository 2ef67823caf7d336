import Foundation
import IonLinkCore

/// A gene-expression table: cells × genes (raw counts unless stated).
public struct GeneCounts: Sendable {
    /// Normalised cell ids (rows).
    public var cells: [String]
    public var genes: [String]
    /// cells × genes.
    public var counts: Matrix
    /// The file it came from.
    public var file: String

    public init(cells: [String], genes: [String], counts: Matrix, file: String) {
        self.cells = cells
        self.genes = genes
        self.counts = counts
        self.file = file
    }

    /// Reads a CSV/TSV table (optionally gzip) in either orientation, or an AnnData `.h5ad`. For CSV the
    /// orientation is decided by which axis shares more ids with `knownCells` (e.g. the parameter table's);
    /// without known cells a first header field of `gene`/`genes`/`symbol` means genes × cells.
    public static func read(_ path: String, knownCells: Set<String> = []) throws -> GeneCounts {
        if path.lowercased().hasSuffix(".h5ad") {
            if let failure = CrashIsolation.check(path, kind: "h5ad") { throw InputError(file: path, failure) }
            return try AnnData.read(path)
        }
        let separator: Character = path.lowercased().contains(".tsv") || path.lowercased().contains(".txt") ? "\t" : ","
        let table = try CSVTable.read(path, separator: separator)
        let headerIDs = table.header.dropFirst().map(CellID.normalized)
        let firstColumn = table.rows.map { CellID.normalized($0[0]) }
        let genesByCells: Bool
        if !knownCells.isEmpty {
            genesByCells = headerIDs.filter(knownCells.contains).count >= firstColumn.filter(knownCells.contains).count
        } else {
            genesByCells = ["gene", "genes", "symbol", "gene_symbol", ""].contains(table.header[0].lowercased())
        }
        var values = [Double]()
        values.reserveCapacity(table.rows.count * (table.header.count - 1))
        for r in 0..<table.rows.count {
            for c in 1..<table.header.count {
                let text = table.rows[r][c]
                guard let value = Double(text), value.isFinite else {
                    throw InputError(file: path, location: "row \(r + 1), column \(table.header[c])", "expected a number (count), found \"\(text)\"")
                }
                values.append(value)
            }
        }
        let matrix = Matrix(rows: table.rows.count, columns: table.header.count - 1, values: values)
        let result = genesByCells
            ? GeneCounts(cells: headerIDs, genes: table.rows.map { $0[0] }, counts: matrix.transposed, file: path)
            : GeneCounts(cells: firstColumn, genes: Array(table.header.dropFirst()), counts: matrix, file: path)
        try result.checkUnique()
        return result
    }

    func checkUnique() throws {
        var seen = Set<String>()
        for c in cells where !seen.insert(c).inserted { throw InputError(file: file, location: "cell \(c)", "cell id appears twice") }
        seen = []
        for g in genes where !seen.insert(g).inserted { throw InputError(file: file, location: "gene \(g)", "gene appears twice") }
    }
}

/// AnnData `.h5ad` (HDF5): X dense or CSR/CSC sparse, `obs`/`var` names; raw counts preferred from
/// `layers/counts` or `raw/X` when present.
public enum AnnData {
    /// Reads the counts of `path` (without crash isolation: `GeneCounts.read` adds it).
    public static func read(_ path: String) throws -> GeneCounts {
        let file = try HDF5File(path: path)
        let source = ["layers/counts", "raw/X", "X"].first { file.exists("/" + $0) } ?? "X"
        let cells = try names(file, group: "/obs")
        let genes = try names(file, group: source == "raw/X" && file.exists("/raw/var") ? "/raw/var" : "/var")
        let matrix: Matrix
        if file.isGroup("/" + source) {
            let encoding = file.stringAttribute("/" + source, "encoding-type") ?? file.stringAttribute("/" + source, "h5sparse_format") ?? "csr_matrix"
            let data = try file.readDoubles("/\(source)/data").values
            /// Integer positions; a NaN, fractional, negative or huge value is damage, not an index.
            func positions(_ name: String) throws -> [Int] {
                try file.readDoubles("/\(source)/\(name)").values.enumerated().map { k, value in
                    guard value.isFinite, value == value.rounded(), value >= 0, value < Double(Int32.max) else {
                        throw InputError(file: path, location: "\(source)/\(name)[\(k)]", "expected a non-negative integer position, found \(value)")
                    }
                    return Int(value)
                }
            }
            let indices = try positions("indices"), pointers = try positions("indptr")
            var m = Matrix(rows: cells.count, columns: genes.count)
            let csr = encoding.hasPrefix("csr")
            let major = csr ? cells.count : genes.count, minor = csr ? genes.count : cells.count
            guard pointers.count == major + 1, pointers.first == 0, pointers.last == data.count, indices.count == data.count else {
                throw InputError(file: path, location: source, "inconsistent sparse matrix (indptr \(pointers.count), data \(data.count), indices \(indices.count))")
            }
            if let a = (0..<major).first(where: { pointers[$0 + 1] < pointers[$0] }) {
                throw InputError(file: path, location: "\(source)/indptr[\(a + 1)]", "expected non-decreasing row pointers, found \(pointers[a]) then \(pointers[a + 1])")
            }
            for a in 0..<major {
                for k in pointers[a]..<pointers[a + 1] {
                    let b = indices[k]
                    guard b >= 0 && b < minor else { throw InputError(file: path, location: source, "index \(b) outside 0..<\(minor)") }
                    if csr { m[a, b] = data[k] } else { m[b, a] = data[k] }
                }
            }
            matrix = m
        } else {
            let (values, shape) = try file.readDoubles("/" + source)
            guard shape == [cells.count, genes.count] else {
                throw InputError(file: path, location: source, "expected shape [\(cells.count), \(genes.count)] (obs × var), found \(shape)")
            }
            matrix = Matrix(rows: shape[0], columns: shape[1], values: values)
        }
        let result = GeneCounts(cells: cells.map(CellID.normalized), genes: genes, counts: matrix, file: path)
        try result.checkUnique()
        return result
    }

    /// Index names of an AnnData dataframe group (`_index` attribute, else `_index`/`index` dataset).
    static func names(_ file: HDF5File, group: String) throws -> [String] {
        let column = file.stringAttribute(group, "_index") ?? "_index"
        for candidate in [column, "_index", "index"] where file.exists(group + "/" + candidate) {
            return try file.readStrings(group + "/" + candidate)
        }
        throw InputError(file: file.path, location: group, "no index of names (_index)")
    }
}
