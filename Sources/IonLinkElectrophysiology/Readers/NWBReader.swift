import Foundation
import IonLinkCore

/// How the NWB reader scales a series' stored values (after `conversion` and `offset`) to mV and pA.
public enum NWBUnits: String, Sendable, CaseIterable {
    /// Follow the `unit` attribute unless the values contradict it: a membrane potential of −65 stored under "volts"
    /// is millivolts, a 300 under "amperes" is picoamperes (DANDI 000008/000035 were written so). Each such
    /// disagreement is reported once per file (`Recording.notes`).
    case auto
    /// The values are mV and pA whatever the unit says (as hh_sbi's and the mini-atlas' readers take them).
    case stored
    /// Follow the `unit` attribute strictly (SI-correct files).
    case si
}

/// Reads the current-clamp sweeps of an NWB 2.x file (as published on DANDI, e.g. dandisets 000008 and 000020):
/// every `CurrentClampSeries` (and `IZeroClampSeries`, the 0 pA sweeps of the legacy SweepTable layout) under
/// `/acquisition` with its `CurrentClampStimulusSeries` under `/stimulus/presentation`, paired row by row through the
/// icephys `IntracellularRecordingsTable` where the file has one (NWB ≥ 2.4; the sweep is labelled with its sequential
/// recording's `stimulus_type`), else by `sweep_number`, else by the MIES name (`data_00012_AD0` ↔ `data_00012_DA0`),
/// else by position. Voltage-clamp series are skipped,
/// and so are aborted sweeps (non-finite samples). Values are scaled with `conversion` and `offset` to mV and pA as
/// `NWBUnits` says; time comes from `starting_time` and its `rate` (or a `timestamps` dataset).
public enum NWBReader {
    public static func read(_ path: String, units: NWBUnits = .auto) throws -> Recording {
        let file = try HDF5File(path: path)
        guard file.isGroup("/acquisition") else {
            throw InputError(file: path, location: "/acquisition", "not an NWB file with acquisitions (no /acquisition group)")
        }
        let responses = try series(in: file, group: "/acquisition", types: ["CurrentClampSeries", "IZeroClampSeries"])
        guard !responses.isEmpty else {
            throw InputError(file: path, location: "/acquisition", "no CurrentClampSeries: expected current-clamp sweeps")
        }
        let stimuli = file.isGroup("/stimulus/presentation")
            ? try series(in: file, group: "/stimulus/presentation", types: ["CurrentClampStimulusSeries"]) : []
        var sweeps: [Sweep] = [], notes: [String] = [], noted: Set<String> = []
        // Once per file: keyed by what was decided, the text (with its first example) kept from the first time.
        func note(_ key: String, _ text: String) { if noted.insert(key).inserted { notes.append(text) } }
        for (i, pair) in try recordings(file, responses: responses, stimuli: stimuli).enumerated() {
            let response = pair.response
            let number = sweepNumber(file, response) ?? miesSweepNumber(response) ?? i
            var (voltage, time) = try values(file, response, quantity: .voltage, units: units, note: note)
            (voltage, time) = try window(voltage, time, pair.responseWindow, file: file, series: response)
            guard voltage.allSatisfy(\.isFinite) else {
                note(response, "\(response): skipped, an aborted sweep (undefined samples)")
                continue
            }
            var current: [Double]? = nil
            if let stimulus = pair.stimulus {
                let (values, stimulusTime) = try values(file, stimulus, quantity: .current, units: units, note: note)
                let (windowed, _) = try window(values, stimulusTime, pair.stimulusWindow, file: file, series: stimulus)
                if windowed.count == voltage.count && windowed.allSatisfy(\.isFinite) { current = windowed }
            }
            let steps = current.map { StepFinder.steps(current: $0, time: time) } ?? []
            let label = pair.stimulusType ?? file.stringAttribute(response, "stimulus_description") ?? ""
            sweeps.append(Sweep(number: number, time: time, voltage: voltage, current: current, steps: steps, label: label))
        }
        var recording = Recording(file: path, sweeps: sweeps.sorted { $0.number < $1.number })
        recording.notes = notes
        if file.exists("/general/session_id"),
           let id = try? file.readStrings("/general/session_id").first?.trimmingCharacters(in: .whitespaces), !id.isEmpty {
            recording.sessionID = id
        }
        return recording
    }

    /// A current-clamp response, the stimulus it was recorded under, the samples of each that belong to the recording
    /// (nil: all) and the protocol's stimulus type where the file names one.
    struct Pairing {
        var response: String
        var stimulus: String?
        var responseWindow: (start: Int, count: Int)?
        var stimulusWindow: (start: Int, count: Int)?
        var stimulusType: String?
    }

    static let recordingsTable = "/general/intracellular_ephys/intracellular_recordings"

    /// Each current-clamp response with its stimulus: row by row from the icephys tables (NWB ≥ 2.4:
    /// `IntracellularRecordingsTable`, with the `stimulus_type` of its `SequentialRecordingsTable` row), else by
    /// `sweep_number`, by MIES name, or by position.
    static func recordings(_ file: HDF5File, responses: [String], stimuli: [String]) throws -> [Pairing] {
        if file.exists(recordingsTable + "/responses/response") {
            let responseRows = try file.readSeriesReferences(recordingsTable + "/responses/response")
            let stimulusRows = file.exists(recordingsTable + "/stimuli/stimulus") ? try file.readSeriesReferences(recordingsTable + "/stimuli/stimulus") : []
            let types = stimulusTypes(file, rows: responseRows.count)
            let currentClamp = Set(responses)
            var pairs: [Pairing] = []
            for (row, reference) in responseRows.enumerated() {
                // Voltage-clamp rows, and rows whose response is not under /acquisition, are not ours.
                guard let response = reference.series, currentClamp.contains(response) else { continue }
                let stimulus = row < stimulusRows.count ? stimulusRows[row] : nil
                pairs.append(Pairing(response: response, stimulus: stimulus?.series,
                                     responseWindow: reference.count >= 0 ? (reference.start, reference.count) : nil,
                                     stimulusWindow: stimulus.flatMap { $0.count >= 0 ? ($0.start, $0.count) : nil },
                                     stimulusType: types[row]))
            }
            if !pairs.isEmpty { return pairs }
        }
        var stimulusBySweep: [Int: String] = [:], stimulusByName: [String: String] = [:]
        for s in stimuli {
            if let n = sweepNumber(file, s) { stimulusBySweep[n] = s }
            stimulusByName[miesKey(s)] = s
        }
        return responses.enumerated().map { i, response in
            let paired = sweepNumber(file, response).flatMap { stimulusBySweep[$0] } ?? stimulusByName[miesKey(response)]
                ?? (stimuli.count == responses.count ? stimuli[i] : nil)
            return Pairing(response: response, stimulus: paired)
        }
    }

    /// The `stimulus_type` of each row of the intracellular recordings table, through the sequential and simultaneous
    /// recordings tables (nil where the file does not say).
    static func stimulusTypes(_ file: HDF5File, rows: Int) -> [String?] {
        var types = [String?](repeating: nil, count: rows)
        let base = "/general/intracellular_ephys/"
        guard let names = try? file.readStrings(base + "sequential_recordings/stimulus_type"),
              let sequential = ragged(file, base + "sequential_recordings/simultaneous_recordings"),
              let simultaneous = ragged(file, base + "simultaneous_recordings/recordings") else { return types }
        for (k, name) in names.enumerated() where k < sequential.count {
            for s in sequential[k] where simultaneous.indices.contains(s) {
                for r in simultaneous[s] where types.indices.contains(r) { types[r] = name }
            }
        }
        return types
    }

    /// A ragged column (`column` with its `column_index` of row ends) as its rows of integers; nil if absent or malformed.
    static func ragged(_ file: HDF5File, _ column: String) -> [[Int]]? {
        guard let values = try? file.readDoubles(column).values, let ends = try? file.readDoubles(column + "_index").values else { return nil }
        var rows: [[Int]] = [], start = 0
        for end in ends {
            guard end.isFinite, end >= Double(start), end <= Double(values.count) else { return nil }
            rows.append(values[start ..< Int(end)].map { $0.isFinite && abs($0) < 1e9 ? Int($0) : -1 })
            start = Int(end)
        }
        return rows
    }

    /// The samples [start, start + count) of a series (all when `window` is nil), with time from the window's start.
    static func window(_ values: [Double], _ time: [Double], _ window: (start: Int, count: Int)?, file: HDF5File,
                       series: String) throws -> ([Double], [Double]) {
        guard let (start, count) = window, !(start == 0 && count == values.count) else { return (values, time) }
        guard start >= 0, count >= 2, start <= values.count - count else {
            throw InputError(file: file.path, location: series, "the recordings table points to samples \(start)..<\(start + count) of a series of \(values.count)")
        }
        let slice = Array(values[start ..< start + count]), origin = time[start]
        return (slice, time[start ..< start + count].map { $0 - origin })
    }

    /// A series' name with the MIES channel suffix (`_AD0`, `_DA0`) removed, to pair a response with its stimulus.
    static func miesKey(_ series: String) -> String {
        let name = (series as NSString).lastPathComponent
        guard let range = name.range(of: #"_(AD|DA)\d+$"#, options: .regularExpression) else { return "\u{0}" + name }
        return String(name[..<range.lowerBound])
    }

    /// The sweep number in a MIES name (`data_00012_AD0` → 12).
    static func miesSweepNumber(_ series: String) -> Int? {
        let name = (series as NSString).lastPathComponent
        guard let range = name.range(of: #"^data_\d+_"#, options: .regularExpression) else { return nil }
        return Int(name[range].dropFirst(5).dropLast())
    }

    /// Paths of the groups under `group` whose `neurodata_type` is one of `types`.
    static func series(in file: HDF5File, group: String, types: Set<String>) throws -> [String] {
        try file.members(of: group).map { group + "/" + $0 }.filter {
            file.isGroup($0) && types.contains(file.stringAttribute($0, "neurodata_type") ?? "")
        }
    }

    static func sweepNumber(_ file: HDF5File, _ series: String) -> Int? {
        (file.numberAttribute(series, "sweep_number") ?? (file.exists(series + "/sweep_number") ? try? file.readDoubles(series + "/sweep_number").values.first : nil))
            .flatMap { Int(exactly: $0.rounded(.towardZero)) }   // NaN, ±inf or beyond Int (a damaged 1e30): no number
    }

    enum Quantity { case voltage, current }

    /// A series' data in mV (voltage) or pA (current) and its sample times (s, from the series start).
    static func values(_ file: HDF5File, _ series: String, quantity: Quantity, units: NWBUnits,
                       note: (_ key: String, _ text: String) -> Void) throws -> ([Double], [Double]) {
        let data = series + "/data"
        var (values, shape) = try file.readDoubles(data)
        guard shape.count == 1, values.count > 1 else {
            throw InputError(file: file.path, location: data, "expected a 1-d series of samples, found shape \(shape)")
        }
        let conversion = file.numberAttribute(data, "conversion") ?? 1
        let offset = file.numberAttribute(data, "offset") ?? 0
        let unit = (file.stringAttribute(data, "unit") ?? "").lowercased()
        for i in values.indices { values[i] = values[i] * conversion + offset }
        let stated: Double
        switch (unit, quantity) {
        case ("volts", .voltage), ("volt", .voltage), ("v", .voltage): stated = 1e3
        case ("millivolts", .voltage), ("millivolt", .voltage), ("mv", .voltage): stated = 1
        case ("amperes", .current), ("ampere", .current), ("a", .current): stated = 1e12
        case ("picoamperes", .current), ("picoampere", .current), ("pa", .current): stated = 1
        case (_, _) where units == .stored: stated = 1
        default:
            throw InputError(file: file.path, location: data + " (unit)",
                             "expected \(quantity == .voltage ? "volts or millivolts" : "amperes or picoamperes"), found \"\(unit)\"")
        }
        let scale: Double
        switch units {
        case .si: scale = stated
        case .stored: scale = 1
        case .auto:
            scale = plausibleScale(values, quantity: quantity, stated: stated)
            if scale != stated {
                let what = quantity == .voltage ? "membrane potentials" : "currents"
                let read = quantity == .voltage ? (scale == 1 ? "millivolts" : "volts") : (scale == 1 ? "picoamperes" : "amperes")
                note("\(what) \(unit) \(scale)", "\(what) stored under \"\(unit)\" have the size of \(read) (median \(CSVTable.formatNumber(median(values)))): read as "
                     + "\(read); --nwb-units si follows the unit attribute instead")
            }
        }
        if scale != 1 { for i in values.indices { values[i] *= scale } }
        let time: [Double]
        if let rate = file.numberAttribute(series + "/starting_time", "rate"), rate > 0 {
            time = (0..<values.count).map { Double($0) / rate }
        } else if file.exists(series + "/timestamps") {
            let stamps = try file.readDoubles(series + "/timestamps").values
            guard stamps.count == values.count else {
                throw InputError(file: file.path, location: series + "/timestamps", "expected \(values.count) timestamps, found \(stamps.count)")
            }
            time = stamps.map { $0 - stamps[0] }
        } else {
            throw InputError(file: file.path, location: series, "no sampling rate (starting_time@rate) and no timestamps")
        }
        return (values, time)
    }

    /// The median of the finite samples.
    static func median(_ values: [Double]) -> Double {
        let finite = values.filter(\.isFinite).sorted()
        return finite.isEmpty ? .nan : finite[finite.count / 2]
    }

    /// The median absolute value of the finite samples.
    static func typical(_ values: [Double]) -> Double {
        let magnitudes = values.filter(\.isFinite).map(abs).sorted()
        return magnitudes.isEmpty ? 0 : magnitudes[magnitudes.count / 2]
    }

    /// The scale (to mV or pA) that makes the values physiological: membrane potentials of millivolts (tens), not
    /// volts (hundredths), and patch currents of picoamperes, not amperes (≤ 1e-6). Keeps `stated` when the values
    /// fit it, or say nothing (all zero).
    static func plausibleScale(_ values: [Double], quantity: Quantity, stated: Double) -> Double {
        switch quantity {
        case .voltage:
            let size = typical(values)
            guard size > 0 else { return stated }
            if stated == 1e3 && size > 1 { return 1 }       // "volts", but −65: millivolts
            if stated == 1 && size < 0.5 { return 1e3 }     // "millivolts", but −0.065: volts
            return stated
        case .current:
            let largest = values.filter(\.isFinite).map(abs).max() ?? 0
            guard largest > 0 else { return stated }
            if stated == 1e12 && largest > 1e-6 { return 1 }  // "amperes", but 300: picoamperes
            if stated == 1 && largest < 1e-6 { return 1e12 }  // "picoamperes", but 3e-10: amperes
            return stated
        }
    }
}
