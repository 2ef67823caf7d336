import Foundation
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
    @Test("The pipeline report shows the fit table, flagged cells, the CV table and links, and draws both distance histograms")
    func report() throws {
        let folder = NSTemporaryDirectory() + "ionlink-report-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder + "/regression", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "rank,lambda,mean_n_genes,r2_test_relaxed_mean,r2_test_relaxed_sd\n2,0.2,15.0,0.1701,0.014\n".write(
            toFile: folder + "/regression/cv_summary.csv", atomically: true, encoding: .utf8)
        let table = [["estimate", "family", "failed_percent"], ["map", "all", "25.00"], ["best_fit", "Pvalb", "0.00"]]
        try PipelineReport(folder: folder, settings: [("seed", "1")], fitTable: table, mapDistances: [1, 3, 5], bestFitDistances: [1, 2],
                           scoredCells: 4, flaggedCells: ["cell_7"], timings: [("prior bank", 12.5)]).write()
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        #expect(html.contains("<td>25.00</td>") && html.contains("<td>Pvalb</td>") && html.contains("<td>0.170</td>"))
        #expect(html.contains("cell_7") && html.contains("fits/best_fit_check.csv") && html.contains("12.5"))
        #expect(FileManager.default.fileExists(atPath: folder + "/map_distance.png"))
        #expect(FileManager.default.fileExists(atPath: folder + "/best_fit_distance.png"))
    }
}
