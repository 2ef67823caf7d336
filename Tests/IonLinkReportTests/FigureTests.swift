import CCairo
import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkReport
import IonLinkTestSupport
import Testing

@Suite struct FigureTests {
    @Test("1-2-5 ticks cover the range")
    func ticks() {
        #expect(Figure.ticks(0...10) == [0, 2, 4, 6, 8, 10])
        #expect(Figure.ticks(-87...42) == [-80, -60, -40, -20, 0, 20, 40])
        #expect(Figure.ticks(0.1...0.7).count >= 3)
    }

    @Test("Feature names label panels as plain text: the paper's TeX markup goes, other names stay as they are")
    func plainLabels() {
        #expect(PaperFeatures.names.map(Figure.plainLabel).filter { $0.contains("$") || $0.contains("{") }.isEmpty)
        #expect(Figure.plainLabel("rest $V_{m}$ mean") == "rest Vm mean")
        #expect(Figure.plainLabel("$V_{m}$ skewness") == "Vm skewness")
        #expect(Figure.plainLabel("$g_{Na}$ over $C_{m}$") == "gNa over Cm")
        #expect(Figure.plainLabel("AP count 1st 8th") == "AP count 1st 8th")
        #expect(Figure.plainLabel("a_{b} without math") == "a_{b} without math")
        #expect(Figure.plainLabel("$x_{open") == "x_{open")
    }

    @Test("A sweep figure of a real recording is a PNG of the expected size")
    func sweepFigure() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = Golden.repository + "/data/recordings/bluepyefe/B95_IDRest.csv"
        let analyses = try Recording.read(file).sweeps.flatMap { SweepAnalysis.analyse($0, file: file) }
        try SweepFigure.write(analyses, title: "B95", to: folder + "/b95.png")
        let data = try #require(FileManager.default.contents(atPath: folder + "/b95.png"))
        #expect(data.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // IHDR width and height (big-endian) at bytes 16…23.
        let width = data[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = data[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 530 && height == 350)
        #expect(data.count > 10_000)
    }
}

@Suite struct PipelineReportTests {
    /// A small finished run: 6 cells in two families, 3 parameters, 2 features.
    static func makeRun(_ folder: String) throws {
        let fm = FileManager.default
        for sub in ["fits", "regression", "diagnostics"] { try fm.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true) }
        func write(_ name: String, _ text: String) throws { try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8) }
        try RunRecord(settings: [("seed", "1")], timings: [("prior bank", 12.5), ("posteriors", 0)], parameterNames: ["a", "b", "c"],
                      low: [0, 0, -1], high: [1, 2, 1], dtMs: 0.04).write(to: folder)
        let ids = (1...6).map { "cell_\($0)" }, families = ["Pvalb", "Pvalb", "Pvalb", "Sst", "Sst", "low quality"]
        try write("fits/cells.csv", "cell_id,family,scored,f1,f2\n" + (0..<6).map { "\(ids[$0]),\(families[$0]),\($0 < 5 ? 1 : 0),\($0),\(2 * $0)\n" }.joined())
        try write("fits/map_refined_features.csv", "id,f1,f2\n" + (0..<6).map { "\(ids[$0]),\(Double($0) + 0.3),\(2 * $0 - 1)\n" }.joined())
        for name in ["map.csv", "map_refined.csv"] {
            try write("fits/" + name, "id,a,b,c\n" + (0..<6).map { "\(ids[$0]),0.\($0),1.\($0),-0.\($0)\n" }.joined())
        }
        for name in ["map_check.csv", "map_refined_check.csv", "best_fit_check.csv"] {
            try write("fits/" + name, "cell_id,family,scored,distance,failed\n"
                      + (0..<6).map { "\(ids[$0]),\(families[$0]),\($0 < 5 ? 1 : 0),\($0 == 2 ? "NaN" : "\(1.5 + Double($0))"),\($0 == 2 ? 1 : 0)\n" }.joined())
        }
        try write("fits/fit_summary.csv", "estimate,family,cells,failed,failed_percent,distance_mean,distance_sd,distance_median\n"
                  + "map,all,5,1,20.00,3.50,1.00,3.25\nmap,Pvalb,3,1,33.33,2.00,0.50,2.00\nmap_refined,all,5,1,20.00,3.40,1.00,3.20\nbest_fit,all,5,0,0.00,2.10,0.50,2.00\n")
        try write("fits/predictive.csv", "cell_id,family,flagged_outside_model\ncell_1,Pvalb,0\ncell_7,Sst,1\n")
        try write("model_training.csv", "epoch,train_log_prob,validation_log_prob\n1,-5,-5.5\n2,-4,-4.6\n3,-3.5,-4.2\n")
        try write("diagnostics/sbc_ranks.csv", "case,a,b,c\n" + (0..<40).map { "\($0),\($0 * 2),\(80 - $0),\(($0 * 37) % 80)\n" }.joined())
        try write("diagnostics/coverage.csv", "level,coverage\n" + (1...19).map { "\(Double($0) / 20),\(Double($0) / 21)\n" }.joined())
        try write("diagnostics/calibration.csv", "quantity,parameter,value\nsbc_p_value,a,0.5\nsbc_p_value,b,0.2\nsbc_p_value,c,0.004\n"
                  + "heldout_log_prob,,-7.25\ncases,,40\nsamples_per_case,,80\n")
        try write("fits/example_traces.csv", "cell_id,family,series\ncell_1,Pvalb,MAP\ncell_1,Pvalb,best fit\ncell_4,Sst,MAP\n")
        let voltage: [Double] = (0..<300).map { k in -70 + 60 * sin(Double(k) / 5) }
        try NPYWriter.write(voltage, shape: [3, 100], element: .float32, to: folder + "/fits/example_traces.npy")
        try write("regression/cv_summary.csv", "rank,lambda,mean_n_genes,r2_test_relaxed_mean,r2_test_relaxed_sd\n2,0.2,15.0,0.1701,0.014\n")
        try write("regression/genes.csv", "gene,w1,w2\nPvalb,0.5,0\nKcnc1,0,0\nSst,0,-0.2\n")
        try write("fits/best_fit.csv", "id,a,b,c\n" + (0..<6).map { "\(ids[$0]),0.5,1.0,0.0\n" }.joined())
        var generator = Xoshiro256(seed: 1)
        let samples: [Double] = (0..<6 * 50 * 3).map { k in [0.0, 0.0, -1.0][k % 3] + [1.0, 2.0, 2.0][k % 3] * generator.nextUniform() }
        try NPYWriter.write(samples, shape: [6, 50, 3], element: .float32, to: folder + "/fits/samples.npy")
    }

    @Test("The report, rebuilt from a run's tables: every section, the summary beside the paper, every image and link resolves")
    func report() throws {
        let folder = NSTemporaryDirectory() + "ionlink-report-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.makeRun(folder)
        try PipelineReport(folder: folder).write()
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        for section in ["summary", "settings", "fits", "predictive", "posteriors", "estimator", "calibration", "genes", "provenance"] {
            #expect(html.contains("id=\"\(section)\""), "section \(section) missing")
        }
        #expect(html.contains("6 observed, 6 with a posterior, 5 scored") && html.contains("2 genes selected, CV R² 0.170 ± 0.014"))
        #expect(html.contains("20.00% failed, distance 3.50 ± 1.00 (median 3.25)") && html.contains("2.51% failed"))
        #expect(html.contains("cell_7 (Sst)") && html.contains("<td>33.33</td>") && html.contains("12.5") && html.contains("reused"))
        // Every image is a PNG in the folder; every relative link resolves.
        func targets(_ attribute: String) -> [String] {
            html.components(separatedBy: attribute + "=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        }
        let images = targets("src"), links = targets("href")
        #expect(images.count >= 7, "\(images)")
        for image in images {
            let data = try #require(FileManager.default.contents(atPath: folder + "/" + image), "\(image) missing")
            #expect(data.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(image) is not a PNG")
        }
        for link in links { #expect(FileManager.default.fileExists(atPath: folder + "/" + link), "link \(link) does not resolve") }
        // Pair plots of the example cells, SVG beside the light figures, and the one-file version.
        #expect(images.contains("pairs_cell_1.png") && images.contains("pairs_cell_4.png") && images.contains("calibration.png"), "\(images)")
        #expect(html.contains("Held-out log q(θ | x): -7.250") && html.contains("0.48, 0.76, 0.90") && html.contains("<td>0.004</td>"))
        #expect(html.contains("50/80/95% regions hold the truth in 0.48/0.76/0.90"))
        #expect(links.contains("parameters_by_family.svg") && links.contains("features_observed_simulated.svg"))
        let svg = try String(contentsOfFile: folder + "/training_curve.svg", encoding: .utf8)
        #expect(svg.contains("<svg"))
        try PipelineReport(folder: folder).writeInline()
        let inline = try String(contentsOfFile: folder + "/report_inline.html", encoding: .utf8)
        #expect(!inline.contains("src=\"pairs_cell_1.png\"") && inline.contains("src=\"data:image/png;base64,iVBORw0KGgo"))
        #expect { try PipelineReport(folder: folder + "/nothing") } throws: { "\($0)".contains("run.json") }
    }

    /// The fraction of a PNG's pixels that are not (near) white, decoded with cairo; nil if it cannot be read.
    static func inkedFraction(ofPNG path: String) -> Double? {
        guard let image = cairo_image_surface_create_from_png(path), cairo_surface_status(image) == CAIRO_STATUS_SUCCESS else { return nil }
        defer { cairo_surface_destroy(image) }
        let width = Int(cairo_image_surface_get_width(image)), height = Int(cairo_image_surface_get_height(image))
        let stride = Int(cairo_image_surface_get_stride(image))
        guard let data = cairo_image_surface_get_data(image), width > 0, height > 0 else { return nil }
        var inked = 0
        for y in 0..<height {
            for x in 0..<width {
                let pixel = data.advanced(by: y * stride + 4 * x)   // B, G, R, A (little-endian ARGB32)
                if pixel[0] < 235 || pixel[1] < 235 || pixel[2] < 235 { inked += 1 }
            }
        }
        return Double(inked) / Double(width * height)
    }

    @Test("The paper's family means of the z-scored MAPs stand beside the run's, computed over the scored cells")
    func familyMeans() throws {
        let folder = NSTemporaryDirectory() + "ionlink-report-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.makeRun(folder)
        // The paper's MAP table with two of its parameters; families of four of the paper's groups (IT is Pyr).
        try "id,r_SS,C\ncell_1,0.2,1\ncell_2,0.4,1\ncell_3,1.0,2\ncell_4,0.6,2\ncell_5,2.0,3\ncell_6,9,9\n"
            .write(toFile: folder + "/fits/map.csv", atomically: true, encoding: .utf8)
        try ("cell_id,family,scored,f1,f2\n" + zip(1...6, ["Pvalb", "Pvalb", "Lamp5", "Sst", "IT", "low quality"])
            .map { "cell_\($0),\($1),\($0 < 6 ? 1 : 0),\($0),\(2 * $0)\n" }.joined())
            .write(toFile: folder + "/fits/cells.csv", atomically: true, encoding: .utf8)
        try PipelineReport(folder: folder).write()
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        // r_SS over the five scored cells: mean 0.84, SD 0.6375; Pvalb (0.3) → −0.85, Pyr (IT, 2.0) → +1.82; no Sncg or Vip cell.
        #expect(html.contains("Family means of the z-scored MAPs"))
        #expect(html.contains("<td>-0.85 / -0.70</td>") && html.contains("<td>+1.82 / +1.18</td>") && html.contains("<td>– / -0.26</td>"), "\(html)")
    }

    /// Debian's headless Chromium, where installed (`scripts/install-deps.sh --tests`).
    static let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs Chromium headless with `arguments` and a profile folder of its own, removed afterwards; returns its
    /// standard output.
    static func runChromium(_ arguments: [String]) throws -> String {
        let profile = NSTemporaryDirectory() + "ionlink-chromium-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium!)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                             "--user-data-dir=" + profile] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("In headless Chromium the report loads every image, has every section, and its screenshot is not blank",
          .enabled(if: chromium != nil, "needs Debian's chromium (scripts/install-deps.sh --tests)"))
    func inBrowser() throws {
        let folder = NSTemporaryDirectory() + "ionlink-browser-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.makeRun(folder)
        try PipelineReport(folder: folder).write()
        // A page beside the report loads it in a frame and writes what the browser made of it into its own DOM (the
        // markers are split in the script so that only the written result contains them whole).
        try """
        <!doctype html><html><body><iframe id="report" src="report.html" style="width:1366px;height:900px"></iframe><script>
        document.getElementById("report").onload = function () {
          const page = this.contentDocument, images = Array.from(page.images);
          const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
          const sections = Array.from(page.querySelectorAll("h2[id], h3[id]")).map(h => h.id);
          const out = document.createElement("pre");
          out.textContent = "RES" + "ULT images=" + images.length + " broken=" + broken.join("|") + " sections=" + sections.join("|") + " EN" + "D";
          document.body.appendChild(out);
        };
        </script></body></html>
        """.write(toFile: folder + "/check.html", atomically: true, encoding: .utf8)
        let dom = try Self.runChromium(["--allow-file-access-from-files", "--virtual-time-budget=15000", "--dump-dom", "file://" + folder + "/check.html"])
        let result = try #require(dom.components(separatedBy: "RESULT ").dropFirst().first?.components(separatedBy: " END").first, "\(dom.suffix(500))")
        let fields = Dictionary(uniqueKeysWithValues: result.split(separator: " ").compactMap { field -> (String, String)? in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        })
        #expect((Int(fields["images"] ?? "") ?? 0) >= 8, "\(result)")
        #expect(fields["broken"] == "", "images the browser could not load: \(fields["broken"] ?? "?")")
        let sections = Set((fields["sections"] ?? "").split(separator: "|").map(String.init))
        for section in ["summary", "settings", "fits", "predictive", "posteriors", "estimator", "calibration", "genes", "provenance"] {
            #expect(sections.contains(section), "section \(section) missing in the browser")
        }
        // A laptop-sized screenshot that shows something: many pixels are neither white nor one flat colour.
        _ = try Self.runChromium(["--window-size=1366,900", "--screenshot=" + folder + "/screen.png", "file://" + folder + "/report.html"])
        let png = try #require(FileManager.default.contents(atPath: folder + "/screen.png"), "no screenshot")
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 1366 && height == 900)
        let inked = try #require(Self.inkedFraction(ofPNG: folder + "/screen.png"))
        #expect(inked > 0.02 && inked < 0.9, "fraction of non-white pixels \(inked)")
    }
}
