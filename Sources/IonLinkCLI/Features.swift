import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkReport

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract electrophysiological features from recordings or from a matrix of traces.",
        discussion: """
        Recordings (NWB 2.x, Axon ABF1/ABF2, CSV, NPY): one row of per-cell features per file — rheobase, \
        f–I slope, input resistance, membrane time constant, sag, adaptation, first-spike shape — and the \
        paper's 23 features from the step closest to --target-pa.
          ionlink features cell1.nwb cell2.abf --out cells.csv --sweep-table sweeps.csv --ljp-mv 15.4

        A trace matrix (NPY [rows, samples], mV): the 23 paper features of every row, row order kept.
          ionlink features --traces T.npy --dt-ms 0.04 --current-pa 300 --step-start-ms 100 --step-end-ms 700 --out OUT.csv

        CSV recordings: a time column (t_s or t_ms) or --dt-ms; voltage columns V… (mV); current columns I… \
        (pA). NPY recordings: voltages [sweeps, samples] with --dt-ms. Step windows come from the file's \
        current, a sidecar JSON (NAME.json: dt_s, sweeps[].step_on_s/step_off_s/step_amplitude_pA), or \
        --step-start-ms/--step-end-ms. Feature definitions: docs/reference/features.md.
        """
    )

    @Argument(help: ArgumentHelp("Recordings: .nwb, .abf, .csv or .npy files.", valueName: "FILE"))
    var files: [String] = []

    @Flag(help: "Print the catalogue of the 23 features (name, definition, unit, spikes needed) as a Markdown table and exit.")
    var catalogue = false

    @Option(help: ArgumentHelp("A trace matrix (NPY [rows, samples], mV) instead of recordings.", valueName: "T.npy"))
    var traces: String?

    @Option(name: .customLong("out"), help: ArgumentHelp("Output CSV: per-cell features (recordings) or id + the 23 features (--traces).", valueName: "OUT.csv"))
    var outPath: String?

    /// The output file (validated to be given unless --catalogue).
    var out: String { outPath ?? "" }

    @Option(help: ArgumentHelp("Also write one row per sweep and step window here.", valueName: "SWEEPS.csv"))
    var sweepTable: String?

    @Option(help: ArgumentHelp("Also draw each recording's sweeps with the detected spikes marked, one PNG per file, into this folder.", valueName: "DIR"))
    var plots: String?

    @Option(help: "Liquid-junction potential subtracted from recorded voltages, mV (the paper: 15.4 for M1, 14 for V1).")
    var ljpMv: Double = 0

    @Option(help: "The paper's 23 features come from the step closest to this current, pA.")
    var targetPa: Double = 300

    @Option(help: "Sampling interval for files without a time axis, and for --traces, ms.")
    var dtMs: Double?

    @Option(help: "Step onset, ms (when the file does not say).")
    var stepStartMs: Double?

    @Option(help: "Step end, ms (when the file does not say).")
    var stepEndMs: Double?

    @Option(help: "With --traces: the step amplitude, pA (recorded in the output; the features do not depend on it).")
    var currentPa: Double?

    @Option(help: ArgumentHelp("""
        How NWB values become mV and pA: auto (the unit attribute, unless the values contradict it, e.g. −65 under \
        "volts" as in DANDI 000008; said once per file), stored (the values are mV and pA, as hh_sbi reads them), \
        si (the unit attribute strictly).
        """, valueName: "auto|stored|si"))
    var nwbUnits: NWBUnits = .auto

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if catalogue { return }
        guard outPath != nil else { throw ValidationError("Missing expected argument '--out <OUT.csv>'") }
        if traces != nil {
            guard files.isEmpty else { throw ValidationError("Give recordings or --traces, not both.") }
            guard dtMs != nil, stepStartMs != nil, stepEndMs != nil else {
                throw ValidationError("--traces needs --dt-ms, --step-start-ms and --step-end-ms.")
            }
        } else if files.isEmpty {
            throw ValidationError("Give one or more recordings, or --traces T.npy.")
        }
        if let dtMs, !(dtMs > 0) { throw ValidationError("--dt-ms must be positive.") }
        if let start = stepStartMs, let end = stepEndMs, !(end > start) { throw ValidationError("--step-end-ms must be after --step-start-ms.") }
    }

    func run() throws {
        if catalogue {
            print(PaperFeatures.markdownTable, terminator: "")
            return
        }
        if let traces {
            try runTraces(traces)
        } else {
            try runRecordings()
        }
    }

    private func runTraces(_ path: String) throws {
        let array = try NPYArray.read(path)
        guard array.shape.count == 2 else { throw InputError(file: path, "expected a matrix [rows, samples], found shape \(array.shape)") }
        let extractor = FeatureExtractor(dtMs: dtMs!, startMs: stepStartMs!, endMs: stepEndMs!)
        let rows = array.shape[0]
        let values = extractor.features(ofRows: array.values, rows: rows, threads: compute.threads)
        try FeatureTable(ids: (0..<rows).map(String.init), values: values).write(to: out)
        if !compute.quiet {
            let defined = (0..<rows).filter { r in (0..<PaperFeatures.count).allSatisfy { values[r * PaperFeatures.count + $0].isFinite } }.count
            print("wrote the 23 features of \(rows) traces to \(out) (\(defined) with all 23 defined)")
        }
    }

    private func runRecordings() throws {
        let hints = Recording.Hints(dtMs: dtMs, stepStartMs: stepStartMs, stepEndMs: stepEndMs, nwbUnits: nwbUnits)
        var cells: [[String]] = []
        var sweepRows: [[String]] = []
        var unreadable: [String] = []
        let progress = ProgressReporter("features", total: files.count, unit: "files", enabled: !compute.quiet)
        for file in files {
            let recording: Recording
            do { recording = try Recording.read(file, hints: hints) } catch {
                // One bad file does not end the run: it is reported and left out.
                guard files.count > 1 else { throw error }
                FileHandle.standardError.write(Data("skipped: \(error)\n".utf8))
                unreadable.append(file)
                progress.advance(by: 1)
                continue
            }
            for note in recording.notes { FileHandle.standardError.write(Data("\(file): \(note)\n".utf8)) }
            let analyses = recording.sweeps.flatMap { SweepAnalysis.analyse($0, file: file, ljpMV: ljpMv) }
            sweepRows += analyses.map(\.row)
            if let plots {
                try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
                let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
                try SweepFigure.write(analyses, title: "\(name) — \(recording.sweeps.count) sweeps", to: plots + "/" + name + ".png")
            }
            cells.append(CellFeatures.compute(file: file, analyses: analyses, targetPA: targetPa).row)
            progress.advance(by: 1)
        }
        progress.finish()
        guard !cells.isEmpty else { throw ValidationError("none of the \(files.count) recordings could be read (see above)") }
        try AtomicFile.write(Data(CSVTable.format(header: CellFeatures.columns, rows: cells).utf8), to: out)
        if let sweepTable {
            try AtomicFile.write(Data(CSVTable.format(header: SweepAnalysis.columns, rows: sweepRows).utf8), to: sweepTable)
        }
        if !compute.quiet {
            print("wrote features of \(cells.count) cell(s) to \(out)" + (sweepTable.map { " and \(sweepRows.count) sweep rows to \($0)" } ?? "")
                  + (unreadable.isEmpty ? "" : "; \(unreadable.count) unreadable file(s) left out: " + unreadable.joined(separator: ", ")))
        }
    }
}

extension NWBUnits: ExpressibleByArgument {}
