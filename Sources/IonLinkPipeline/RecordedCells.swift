import Foundation
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkBiophysics

/// A lab's own cells, from their recordings (NWB, ABF, CSV, NPY): per file the cell id, the sweep at the target
/// current and its 23 features as the paper extracts them from recordings (liquid-junction potential subtracted), or
/// the reason the cell is left out. One unreadable file never ends the extraction: it is left out with its error.
public struct RecordedCells: Sendable {
    /// How the features are taken.
    public struct Settings: Codable, Equatable, Sendable {
        /// Liquid-junction potential subtracted from the recorded voltages, mV (the paper: 15.4 for M1).
        public var ljpMV = 15.4
        /// The features come from the step closest to this current, pA, if within `tolerancePA`.
        public var targetPA = 300.0
        public var tolerancePA = 15.0
        /// Cells with fewer spikes at the target step are left out (the paper's third-spike features need them).
        public var minimumSpikes = 5
        /// How NWB values become mV and pA.
        public var nwbUnits = NWBUnits.auto.rawValue
        /// Which sweep gives the features.
        public var sweep = SweepRule.target
        public init() {}
    }

    /// Which sweep of a cell gives its features.
    public enum SweepRule: String, Codable, Sendable, CaseIterable {
        /// The step nearest `targetPA` (the paper's M1 cells: 300 pA).
        case target
        /// The highest-current long-square step (≥ 0.5 s) that fires (the paper's V1 cells, whose model takes the
        /// current as its 14th parameter).
        case highest
    }

    /// The sweep a cell's features come from: its number, step current and spike count.
    public struct Chosen: Sendable, Equatable {
        public var sweep: Int
        public var currentPA: Double
        public var spikes: Int
    }

    /// A file whose cell is not fitted, and why.
    public struct LeftOut: Sendable, Equatable {
        public var file: String
        public var cellID: String
        public var reason: String
    }

    public var cells: ObservedCells
    /// The file each cell came from (same order as `cells`).
    public var files: [String]
    /// The sweep each cell's features came from (same order).
    public var sweeps: [Chosen]
    public var leftOut: [LeftOut]
    /// What the readers decided for themselves (units, skipped sweeps), prefixed by the file.
    public var notes: [String]

    /// The recordings among `paths`: files as given, folders searched (not recursively) for .nwb and .abf files.
    /// Sorted, without repeats; an error names a path that does not exist or a search that found nothing.
    public static func files(in paths: [String]) throws -> [String] {
        var found: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw InputError(file: path, "recording or folder not found")
            }
            guard isFolder.boolValue else { found.append(path); continue }
            let inside = try FileManager.default.contentsOfDirectory(atPath: path)
                .filter { ["nwb", "abf"].contains(URL(fileURLWithPath: $0).pathExtension.lowercased()) }
                .map { (path as NSString).appendingPathComponent($0) }
            guard !inside.isEmpty else { throw InputError(file: path, "no .nwb or .abf recordings in this folder") }
            found += inside
        }
        return Array(Set(found)).sorted()
    }

    /// The cell id of a recording: its NWB `session_id` when it has one, else the file name without extension.
    /// The recorded voltage of sweep `sweep` of `file` at its step nearest `currentPA` (corrected for the liquid-junction
    /// potential), on the sample grid of `stimulus` with the step onsets aligned: sample k is the recording at
    /// k·dt − (model onset) + (recorded onset), linearly interpolated; NaN where the recording has no sample.
    public static func alignedTrace(file: String, sweep: Int, currentPA: Double, settings: Settings, on stimulus: StimulusProtocol) throws -> [Double] {
        let recording = try Recording.read(file, hints: Recording.Hints(nwbUnits: NWBUnits(rawValue: settings.nwbUnits) ?? .auto))
        let analyses = recording.sweeps.flatMap { SweepAnalysis.analyse($0, file: file, ljpMV: settings.ljpMV) }.filter { $0.sweep == sweep }
        guard let chosen = analyses.min(by: { abs($0.step.amplitude - currentPA) < abs($1.step.amplitude - currentPA) }) else {
            throw InputError(file: file, location: "sweep \(sweep)", "no current step in this sweep any more")
        }
        let modelOnsetMs = stimulus.steps.map(\.fromMs).min() ?? 0
        let time = chosen.trace.time, voltage = chosen.trace.voltage
        guard time.count >= 2 else { return [Double](repeating: .nan, count: stimulus.sampleCount) }
        let recordedDt = (time[time.count - 1] - time[0]) / Double(time.count - 1)
        return (0..<stimulus.sampleCount).map { k in
            let t = (Double(k) * stimulus.dtMs - modelOnsetMs) / 1000 + chosen.step.start   // s, on the recording's clock
            let position = (t - time[0]) / recordedDt
            guard position >= 0, position <= Double(time.count - 1) else { return .nan }
            let i = min(Int(position), time.count - 2), fraction = position - Double(i)
            return voltage[i] + (voltage[i + 1] - voltage[i]) * fraction
        }
    }

    static func cellID(of file: String, recording: Recording?) -> String {
        recording?.sessionID ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
    }

    /// Reads every file (in parallel, `threads` at a time) and takes its cell's features.
    public static func extract(_ files: [String], settings: Settings, threads: Int = availableCores,
                               progress: (@Sendable (Int) -> Void)? = nil) -> RecordedCells {
        enum Outcome: Sendable { case cell(String, [Double], Chosen, [String]), leftOut(String, String, [String]) }
        let slots = SlotBuffer<Outcome?>(count: files.count, repeating: nil)
        let units = NWBUnits(rawValue: settings.nwbUnits) ?? .auto
        parallelFor(files.count, threads: threads) { i in
            let file = files[i]
            defer { progress?(1) }
            let recording: Recording
            do { recording = try Recording.read(file, hints: Recording.Hints(nwbUnits: units)) } catch {
                slots[i] = .leftOut(cellID(of: file, recording: nil), "unreadable: \(error)", [])
                return
            }
            let id = cellID(of: file, recording: recording)
            let notes = recording.notes
            let analyses = recording.sweeps.flatMap { SweepAnalysis.analyse($0, file: file, ljpMV: settings.ljpMV) }
            let steps = Set(analyses.map { Int($0.step.amplitude.rounded()) }).sorted()
            let stepList = steps.isEmpty ? "none" : steps.map { "\($0)" }.joined(separator: ", ")
            let chosen: SweepAnalysis
            switch settings.sweep {
            case .target:
                guard let nearest = analyses.min(by: { abs($0.step.amplitude - settings.targetPA) < abs($1.step.amplitude - settings.targetPA) }),
                      abs(nearest.step.amplitude - settings.targetPA) <= settings.tolerancePA else {
                    slots[i] = .leftOut(id, "no step within \(format(settings.tolerancePA)) pA of \(format(settings.targetPA)) pA (steps: \(stepList))", notes)
                    return
                }
                chosen = nearest
            case .highest:
                // Long squares only (steps of at least 0.5 s): short squares, ramps and pulses of the same file are not the
                // protocol the model simulates.
                let longSquares = analyses.filter { $0.step.amplitude > 0 && $0.step.end - $0.step.start >= 0.5 }
                guard let highest = longSquares.filter({ $0.spikeCount > 0 }).max(by: { $0.step.amplitude < $1.step.amplitude }) else {
                    slots[i] = .leftOut(id, "no long-square step (≥ 0.5 s) that fires (steps: \(stepList))", notes)
                    return
                }
                chosen = highest
            }
            if chosen.spikeCount < settings.minimumSpikes {
                slots[i] = .leftOut(id, "\(chosen.spikeCount) spikes at \(format(chosen.step.amplitude)) pA (fewer than \(settings.minimumSpikes))", notes)
            } else if chosen.train.spikes.contains(where: \.clipped) {
                slots[i] = .leftOut(id, "clipped spikes at \(format(chosen.step.amplitude)) pA", notes)
            } else {
                let features = CellFeatures.compute(file: file, analyses: [chosen], targetPA: chosen.step.amplitude,
                                                    tolerancePA: settings.tolerancePA).paperFeatures
                slots[i] = .cell(id, features, Chosen(sweep: chosen.sweep, currentPA: chosen.step.amplitude, spikes: chosen.spikeCount), notes)
            }
        }
        var ids: [String] = [], kept: [String] = [], values: [Double] = [], leftOut: [LeftOut] = [], notes: [String] = []
        var sweeps: [Chosen] = []
        var seen: [String: String] = [:]
        for (i, outcome) in (0..<files.count).map({ (files[$0], slots[$0]!) }).enumerated() {
            let file = files[i]
            switch outcome.1 {
            case let .leftOut(id, reason, fileNotes):
                leftOut.append(LeftOut(file: file, cellID: id, reason: reason))
                notes += fileNotes.map { "\(file): \($0)" }
            case let .cell(id, features, sweep, fileNotes):
                notes += fileNotes.map { "\(file): \($0)" }
                if let first = seen[id] {
                    leftOut.append(LeftOut(file: file, cellID: id, reason: "the same cell id as \(first)"))
                    continue
                }
                seen[id] = file
                ids.append(id); kept.append(file); values += features; sweeps.append(sweep)
            }
        }
        let cells = ObservedCells(file: "recordings", ids: ids, featureNames: PaperFeatures.names,
                                  features: Matrix(rows: ids.count, columns: PaperFeatures.names.count, values: values))
        return RecordedCells(cells: cells, files: kept, sweeps: sweeps, leftOut: leftOut, notes: notes)
    }

    /// Writes `observed.csv` (id + the 23 features, what `ionlink run` fits), `sweeps.csv` (the sweep and current each
    /// cell's features come from) and `left_out.csv` (file, id, reason).
    public func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FeatureTable(ids: cells.ids, values: cells.features.values).write(to: folder + "/observed.csv")
        let rows = leftOut.map { [$0.file, $0.cellID, $0.reason] }
        try AtomicFile.write(Data(CSVTable.format(header: ["file", "cell_id", "reason"], rows: rows).utf8), to: folder + "/left_out.csv")
        let chosen = cells.ids.indices.map { [cells.ids[$0], files[$0], "\(sweeps[$0].sweep)", CSVTable.formatNumber(sweeps[$0].currentPA), "\(sweeps[$0].spikes)"] }
        try AtomicFile.write(Data(CSVTable.format(header: ["cell_id", "file", "sweep", "current_pa", "spike_count"], rows: chosen).utf8),
                             to: folder + "/sweeps.csv")
    }

    private static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%.1f", x) }
}

extension RunInputs {
    /// The inputs of a run on a lab's own recordings: their features are extracted into `folder/observed/`
    /// (`observed.csv`, `left_out.csv`), and the report states how (`provenance`). The configuration's stimulus
    /// must hold a step at the target current, for the model is simulated under it. `writes` false reads the
    /// recordings without writing (the MPI ranks other than 0).
    public static func recorded(_ files: [String], counts: String, metadata: String?, configuration: SimulationConfiguration,
                                configurationName: String, settings: RecordedCells.Settings, folder: String,
                                threads: Int = availableCores, showProgress: Bool = true, writes: Bool = true,
                                log: (String) -> Void = { print($0) }) throws -> (inputs: RunInputs, cells: RecordedCells) {
        let stepCurrents = configuration.protocol.steps.compactMap { step -> Double? in
            if case .picoamperes(let pA) = step.current { return pA } else { return nil }
        }
        // A model whose current is a parameter (V1) fits any sweep; a fixed protocol must hold the target's step.
        guard configuration.protocol.usesAmplitude
                || (settings.sweep == .target && stepCurrents.contains(where: { abs($0 - settings.targetPA) <= settings.tolerancePA })) else {
            throw InputError(file: configurationName, location: "protocol", settings.sweep == .highest
                             ? "the highest firing step has a different current in every cell, so the model must take the current as a parameter (as --config v1 does)"
                             : "the model is simulated under steps of " + stepCurrents.map { "\($0) pA" }.joined(separator: ", ")
                                + ", not at the target current \(settings.targetPA) pA: give a configuration whose protocol has that step")
        }
        for file in [counts] + (metadata.map { [$0] } ?? []) where !FileManager.default.fileExists(atPath: file) {
            throw InputError(file: file, "not found")
        }
        let progress = ProgressReporter("recordings", total: files.count, unit: "files", enabled: showProgress)
        let cells = RecordedCells.extract(files, settings: settings, threads: threads) { progress.advance(by: $0) }
        progress.finish()
        for note in cells.notes { log(note) }
        let observedFolder = folder + "/observed"
        if writes { try cells.write(to: observedFolder) }
        let reasons = Dictionary(grouping: cells.leftOut) { $0.reason.hasPrefix("unreadable") ? "unreadable" : $0.reason.components(separatedBy: " (").first! }
        log("recordings: \(files.count) files, \(cells.cells.count) cells with features, \(cells.leftOut.count) left out"
            + (cells.leftOut.isEmpty ? "" : " (see \(observedFolder)/left_out.csv)"))
        for leftOut in cells.leftOut.prefix(10) { log("  left out: \(leftOut.file): \(leftOut.reason)") }
        guard cells.cells.count > 0 else {
            throw InputError(file: files.first ?? folder, "none of the \(files.count) recordings gave a cell to fit (see \(observedFolder)/left_out.csv)")
        }
        var inputs = RunInputs(observed: observedFolder + "/observed.csv", counts: counts, metadata: metadata,
                               configuration: configuration, configurationName: configurationName)
        inputs.recordedSweeps = (observedFolder + "/sweeps.csv", settings)
        inputs.provenance = [
            ("recordings", "\(files.count) files → \(cells.cells.count) cells with features, \(cells.leftOut.count) left out (observed/left_out.csv)"),
            ("features", (settings.sweep == .target ? "the step nearest \(settings.targetPA) pA (± \(settings.tolerancePA))" : "the highest-current step that fires")
                + ", liquid-junction potential \(settings.ljpMV) mV "
                + "subtracted, at least \(settings.minimumSpikes) spikes, none clipped; NWB units \(settings.nwbUnits)"),
        ] + reasons.keys.sorted().map { ("left out: " + $0, "\(reasons[$0]!.count)") }
        return (inputs, cells)
    }
}
