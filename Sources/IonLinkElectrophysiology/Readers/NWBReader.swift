import Foundation
import IonLinkCore

/// Reads the current-clamp sweeps of an NWB 2.x file (as published on DANDI, e.g. dandiset 000008):
/// every `CurrentClampSeries` under `/acquisition` with its `CurrentClampStimulusSeries` under
/// `/stimulus/presentation` (paired by `sweep_number`, else by name), converted with `conversion` (and
/// `offset`) to mV and pA; time from `starting_time` and its `rate` (or a `timestamps` dataset).
public enum NWBReader {
    public static func read(_ path: String) throws -> Recording {
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
        var stimulusBySweep: [Int: String] = [:]
        for s in stimuli { if let n = sweepNumber(file, s) { stimulusBySweep[n] = s } }
        var sweeps: [Sweep] = []
        for (i, response) in responses.enumerated() {
            let number = sweepNumber(file, response) ?? i
            let (voltage, time) = try values(file, response, toUnit: "mV")
            var current: [Double]? = nil
            if let stimulus = stimulusBySweep[number] ?? (stimuli.count == responses.count ? stimuli[i] : nil) {
                let (values, _) = try values(file, stimulus, toUnit: "pA")
                if values.count == voltage.count { current = values }
            }
            let steps = current.map { StepFinder.steps(current: $0, time: time) } ?? []
            let label = file.stringAttribute(response, "stimulus_description") ?? ""
            sweeps.append(Sweep(number: number, time: time, voltage: voltage, current: current, steps: steps, label: label))
        }
        return Recording(file: path, sweeps: sweeps.sorted { $0.number < $1.number })
    }

    /// Paths of the groups under `group` whose `neurodata_type` is one of `types`.
    static func series(in file: HDF5File, group: String, types: Set<String>) throws -> [String] {
        try file.members(of: group).map { group + "/" + $0 }.filter {
            file.isGroup($0) && types.contains(file.stringAttribute($0, "neurodata_type") ?? "")
        }
    }

    static func sweepNumber(_ file: HDF5File, _ series: String) -> Int? {
        (file.numberAttribute(series, "sweep_number") ?? (file.exists(series + "/sweep_number") ? try? file.readDoubles(series + "/sweep_number").values.first : nil))
            .flatMap { $0.isFinite ? Int($0) : nil }
    }

    /// A series' data in `unit` (mV or pA) and its sample times (s, from the series start).
    static func values(_ file: HDF5File, _ series: String, toUnit target: String) throws -> ([Double], [Double]) {
        let data = series + "/data"
        var (values, shape) = try file.readDoubles(data)
        guard shape.count == 1, values.count > 1 else {
            throw InputError(file: file.path, location: data, "expected a 1-d series of samples, found shape \(shape)")
        }
        let conversion = file.numberAttribute(data, "conversion") ?? 1
        let offset = file.numberAttribute(data, "offset") ?? 0
        let unit = (file.stringAttribute(data, "unit") ?? "").lowercased()
        let scale: Double
        switch (unit, target) {
        case ("volts", "mV"), ("volt", "mV"), ("v", "mV"): scale = 1e3
        case ("millivolts", "mV"), ("mv", "mV"): scale = 1
        case ("amperes", "pA"), ("ampere", "pA"), ("a", "pA"): scale = 1e12
        case ("picoamperes", "pA"), ("pa", "pA"): scale = 1
        default:
            throw InputError(file: file.path, location: data + " (unit)", "expected \(target == "mV" ? "volts" : "amperes"), found \"\(unit)\"")
        }
        for i in values.indices { values[i] = (values[i] * conversion + offset) * scale }
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
}
