import Foundation
import IonLinkCore

/// Genes and outputs of the same cells, joined by normalised cell id, with a report of what was dropped.
public struct PatchSeqDataset: Sendable {
    public var cells: [String]
    public var genes: [String]
    public var outputs: [String]
    /// cells × genes, preprocessed (normalised, log, z-scored).
    public var x: Matrix
    /// cells × outputs, z-scored per output over these cells.
    public var y: Matrix
    public var report: JoinReport

    /// What the join kept and dropped, and why.
    public struct JoinReport: Sendable, CustomStringConvertible {
        public var countsCells: Int
        public var responseCells: Int
        public var matched: Int
        public var onlyInCounts: [String]
        public var onlyInResponses: [String]
        public var droppedForMissingValues: [String]
        public var genesSelected: Int
        public var genesConstant: [String]

        public var description: String {
            """
            join: \(matched) cells matched (gene table \(countsCells) cells, output table \(responseCells) cells)
              dropped: \(onlyInResponses.count) cells without genes\(Self.examples(onlyInResponses)), \(onlyInCounts.count) cells without outputs, \(droppedForMissingValues.count) cells with missing outputs\(Self.examples(droppedForMissingValues))
              genes: \(genesSelected) selected\(genesConstant.isEmpty ? "" : ", \(genesConstant.count) dropped for zero variance\(Self.examples(genesConstant))")
            """
        }

        static func examples(_ list: [String]) -> String {
            list.isEmpty ? "" : " (" + list.prefix(5).joined(separator: ", ") + (list.count > 5 ? ", …" : "") + ")"
        }
    }

    /// Joins `responses` (one row per cell: no `sample` column) with `counts`, preprocesses the genes over the
    /// matched cells and z-scores the outputs.
    public static func join(counts: GeneCounts, responses: ResponseTable, preprocessing: GenePreprocessing) throws -> PatchSeqDataset {
        if responses.samples != nil {
            throw InputError(file: responses.file, location: "header", "has a `sample` column (posterior samples); give one row per cell here, or use --posterior-samples")
        }
        var seen = Set<String>()
        for (r, cell) in responses.cells.enumerated() where !seen.insert(cell).inserted {
            throw InputError(file: responses.file, location: "row \(r + 1)", "cell id \(cell) appears twice")
        }
        let countIndex = Dictionary(uniqueKeysWithValues: counts.cells.enumerated().map { ($1, $0) })
        var matchedRows: [Int] = [], countRows: [Int] = [], missing: [String] = [], onlyResponses: [String] = []
        for (r, cell) in responses.cells.enumerated() {
            guard let c = countIndex[cell] else { onlyResponses.append(cell); continue }
            if responses.values.row(r).contains(where: { !$0.isFinite }) { missing.append(cell); continue }
            matchedRows.append(r)
            countRows.append(c)
        }
        let responseSet = Set(responses.cells)
        let onlyCounts = counts.cells.filter { !responseSet.contains($0) }
        guard matchedRows.count >= 3 else {
            // Cells found in both tables but without outputs (NaN rows, e.g. cells whose posterior could not be sampled)
            // are a different problem from ids that do not match.
            let why = missing.isEmpty ? "by id (ids like \(responses.cells.prefix(2).joined(separator: ", ")) vs \(counts.cells.prefix(2).joined(separator: ", ")))"
                : "with outputs: \(missing.count) cells are in both tables but have undefined (NaN) outputs, e.g. \(missing.prefix(3).joined(separator: ", "))"
            throw InputError(file: responses.file, "only \(matchedRows.count) cells match the gene table \(counts.file) " + why)
        }
        let subset = GeneCounts(cells: countRows.map { counts.cells[$0] }, genes: counts.genes,
                                counts: counts.counts.selectingRows(countRows), file: counts.file)
        let (genes, x, constant) = try preprocessing.apply(subset)
        var y = responses.values.selectingRows(matchedRows)
        let means = y.columnMeans
        for j in 0..<y.columns {
            let sd = ((0..<y.rows).reduce(0.0) { $0 + (y[$1, j] - means[j]) * (y[$1, j] - means[j]) } / Double(y.rows)).squareRoot()
            guard sd > 0 else { throw InputError(file: responses.file, location: "column \(responses.outputs[j])", "has the same value in every matched cell; nothing to regress") }
            for i in 0..<y.rows { y[i, j] = (y[i, j] - means[j]) / sd }
        }
        let report = JoinReport(countsCells: counts.cells.count, responseCells: responses.cells.count, matched: matchedRows.count,
                                onlyInCounts: onlyCounts, onlyInResponses: onlyResponses, droppedForMissingValues: missing,
                                genesSelected: genes.count, genesConstant: constant)
        return PatchSeqDataset(cells: subset.cells, genes: genes, outputs: responses.outputs, x: x, y: y, report: report)
    }
}
