import Foundation
import IonLinkCore
import IonLinkRegression

/// The bibiplot of a rank-2 sparse reduced-rank regression (Kobak et al. 2021): left, cells in the space of
/// the gene components X·w with each selected gene drawn as its correlation with the two components; right,
/// cells in the space of the output components Y·v with each output drawn the same way. Cells are coloured
/// by `groups` (e.g. transcriptomic family) when given.
public enum BiplotFigure {
    public static func write(fit: SparseReducedRankRegression.Fit, x: Matrix, y: Matrix, genes: [String], outputs: [String],
                             groups: [String]?, title: String, to path: String) throws {
        guard fit.w.columns >= 2 else { throw InputError(file: path, "a bi-plot needs rank ≥ 2") }
        let latentX = x * fit.w, latentY = y * fit.v
        let figure = Figure(width: 1100, height: 560)
        figure.text(title, x: 20, y: 26, size: 15, bold: true)
        let groupNames = groups.map { Array(Set($0)).sorted() } ?? []
        let colorOf: (Int) -> Figure.Color = { i in
            guard let groups, let g = groupNames.firstIndex(of: groups[i]) else { return .gray }
            return Figure.Color.palette[g % Figure.Color.palette.count]
        }
        func panel(_ latent: Matrix, _ data: Matrix, names: [String], columns: [Int], left: Double, label: String) {
            let xs = latent.column(0), ys = latent.column(1)
            let limit = max(xs.map(abs).max() ?? 1, ys.map(abs).max() ?? 1) * 1.1
            let p = Figure.Panel(x: left, y: 70, width: 420, height: 420, xRange: -limit...limit, yRange: -limit...limit)
            for i in 0..<latent.rows { figure.markers(p, x: [xs[i]], y: [ys[i]], color: colorOf(i), radius: 2) }
            // Loadings: correlation of each variable with the two components, scaled to the panel (a constant variable
            // has none).
            let loadings = columns.map { c -> (Double, Double) in
                let v = data.column(c)
                func loading(_ axis: [Double]) -> Double { let r = pearsonCorrelation(v, axis); return r.isNaN ? 0 : r }
                return (loading(xs), loading(ys))
            }
            let order = loadings.indices.sorted { hypot(loadings[$0].0, loadings[$0].1) > hypot(loadings[$1].0, loadings[$1].1) }
            for (rank, k) in order.enumerated() {
                let (a, b) = loadings[k]
                figure.line(p, x: [0, a * limit], y: [0, b * limit], color: .black, width: rank < 12 ? 1.2 : 0.4)
                if rank < 12 { figure.text(names[columns[k]], x: p.px(a * limit * 1.04), y: p.py(b * limit * 1.04), size: 9, anchor: a < 0 ? 1 : 0) }
            }
            figure.axes(p, xLabel: "\(label) component 1", yLabel: "\(label) component 2")
        }
        let selected = fit.selected
        panel(latentX, x, names: genes, columns: selected, left: 80, label: "genes")
        panel(latentY, y, names: outputs, columns: Array(0..<y.columns), left: 620, label: "outputs")
        if !groupNames.isEmpty {
            figure.legend(groupNames.prefix(10).enumerated().map { ($1, Figure.Color.palette[$0 % Figure.Color.palette.count]) }, x: 80, y: 52)
        }
        try figure.writePNG(to: path)
    }
}
