import ArgumentParser
import IonLinkReport

/// Rebuilds a finished run's report from its tables.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the HTML report of a finished `ionlink run` from its tables, without recomputing anything.",
        discussion: """
          ionlink report results/

        Reads DIR/run.json (settings, stage times, the prior box) and the tables under DIR/fits and DIR/regression, \
        redraws every figure and writes DIR/report.html.
        """
    )

    @Argument(help: ArgumentHelp("The folder of a finished run.", valueName: "DIR")) var folder: String

    func run() throws {
        try PipelineReport(folder: folder).write()
        print("report: \(folder)/report.html")
    }
}
