import CCairo
import Foundation
import IonLinkCore

/// A figure of one or more panels drawn with cairo (onto a recording surface) and written as PNG and, if asked, SVG.
public final class Figure {
    public let width: Int
    public let height: Int
    let surface: OpaquePointer
    let context: OpaquePointer

    /// A colour as red, green, blue in 0…1.
    public struct Color: Sendable {
        public var r, g, b: Double
        public init(_ r: Double, _ g: Double, _ b: Double) { self.r = r; self.g = g; self.b = b }
        public static let black = Color(0, 0, 0)
        public static let gray = Color(0.55, 0.55, 0.55)
        public static let blue = Color(0.12, 0.47, 0.71)
        public static let orange = Color(1.0, 0.5, 0.05)
        public static let green = Color(0.17, 0.63, 0.17)
        public static let red = Color(0.84, 0.15, 0.16)
        public static let purple = Color(0.58, 0.40, 0.74)
        /// A qualitative palette for series.
        public static let palette = [blue, orange, green, red, purple, Color(0.55, 0.34, 0.29), Color(0.89, 0.47, 0.76), gray,
                                     Color(0.74, 0.74, 0.13), Color(0.09, 0.75, 0.81), Color(0.2, 0.2, 0.5), Color(0.5, 0.8, 0.4)]
    }

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        var extents = cairo_rectangle_t(x: 0, y: 0, width: Double(width), height: Double(height))
        surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents)
        context = cairo_create(surface)
        cairo_set_source_rgb(context, 1, 1, 1)
        cairo_paint(context)
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    /// Writes the figure as PNG (atomically).
    public func writePNG(to path: String) throws {
        cairo_surface_flush(surface)
        guard let image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)) else {
            throw InputError(file: path, "cannot create a \(width) × \(height) image")
        }
        defer { cairo_surface_destroy(image) }
        replay(onto: image)
        try AtomicFile.write(to: path) { temporary in
            guard cairo_surface_write_to_png(image, temporary) == CAIRO_STATUS_SUCCESS else {
                throw InputError(file: path, "cannot write the PNG")
            }
        }
    }

    /// Writes the figure as SVG (atomically): vector graphics for papers.
    public func writeSVG(to path: String) throws {
        cairo_surface_flush(surface)
        try AtomicFile.write(to: path) { temporary in
            guard let svg = cairo_svg_surface_create(temporary, Double(width), Double(height)) else {
                throw InputError(file: path, "cannot create the SVG")
            }
            replay(onto: svg)
            cairo_surface_finish(svg)
            let status = cairo_surface_status(svg)
            cairo_surface_destroy(svg)
            guard status == CAIRO_STATUS_SUCCESS else { throw InputError(file: path, "cannot write the SVG") }
        }
    }

    /// Writes `NAME.png` and, with `svg`, `NAME.svg` beside it, from a path ending in `.png`.
    public func write(_ pngPath: String, svg: Bool) throws {
        try writePNG(to: pngPath)
        if svg { try writeSVG(to: String(pngPath.dropLast(4)) + ".svg") }
    }

    /// Draws what was recorded onto `target`.
    private func replay(onto target: OpaquePointer) {
        let cr = cairo_create(target)
        cairo_set_source_surface(cr, surface, 0, 0)
        cairo_paint(cr)
        cairo_destroy(cr)
    }

    /// A column name as plain text for a label: inline TeX math loses its dollar signs and subscript braces, as the
    /// paper's feature names have them ("rest $V_{m}$ mean" → "rest Vm mean"); other text is left as it is.
    public static func plainLabel(_ name: String) -> String {
        guard name.contains("$") else { return name }
        var label = name.replacingOccurrences(of: "$", with: "")
        while let open = label.range(of: "_{"), let close = label[open.upperBound...].firstIndex(of: "}") {
            label = String(label[..<open.lowerBound] + label[open.upperBound..<close] + label[label.index(after: close)...])
        }
        return label
    }

    /// Draws `text` with its left baseline at (x, y); `anchor` 0 = left, 0.5 = centre, 1 = right.
    public func text(_ text: String, x: Double, y: Double, size: Double = 12, anchor: Double = 0, color: Color = .black,
                     bold: Bool = false, rotated: Bool = false) {
        cairo_save(context)
        cairo_select_font_face(context, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        cairo_set_source_rgb(context, color.r, color.g, color.b)
        cairo_translate(context, x, y)
        if rotated { cairo_rotate(context, -Double.pi / 2) }
        cairo_move_to(context, -extents.x_advance * anchor, 0)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    /// A rectangle of the figure, in pixels, holding one plot.
    public struct Panel {
        public var x, y, width, height: Double
        public var xRange: ClosedRange<Double>
        public var yRange: ClosedRange<Double>
        public init(x: Double, y: Double, width: Double, height: Double, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>) {
            self.x = x; self.y = y; self.width = width; self.height = height; self.xRange = xRange; self.yRange = yRange
        }
        func px(_ v: Double) -> Double { x + (v - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * width }
        func py(_ v: Double) -> Double { y + height - (v - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound) * height }
    }

    /// Axes with 1-2-5 ticks, labels and a title.
    /// The panel's border, without ticks or labels (small multiples).
    public func frame(_ panel: Panel) {
        cairo_set_source_rgb(context, 0, 0, 0)
        cairo_set_line_width(context, 1)
        cairo_rectangle(context, panel.x, panel.y, panel.width, panel.height)
        cairo_stroke(context)
    }

    /// The panel's frame, ticks and labels; `xTicks: false` for a categorical x axis labelled by the caller.
    public func axes(_ panel: Panel, xLabel: String, yLabel: String, title: String = "", xTicks: Bool = true) {
        frame(panel)
        for tick in xTicks ? Self.ticks(panel.xRange) : [] {
            let px = panel.px(tick)
            cairo_move_to(context, px, panel.y + panel.height)
            cairo_line_to(context, px, panel.y + panel.height + 4)
            cairo_stroke(context)
            text(Self.label(tick), x: px, y: panel.y + panel.height + 16, size: 10, anchor: 0.5)
        }
        for tick in Self.ticks(panel.yRange) {
            let py = panel.py(tick)
            cairo_move_to(context, panel.x - 4, py)
            cairo_line_to(context, panel.x, py)
            cairo_stroke(context)
            text(Self.label(tick), x: panel.x - 6, y: py + 4, size: 10, anchor: 1)
        }
        text(xLabel, x: panel.x + panel.width / 2, y: panel.y + panel.height + 32, size: 11, anchor: 0.5)
        text(yLabel, x: panel.x - 40, y: panel.y + panel.height / 2, size: 11, anchor: 0.5, rotated: true)
        if !title.isEmpty { text(title, x: panel.x, y: panel.y - 6, size: 12, bold: true) }
    }

    /// A polyline of (x, y) points, clipped to the panel; non-finite points break the line.
    public func line(_ panel: Panel, x: [Double], y: [Double], color: Color, width lineWidth: Double = 1) {
        cairo_save(context)
        cairo_rectangle(context, panel.x, panel.y, panel.width, panel.height)
        cairo_clip(context)
        cairo_set_source_rgb(context, color.r, color.g, color.b)
        cairo_set_line_width(context, lineWidth)
        var open = false
        for (a, b) in zip(x, y) {
            guard a.isFinite, b.isFinite else { open = false; continue }
            if open { cairo_line_to(context, panel.px(a), panel.py(b)) } else { cairo_move_to(context, panel.px(a), panel.py(b)); open = true }
        }
        cairo_stroke(context)
        cairo_restore(context)
    }

    /// Circle markers at (x, y).
    public func markers(_ panel: Panel, x: [Double], y: [Double], color: Color, radius: Double = 3) {
        cairo_save(context)
        cairo_rectangle(context, panel.x, panel.y, panel.width, panel.height)
        cairo_clip(context)
        cairo_set_source_rgb(context, color.r, color.g, color.b)
        for (a, b) in zip(x, y) where a.isFinite && b.isFinite {
            cairo_new_sub_path(context)
            cairo_arc(context, panel.px(a), panel.py(b), radius, 0, 2 * Double.pi)
        }
        cairo_fill(context)
        cairo_restore(context)
    }

    /// A legend entry row at (x, y).
    /// A legend of coloured dots and labels from (x, y): in a row, or one entry per line with `vertical`.
    public func legend(_ entries: [(String, Color)], x: Double, y: Double, vertical: Bool = false) {
        var position = x, line = y
        for (label, color) in entries {
            cairo_set_source_rgb(context, color.r, color.g, color.b)
            cairo_arc(context, position + 4, line - 4, 4, 0, 2 * Double.pi)
            cairo_fill(context)
            text(label, x: position + 12, y: line, size: 10)
            if vertical { line += 16 } else { position += 26 + textWidth(label, size: 10) }
        }
    }

    /// The advance width of `text` at `size`, pixels.
    func textWidth(_ text: String, size: Double) -> Double {
        cairo_save(context)
        cairo_set_font_size(context, size)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        cairo_restore(context)
        return extents.x_advance
    }

    /// "Nice" 1-2-5 ticks within `range`.
    public static func ticks(_ range: ClosedRange<Double>, target: Int = 5) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / Double(target)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.min { abs(span / $0 - Double(target)) < abs(span / $1 - Double(target)) }!
        var tick = ceil(range.lowerBound / step) * step
        var result: [Double] = []
        while tick <= range.upperBound + step * 1e-9 { result.append(abs(tick) < step * 1e-9 ? 0 : tick); tick += step }
        return result
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
        return String(format: "%g", value)
    }

    /// A range padded by 5% on each side (a unit range around a constant).
    public static func paddedRange(_ values: [Double]) -> ClosedRange<Double> {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return 0...1 }
        if high - low < 1e-12 { return (low - 1)...(high + 1) }
        let pad = (high - low) * 0.05
        return (low - pad)...(high + pad)
    }
}
