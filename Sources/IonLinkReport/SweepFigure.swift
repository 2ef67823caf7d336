import Foundation
import IonLinkElectrophysiology

/// Figures of recorded sweeps with the detected spikes marked: threshold (green), peak (red), trough
/// (blue), fast trough (purple); the analysed step window is shaded by its limits.
public enum SweepFigure {
    /// Draws up to `maximumPanels` step windows of one recording (evenly chosen if there are more), one panel
    /// each, and writes a PNG.
    public static func write(_ analyses: [SweepAnalysis], title: String, to path: String, maximumPanels: Int = 12) throws {
        let chosen: [SweepAnalysis]
        if analyses.count <= maximumPanels {
            chosen = analyses
        } else {
            chosen = (0..<maximumPanels).map { analyses[$0 * (analyses.count - 1) / (maximumPanels - 1)] }
        }
        let columns = chosen.count > 6 ? 3 : (chosen.count > 1 ? 2 : 1)
        let rows = max(1, (chosen.count + columns - 1) / columns)
        let panelWidth = 420.0, panelHeight = 200.0
        let figure = Figure(width: Int(Double(columns) * (panelWidth + 90) + 20), height: Int(Double(rows) * (panelHeight + 80) + 70))
        figure.text(title, x: 20, y: 24, size: 15, bold: true)
        figure.legend([("threshold", .green), ("peak", .red), ("trough", .blue), ("fast trough", .purple)], x: 20, y: 48)
        for (i, analysis) in chosen.enumerated() {
            let trace = analysis.trace
            let panel = Figure.Panel(
                x: 80 + Double(i % columns) * (panelWidth + 90), y: 80 + Double(i / columns) * (panelHeight + 80),
                width: panelWidth, height: panelHeight, xRange: Figure.paddedRange(trace.time), yRange: Figure.paddedRange(trace.voltage))
            // Min–max decimation to ~4000 points keeps every spike's extremes visible.
            let bin = max(1, trace.count / 2000)
            var indexes: [Int] = []
            for start in Swift.stride(from: 0, to: trace.count, by: bin) {
                let range = start ..< min(trace.count, start + bin)
                let low = range.min { trace.voltage[$0] < trace.voltage[$1] }!, high = range.max { trace.voltage[$0] < trace.voltage[$1] }!
                indexes += low < high ? [low, high] : (low == high ? [low] : [high, low])
            }
            figure.line(panel, x: [analysis.step.start, analysis.step.start], y: [panel.yRange.lowerBound, panel.yRange.upperBound], color: .gray)
            figure.line(panel, x: [analysis.step.end, analysis.step.end], y: [panel.yRange.lowerBound, panel.yRange.upperBound], color: .gray)
            figure.line(panel, x: indexes.map { trace.time[$0] }, y: indexes.map { trace.voltage[$0] }, color: .black, width: 0.8)
            let spikes = analysis.train.spikes
            func mark(_ index: (Spike) -> Int?, _ color: Figure.Color) {
                let points = spikes.compactMap(index)
                figure.markers(panel, x: points.map { trace.time[$0] }, y: points.map { trace.voltage[$0] }, color: color, radius: 2.5)
            }
            mark({ $0.thresholdIndex }, .green)
            mark({ $0.peakIndex }, .red)
            mark({ $0.troughIndex }, .blue)
            mark({ $0.fastTroughIndex }, .purple)
            let label = String(format: "sweep %d · %.0f pA · %d spikes", analysis.sweep, analysis.step.amplitude, spikes.count)
            figure.axes(panel, xLabel: "time (s)", yLabel: "V (mV)", title: label)
        }
        try figure.writePNG(to: path)
    }
}
