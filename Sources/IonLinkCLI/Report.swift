import ArgumentParser
import IonLinkReport

/// Rebuilds a finished run's report from its tables.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the HTML report of a finished `ionlink run` from its tables, without recomputing anything.",
        discussion: """
          ionlink report results/

        Reads DIR/run.json (settings, stage times, the prior box) and the tables under DIR/fits and DIR/regression, \
        redraws every figure (PNG, and SVG where the figure is not a cloud of points) and writes DIR/report.html; with \
        --inline also DIR/report_inline.html, one file with the images inside, to send to a colleague.
        """
    )

    @Argument(help: ArgumentHelp("The folder of a finished run.", valueName: "DIR")) var folder: String
    @Flag(help: "Also write report_inline.html: the report as one file, every image inlined.") var inline = false

    func run() throws {
        let report = try PipelineReport(folder: folder)
        try report.write()
        if inline { try report.writeInline() }
        print("report: \(folder)/report.html" + (inline ? " and \(folder)/report_inline.html" : ""))
    }
}
