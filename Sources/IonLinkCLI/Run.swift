import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference
import IonLinkReport

/// The whole pipeline on the shipped data, as one command that writes a report.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the whole pipeline on the shipped data and write an HTML report.",
        discussion: """
        Steps (each writes its own tables under --out; rerunning resumes: the bank continues where it stopped, \
        and steps whose outputs exist are reused — delete a step's output to redo it):
          1. a prior simulation bank of the paper's M1 model with its 23 features (bank/)
          2. the 23-feature measurements of the shipped recordings, with figures (recordings/)
          3. NPE-N: a MAF trained on the simulations nearest the 1033 observed M1 cells, plus feature noise (model.json)
          4. posterior samples, MAPs and means of every cell (fits/)
          5. the paper's MAP check: the MAPs re-simulated and compared with the observed features (fits/map_check.csv)
          6. ion-channel genes → the fitted MAP parameters by sparse reduced-rank regression (regression/)
        and report.html, which links every table and shows the figures.

          ionlink run --out results/                 # about 5 minutes on 2 cores with the defaults
          ionlink run --out results/ --simulations 1000000 --neighbours 1000 --samples 10000   # closer to the paper
        """
    )

    @Option(help: ArgumentHelp("Output folder.", valueName: "DIR")) var out = "results"
    @Option(help: ArgumentHelp("The shipped data folder (m1/ and recordings/ from the repository).", valueName: "DIR")) var data = "data"
    @Option(help: "Prior simulations in the bank (the paper: 15 000 000).") var simulations = 200_000
    @Option(help: "NPE-N: nearest simulations per observed cell (the paper: 1000).") var neighbours = 100
    @Option(help: "Posterior samples per cell (the MAP is the best of them).") var samples = 1000
    @Option(help: "Seed of the bank, training and sampling.") var seed: UInt64 = 1
    @Option(help: "Stop training after this many epochs in any case (for quick trials).") var maxEpochs = 100_000
    @Option(help: "Use only the first N observed cells (for quick trials; default: all).") var cells: Int?
    @Option(help: "Worker threads.") var threads: Int = availableCores
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard simulations >= 1000, neighbours >= 1, samples >= 1, threads >= 1, maxEpochs >= 1, (cells ?? 20) >= 20 else {
            throw ValidationError("--simulations ≥ 1000, --cells ≥ 20, --neighbours, --samples, --max-epochs and --threads ≥ 1.")
        }
    }

    mutating func run() throws {
        var observed = data + "/m1/M1_features_X_o.csv.gz"
        let counts = data + "/m1/gene_counts.csv.gz"
        let metadata = data + "/m1/m1_patchseq_meta_data.tsv.gz"
        let recordingsFolder = data + "/recordings/bluepyefe"
        for file in [observed, counts, metadata] where !FileManager.default.fileExists(atPath: file) {
            throw InputError(file: file, "not found: --data must be the repository's data/ folder (m1/ and recordings/)")
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        if let cells {
            let table = try CSVTable.read(observed)
            observed = out + "/observed_cells.csv"
            try AtomicFile.write(Data(CSVTable.format(header: table.header, rows: Array(table.rows.prefix(cells))).utf8), to: observed)
        }
        let common = quiet ? ["--quiet"] : []
        var timings: [(String, Double)] = []
        func step(_ name: String, output: String, _ body: () throws -> Void) throws {
            if FileManager.default.fileExists(atPath: output) {
                if !quiet { print("== \(name): reusing \(output)") }
                timings.append((name, 0))
                return
            }
            if !quiet { print("== \(name)") }
            let start = Date()
            try body()
            timings.append((name, Date().timeIntervalSince(start)))
        }
        let bank = out + "/bank", model = out + "/model.json", fits = out + "/fits"
        // The bank resumes by itself, so it always runs.
        if !quiet { print("== prior bank") }
        let bankStart = Date()
        var simulate = try Simulate.parse(["--count", "\(simulations)", "--seed", "\(seed)", "--out", bank, "--threads", "\(threads)"] + common)
        try simulate.run()
        timings.append(("prior bank", Date().timeIntervalSince(bankStart)))

        let recordings = (try? FileManager.default.contentsOfDirectory(atPath: recordingsFolder))?.filter { $0.hasSuffix(".csv") }.sorted() ?? []
        if !recordings.isEmpty {
            try step("features of the shipped recordings", output: out + "/recordings/cells.csv") {
                try FileManager.default.createDirectory(atPath: out + "/recordings", withIntermediateDirectories: true)
                var features = try Features.parse(recordings.map { recordingsFolder + "/" + $0 }
                    + ["--out", out + "/recordings/cells.csv", "--sweep-table", out + "/recordings/sweeps.csv", "--plots", out + "/recordings/plots",
                       "--threads", "\(threads)"] + common)
                try features.run()
            }
        }
        try step("NPE-N training", output: model) {
            var train = try Train.parse(["--bank", bank, "--observed", observed, "--neighbours", "\(neighbours)", "--seed", "\(seed)", "--out", model,
                                     "--max-epochs", "\(maxEpochs)"] + common)
            try train.run()
        }
        try step("posteriors of the observed cells", output: fits + "/map.csv") {
            var infer = try Infer.parse(["--model", model, "--observed", observed, "--out", fits, "--samples", "\(samples)", "--seed", "\(seed)",
                                         "--threads", "\(threads)"] + common)
            try infer.run()
        }
        try step("MAP re-simulation", output: fits + "/map_features.csv") {
            var simulate = try Simulate.parse(["--params", fits + "/map.csv", "--features", fits + "/map_features.csv", "--seed", "\(seed)",
                                               "--threads", "\(threads)"] + common)
            try simulate.run()
        }
        let check = try mapCheck(observed: observed, simulated: fits + "/map_features.csv", to: fits + "/map_check.csv")
        try step("genes → parameters (sRRR)", output: out + "/regression/cv_summary.csv") {
            var regress = try Regress.parse(["--counts", counts, "--params", fits + "/map.csv", "--metadata", metadata, "--out", out + "/regression",
                                             "--threads", "\(threads)"] + common)
            try regress.run()
        }
        let plots = ((try? FileManager.default.contentsOfDirectory(atPath: out + "/recordings/plots")) ?? []).filter { $0.hasSuffix(".png") }.sorted()
        let settings = [("model", "M1 (configs/m1.json)"), ("prior simulations", "\(simulations)"), ("NPE-N neighbours per cell", "\(neighbours)"),
                        ("feature noise eps", "0.1 (paper convention)"), ("posterior samples per cell", "\(samples)"), ("seed", "\(seed)"),
                        ("observed cells", observed), ("gene counts", counts)]
        try PipelineReport(folder: out, settings: settings, distances: check.distances, failedFraction: check.failedFraction,
                           recordingPlots: plots, timings: timings).write()
        print("report: \(out)/report.html")
    }

    /// Scores the re-simulated MAP features against the observed ones; writes one row per cell.
    private func mapCheck(observed: String, simulated: String, to path: String) throws -> MAPCheck {
        let o = try CSVTable.read(observed), s = try CSVTable.read(simulated)
        let rowOf = Dictionary(s.rows.enumerated().map { ($1[0], $0) }, uniquingKeysWith: { first, _ in first })
        // The simulated table's features, found by name among the observed table's columns (which may hold more).
        let names = Array(s.header.dropFirst()), features = names.count
        let columns = try names.map { name in
            guard let j = o.header.firstIndex(of: name) else { throw InputError(file: observed, location: "header", "no column \(name)") }
            return j
        }
        var observedValues: [Double] = [], simulatedValues: [Double] = [], ids: [String] = []
        for row in o.rows {
            guard let k = rowOf[row[0]] else { throw InputError(file: simulated, "no re-simulated features for cell \(row[0])") }
            ids.append(row[0])
            observedValues += columns.map { Double(row[$0]) ?? .nan }
            simulatedValues += s.rows[k][1...].map { Double($0) ?? .nan }
        }
        let check = MAPCheck(observed: Matrix(rows: ids.count, columns: features, values: observedValues),
                             simulated: Matrix(rows: ids.count, columns: features, values: simulatedValues))
        let rows = zip(ids, check.distances).map { id, d in [id, d.map(CSVTable.formatNumber) ?? "", d == nil ? "1" : "0"] }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "distance", "failed_or_incomplete"], rows: rows).utf8), to: path)
        return check
    }
}
