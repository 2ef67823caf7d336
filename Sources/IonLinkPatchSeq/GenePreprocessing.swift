import Foundation
import IonLinkCore

/// Gene selection and normalisation as Bernaerts et al. (2025): a gene list (GO ion-channel genes) plus
/// marker genes, genes with at least `minimumTotalCounts` over the cells kept, library-size normalisation over
/// the selected genes (X / rowsum · median rowsum), log2(x + 1), then z-scoring of each gene over cells.
public struct GenePreprocessing: Sendable {
    /// Genes to consider (nil: all genes of the table).
    public var geneList: Set<String>?
    /// Always considered in addition to the list.
    public var markers: [String]
    public var minimumTotalCounts: Double

    public init(geneList: Set<String>?, markers: [String] = ["Pvalb", "Lamp5", "Vip", "Sst"], minimumTotalCounts: Double = 10) {
        self.geneList = geneList
        self.markers = markers
        self.minimumTotalCounts = minimumTotalCounts
    }

    /// Reads a gene list: one symbol per line (blank lines and `#` comments ignored).
    public static func readGeneList(_ path: String) throws -> Set<String> {
        let text = String(decoding: try Gzip.contents(of: path), as: UTF8.self)
        let genes = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !genes.isEmpty else { throw InputError(file: path, "no gene symbols (expected one per line)") }
        return Set(genes)
    }

    /// The selected genes' names and the normalised, z-scored matrix (cells × selected genes), plus the
    /// genes dropped for zero variance.
    public func apply(_ counts: GeneCounts) throws -> (genes: [String], x: Matrix, constant: [String]) {
        let wanted = geneList.map { $0.union(markers) }
        // Counts are never negative or undefined: such a value is a damaged table, not a gene to drop quietly.
        for i in 0..<counts.counts.rows {
            for j in 0..<counts.counts.columns where !(counts.counts[i, j] >= 0 && counts.counts[i, j].isFinite) {
                throw InputError(file: counts.file, location: "cell \(counts.cells[i]), gene \(counts.genes[j])",
                                 "expected a count ≥ 0, found \(counts.counts[i, j])")
            }
        }
        var columns: [Int] = []
        for (j, gene) in counts.genes.enumerated() where wanted?.contains(gene) ?? true {
            let total = (0..<counts.counts.rows).reduce(0.0) { $0 + counts.counts[$1, j] }
            if total >= minimumTotalCounts { columns.append(j) }
        }
        guard !columns.isEmpty else {
            throw InputError(file: counts.file, "no gene passes the selection (gene list ∩ table, ≥ \(minimumTotalCounts) counts)")
        }
        var x = counts.counts.selectingColumns(columns)
        let sums = (0..<x.rows).map { i in (0..<x.columns).reduce(0.0) { $0 + x[i, $1] } }
        let sorted = sums.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        for i in 0..<x.rows {
            let scale = sums[i] > 0 ? median / sums[i] : 0
            for j in 0..<x.columns { x[i, j] = log2(x[i, j] * scale + 1) }
        }
        // z-score; genes with no variance after normalisation are dropped (and reported).
        var keep: [Int] = [], constant: [String] = []
        let means = x.columnMeans
        var sds = [Double](repeating: 0, count: x.columns)
        for j in 0..<x.columns {
            sds[j] = ((0..<x.rows).reduce(0.0) { $0 + (x[$1, j] - means[j]) * (x[$1, j] - means[j]) } / Double(x.rows)).squareRoot()
            if sds[j] > 1e-12 { keep.append(j) } else { constant.append(counts.genes[columns[j]]) }
        }
        for i in 0..<x.rows { for j in 0..<x.columns { x[i, j] = sds[j] > 1e-12 ? (x[i, j] - means[j]) / sds[j] : 0 } }
        guard !keep.isEmpty else {
            throw InputError(file: counts.file, "every selected gene (\(constant.count)) has the same normalised expression in every cell: nothing to regress on")
        }
        return (keep.map { counts.genes[columns[$0]] }, x.selectingColumns(keep), constant)
    }
}
