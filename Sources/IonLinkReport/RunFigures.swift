import Foundation
import IonLinkCore

/// The figures of a run's report, each drawn from the run's tables (so `ionlink report` redraws them without
/// recomputing anything).
enum RunFigures {
    /// A grid of small panels, `columns` wide, each `size` pixels, with a margin for labels.
    struct Grid {
        let columns: Int, rows: Int, width: Double, height: Double
        func panel(_ k: Int, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>) -> Figure.Panel {
            let c = k % columns, r = k / columns
            return Figure.Panel(x: 60 + Double(c) * (width + 60), y: 64 + Double(r) * (height + 70), width: width, height: height,
                                xRange: xRange, yRange: yRange)
        }
        var figureWidth: Int { Int(60 + Double(columns) * (width + 60)) }
        var figureHeight: Int { Int(64 + Double(rows) * (height + 70) + 40) }
    }

    /// The distinct families, largest first (ties by name), with their cell counts.
    static func bySize(_ families: [String]) -> [(family: String, cells: Int)] {
        Dictionary(grouping: families, by: { $0 }).map { ($0.key, $0.value.count) }
            .sorted { $0.cells > $1.cells || ($0.cells == $1.cells && $0.family < $1.family) }
    }

    /// Each family's palette colour, in order of size.
    static func colours(_ families: [String]) -> [String: Figure.Color] {
        var result: [String: Figure.Color] = [:]
        for (k, entry) in bySize(families).enumerated() { result[entry.family] = Figure.Color.palette[k % Figure.Color.palette.count] }
        return result
    }

    /// A vertical legend of the families, largest first, with their counts.
    static func legend(_ figure: Figure, _ colours: [String: Figure.Color], families: [String], y: Double) {
        let entries = bySize(families).map { ("\($0.family) (\($0.cells))", colours[$0.family] ?? .gray) }
        figure.legend(entries, x: Double(figure.width) - 190, y: y, vertical: true)
    }

    /// Observed against re-simulated features, one panel per feature, coloured by family; the diagonal is equality.
    static func featureScatter(observed: Matrix, simulated: Matrix, names: [String], families: [String], title: String, to path: String) throws {
        let grid = Grid(columns: 5, rows: (names.count + 4) / 5, width: 170, height: 130)
        let figure = Figure(width: grid.figureWidth + 200, height: grid.figureHeight)
        let colour = colours(families)
        figure.text(title, x: 60, y: 22, size: 15, bold: true)
        for (j, name) in names.enumerated() {
            let rows = (0..<observed.rows).filter { observed[$0, j].isFinite && simulated[$0, j].isFinite }
            let values = rows.flatMap { [observed[$0, j], simulated[$0, j]] }
            let range = Figure.paddedRange(values.isEmpty ? [0, 1] : values)
            let panel = grid.panel(j, xRange: range, yRange: range)
            figure.axes(panel, xLabel: "observed", yLabel: "simulated", title: Figure.plainLabel(name))
            figure.line(panel, x: [range.lowerBound, range.upperBound], y: [range.lowerBound, range.upperBound], color: .gray)
            for r in rows { figure.markers(panel, x: [observed[r, j]], y: [simulated[r, j]], color: colour[families[r]] ?? .gray, radius: 1.5) }
        }
        legend(figure, colour, families: families, y: 60)
        try figure.write(path, svg: true)
    }

    /// Each parameter's fitted values by family (a dot per cell, jittered), on its prior interval.
    static func parametersByFamily(_ values: Matrix, names: [String], low: [Double], high: [Double], families: [String],
                                   title: String, to path: String) throws {
        let order = colours(families)
        let familyOrder = bySize(families).map(\.family)
        let grid = Grid(columns: 5, rows: (names.count + 4) / 5, width: 170, height: 130)
        let figure = Figure(width: grid.figureWidth + 200, height: grid.figureHeight)
        figure.text(title, x: 60, y: 22, size: 15, bold: true)
        var generator = Xoshiro256(seed: 7)
        for (j, name) in names.enumerated() {
            let panel = grid.panel(j, xRange: -0.5...(Double(familyOrder.count) - 0.5), yRange: low[j]...high[j])
            figure.axes(panel, xLabel: "families (legend order)", yLabel: "", title: name, xTicks: false)
            for r in 0..<values.rows where values[r, j].isFinite {
                guard let k = familyOrder.firstIndex(of: families[r]) else { continue }
                let x = Double(k) + (generator.nextUniform() - 0.5) * 0.6
                figure.markers(panel, x: [x], y: [values[r, j]], color: order[families[r]]!, radius: 1.3)
            }
        }
        legend(figure, order, families: families, y: 60)
        try figure.write(path, svg: true)
    }

    /// Distances per family: a dot per cell for each estimate, side by side, with each family's median.
    static func distancesByFamily(_ estimates: [(name: String, distances: [Double?])], families: [String], scored: [Bool], to path: String) throws {
        let scoredFamilies = families.enumerated().filter { scored[$0.offset] }.map(\.element)
        let familyOrder = bySize(scoredFamilies).map(\.family)
        let all = estimates.flatMap { $0.distances.compactMap { $0 } }
        let figure = Figure(width: 1000, height: 440)
        let panel = Figure.Panel(x: 70, y: 40, width: 880, height: 320, xRange: -0.5...(Double(familyOrder.count) - 0.5),
                                 yRange: 0...(min(all.max() ?? 1, 20) * 1.05))
        figure.axes(panel, xLabel: "", yLabel: "distance (z-scored)", title: "re-simulated fits by family: "
                    + estimates.enumerated().map { "\($0.element.name) (\(["left", "middle", "right"][min(2, $0.offset)]))" }.joined(separator: ", "),
                    xTicks: false)
        var generator = Xoshiro256(seed: 3)
        let width = 0.8 / Double(max(1, estimates.count))
        for (k, family) in familyOrder.enumerated() {
            figure.text(family, x: panel.x + (Double(k) + 0.5) / Double(familyOrder.count) * panel.width, y: panel.y + panel.height + 18, size: 11, anchor: 0.5)
            for (e, estimate) in estimates.enumerated() {
                let centre = Double(k) - 0.4 + width * (Double(e) + 0.5)
                let values = estimate.distances.enumerated().filter { scored[$0.offset] && families[$0.offset] == family }.compactMap(\.element)
                for v in values where v <= panel.yRange.upperBound {
                    figure.markers(panel, x: [centre + (generator.nextUniform() - 0.5) * width * 0.7], y: [v],
                                   color: Figure.Color.palette[e % Figure.Color.palette.count], radius: 1.3)
                }
                let median = values.sorted().sortedQuantile(0.5)
                if median.isFinite { figure.line(panel, x: [centre - width / 2, centre + width / 2], y: [median, median], color: .black, width: 2) }
            }
        }
        figure.legend(estimates.enumerated().map { ($0.element.name, Figure.Color.palette[$0.offset % Figure.Color.palette.count]) }, x: 820, y: 60)
        try figure.write(path, svg: true)
    }

    /// The training curve: mean log-probability of the training and validation pairs per epoch.
    static func trainingCurve(epochs: [Double], train: [Double], validation: [Double], title: String, to path: String) throws {
        let figure = Figure(width: 720, height: 380)
        let panel = Figure.Panel(x: 70, y: 40, width: 620, height: 280, xRange: Figure.paddedRange(epochs),
                                 yRange: Figure.paddedRange((train + validation).filter(\.isFinite)))
        figure.axes(panel, xLabel: "epoch", yLabel: "mean log q(θ | x)", title: title)
        figure.line(panel, x: epochs, y: train, color: .blue, width: 1.5)
        figure.line(panel, x: epochs, y: validation, color: .orange, width: 1.5)
        figure.legend([("training", .blue), ("validation", .orange)], x: 560, y: 250)
        try figure.write(path, svg: true)
    }

    /// Calibration on held-out pairs: per parameter the histogram of SBC ranks (10 bins) with the uniform count and
    /// its 99% binomial band, and, last, expected coverage against the credibility level (calibrated: the diagonal).
    static func calibration(ranks: [[Int]], samplesPerCase: Int, names: [String], levels: [Double], coverage: [Double],
                            title: String, to path: String) throws {
        let grid = Grid(columns: 5, rows: (names.count + 1 + 4) / 5, width: 170, height: 130)
        let figure = Figure(width: grid.figureWidth, height: grid.figureHeight)
        figure.text(title, x: 60, y: 22, size: 15, bold: true)
        let bins = 10, cases = Double(ranks.count)
        let expected = cases / Double(bins), band = 2.576 * (cases * 0.1 * 0.9).squareRoot()
        for (j, name) in names.enumerated() {
            var counts = [Double](repeating: 0, count: bins)
            for r in ranks { counts[min(bins - 1, r[j] * bins / (samplesPerCase + 1))] += 1 }
            let panel = grid.panel(j, xRange: 0...1, yRange: 0...max(expected + band, counts.max() ?? 1) * 1.1)
            figure.axes(panel, xLabel: "normalised rank", yLabel: "cases", title: name)
            figure.line(panel, x: [0, 1], y: [expected + band, expected + band], color: .gray)
            figure.line(panel, x: [0, 1], y: [max(0, expected - band), max(0, expected - band)], color: .gray)
            figure.line(panel, x: [0, 1], y: [expected, expected], color: .gray, width: 1.5)
            var x: [Double] = [], y: [Double] = []
            for (k, c) in counts.enumerated() { x += [Double(k) / Double(bins), Double(k + 1) / Double(bins)]; y += [c, c] }
            figure.line(panel, x: x, y: y, color: .blue, width: 2)
        }
        let panel = grid.panel(names.count, xRange: 0...1, yRange: 0...1)
        figure.axes(panel, xLabel: "credibility level", yLabel: "coverage", title: "expected coverage")
        figure.line(panel, x: [0, 1], y: [0, 1], color: .gray)
        figure.line(panel, x: levels, y: coverage, color: .blue, width: 2)
        figure.markers(panel, x: levels, y: coverage, color: .blue, radius: 2)
        try figure.write(path, svg: true)
    }

    /// Example cells' simulated traces: one panel per cell, the series overlaid.
    /// A series labelled "recorded" is black; the others take the palette in order of first appearance.
    static func traces(_ cells: [(title: String, series: [(label: String, voltage: [Double])])], dtMs: Double, to path: String) throws {
        let columns = 2, rows = (cells.count + 1) / 2
        let figure = Figure(width: 1200, height: 60 + rows * 260)
        var labels: [String] = []
        for label in cells.flatMap({ $0.series.map(\.label) }) where !labels.contains(label) { labels.append(label) }
        var colour: [String: Figure.Color] = [:]
        for (k, label) in labels.filter({ $0 != "recorded" }).enumerated() { colour[label] = Figure.Color.palette[k % Figure.Color.palette.count] }
        colour["recorded"] = .black
        // One legend, above the panels, where it covers no title.
        figure.legend(labels.map { ($0, colour[$0]!) }, x: 70, y: 16)
        for (k, cell) in cells.enumerated() {
            let all = cell.series.flatMap(\.voltage).filter(\.isFinite)
            let duration = Double(cell.series.map(\.voltage.count).max() ?? 1) * dtMs
            let panel = Figure.Panel(x: 70 + Double(k % columns) * 580, y: 40 + Double(k / columns) * 260, width: 500, height: 190,
                                     xRange: 0...duration, yRange: Figure.paddedRange(all.isEmpty ? [-80, 40] : all))
            figure.axes(panel, xLabel: "time (ms)", yLabel: "V (mV)", title: cell.title)
            for series in cell.series {
                let x = (0..<series.voltage.count).map { Double($0) * dtMs }
                figure.line(panel, x: x, y: series.voltage, color: colour[series.label] ?? .gray, width: series.label == "MAP" ? 1.2 : 0.8)
            }
        }
        try figure.write(path, svg: true)
    }

    /// A pair plot of one cell's posterior samples: each parameter's histogram on the diagonal, every pair's samples
    /// below it, on the prior box, with point estimates marked. PNG only (tens of thousands of points).
    static func pairPlot(_ samples: Matrix, names: [String], low: [Double], high: [Double],
                         marks: [(label: String, theta: [Double], color: Figure.Color)], title: String, to path: String) throws {
        let d = names.count, size = 78.0, gap = 6.0, left = 60.0, top = 50.0
        let figure = Figure(width: Int(left + Double(d) * (size + gap) + 40), height: Int(top + Double(d) * (size + gap) + 60))
        figure.text(title, x: left, y: 24, size: 15, bold: true)
        for i in 0..<d {
            for j in 0...i {
                let x = left + Double(j) * (size + gap), y = top + Double(i) * (size + gap)
                if i == j {
                    let bins = 20, width = (high[i] - low[i]) / Double(bins)
                    var counts = [Double](repeating: 0, count: bins)
                    for r in 0..<samples.rows where samples[r, i].isFinite { counts[min(bins - 1, max(0, Int((samples[r, i] - low[i]) / width)))] += 1 }
                    let panel = Figure.Panel(x: x, y: y, width: size, height: size, xRange: low[i]...high[i], yRange: 0...max(1, (counts.max() ?? 1) * 1.1))
                    figure.frame(panel)
                    var xs: [Double] = [], ys: [Double] = []
                    for (k, c) in counts.enumerated() { xs += [low[i] + Double(k) * width, low[i] + Double(k + 1) * width]; ys += [c, c] }
                    figure.line(panel, x: xs, y: ys, color: .blue, width: 1.2)
                    for mark in marks where mark.theta[i].isFinite {
                        figure.line(panel, x: [mark.theta[i], mark.theta[i]], y: [0, panel.yRange.upperBound], color: mark.color, width: 1.5)
                    }
                } else {
                    let panel = Figure.Panel(x: x, y: y, width: size, height: size, xRange: low[j]...high[j], yRange: low[i]...high[i])
                    figure.frame(panel)
                    for r in 0..<samples.rows { figure.markers(panel, x: [samples[r, j]], y: [samples[r, i]], color: Figure.Color(0.45, 0.6, 0.85), radius: 0.7) }
                    for mark in marks { figure.markers(panel, x: [mark.theta[j]], y: [mark.theta[i]], color: mark.color, radius: 3) }
                }
                if i == d - 1 { figure.text(names[j], x: x + size / 2, y: y + size + 16, size: 10, anchor: 0.5) }
                if j == 0 { figure.text(names[i], x: x - 8, y: y + size / 2, size: 10, anchor: 1) }
            }
        }
        figure.legend(marks.map { ($0.label, $0.color) }, x: left + Double(d) * (size + gap) - 200, y: top + 10)
        try figure.writePNG(to: path)
    }

    /// Cross-validated R² against the number of genes selected, one line per (source, rank).
    static func r2AgainstGenes(_ series: [(label: String, genes: [Double], r2: [Double])], to path: String) throws {
        let figure = Figure(width: 720, height: 400)
        let allGenes = series.flatMap(\.genes), allR2 = series.flatMap(\.r2).filter(\.isFinite)
        let panel = Figure.Panel(x: 70, y: 40, width: 560, height: 300, xRange: 0...max(1, (allGenes.max() ?? 1) * 1.05),
                                 yRange: min(0, allR2.min() ?? 0)...max(0.05, (allR2.max() ?? 0.2) * 1.15))
        figure.axes(panel, xLabel: "genes selected (mean over folds)", yLabel: "CV R² (relaxed)", title: "genes → parameters: cross-validated R²")
        for (k, s) in series.enumerated() {
            let order = s.genes.indices.sorted { s.genes[$0] < s.genes[$1] }
            let colour = Figure.Color.palette[k % Figure.Color.palette.count]
            figure.line(panel, x: order.map { s.genes[$0] }, y: order.map { s.r2[$0] }, color: colour, width: 1.5)
            figure.markers(panel, x: s.genes, y: s.r2, color: colour, radius: 3)
        }
        figure.legend(series.enumerated().map { ($0.element.label, Figure.Color.palette[$0.offset % Figure.Color.palette.count]) },
                      x: 500, y: 60, vertical: true)
        try figure.write(path, svg: true)
    }

    /// R² per output (parameter): cross-validated and in-sample, as paired bars.
    static func r2PerOutput(names: [String], cv: [Double], inSample: [Double], to path: String) throws {
        let figure = Figure(width: 820, height: 380)
        let top = max(0.05, ([cv, inSample].flatMap { $0 }.filter(\.isFinite).max() ?? 0.2) * 1.15)
        let panel = Figure.Panel(x: 70, y: 40, width: 700, height: 260, xRange: -0.5...(Double(names.count) - 0.5), yRange: min(0, cv.filter(\.isFinite).min() ?? 0)...top)
        figure.axes(panel, xLabel: "", yLabel: "R²", title: "R² per parameter: cross-validated (blue), in sample (orange)", xTicks: false)
        for (k, name) in names.enumerated() {
            let x = Double(k)
            figure.line(panel, x: [x - 0.15, x - 0.15], y: [0, cv[k]], color: .blue, width: 8)
            figure.line(panel, x: [x + 0.15, x + 0.15], y: [0, inSample[k]], color: .orange, width: 8)
            figure.text(name, x: panel.px(x), y: panel.y + panel.height + 16, size: 10, anchor: 0.5)
        }
        try figure.write(path, svg: true)
    }
}
