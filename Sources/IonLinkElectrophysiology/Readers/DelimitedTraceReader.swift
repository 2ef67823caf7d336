import Foundation
import IonLinkCore

/// Reads sweeps from a CSV file: an optional time column (`t_s`, `t_ms`, `time_s`, `time_ms`), voltage
/// columns whose names start with `V` (mV; `_V` suffix = volts) and optional current columns starting with
/// `I` (pA; `_nA` = nanoamperes), paired by the suffix after the unit (`V_mV_181` ↔ `I_pA_181`). Without a
/// time column the sampling interval comes from the sidecar JSON or `--dt-ms`.
enum DelimitedTraceReader {
    static func read(_ path: String, hints: Recording.Hints) throws -> Recording {
        let table = try CSVTable.read(path)
        let sidecar = try Sidecar.find(for: path)
        let lower = table.header.map { $0.lowercased() }
        let timeColumn = lower.firstIndex { ["t_s", "t_ms", "time_s", "time_ms", "time", "t"].contains($0) }
        var voltageColumns: [(column: Int, key: String, scale: Double)] = []
        var currentColumns: [String: (column: Int, scale: Double)] = [:]
        for (c, name) in table.header.enumerated() where c != timeColumn {
            let parts = name.split(separator: "_").map(String.init)
            guard let head = parts.first?.lowercased() else { continue }
            let unit = parts.count > 1 ? parts[1] : ""
            let key = parts.count > 2 ? parts[2...].joined(separator: "_") : ""
            if head == "v" || head == "voltage" {
                voltageColumns.append((c, key, unit == "V" ? 1000 : 1))
            } else if head == "i" || head == "current" {
                currentColumns[key] = (c, unit == "nA" ? 1000 : 1)
            }
        }
        guard !voltageColumns.isEmpty else {
            throw InputError(file: path, location: "header", "expected voltage columns named V… (e.g. V_mV or V_mV_1), found \(table.header.joined(separator: ","))")
        }
        guard table.rows.count > 20 else { throw InputError(file: path, "only \(table.rows.count) samples; expected a recorded sweep") }
        var time: [Double]
        if let timeColumn {
            let toSeconds = lower[timeColumn].hasSuffix("ms") ? 1e-3 : 1.0
            time = try (0..<table.rows.count).map { try table.number(row: $0, column: timeColumn) * toSeconds }
            for k in 1..<time.count where !(time[k] > time[k - 1]) {
                throw InputError(file: path, location: "row \(k + 1), column \(table.header[timeColumn])", "time must increase, found \(time[k]) after \(time[k - 1])")
            }
        } else if let dt = hints.dtMs ?? sidecar?.dtMs {
            time = Trace.uniformTime(count: table.rows.count, dtMs: dt)
        } else {
            throw InputError(file: path, location: "header", "no time column (t_s, t_ms) and no sampling interval: give --dt-ms or a sidecar JSON with dt_ms")
        }
        var voltages: [[Double]] = []
        var currents: [[Double]?] = []
        var numbers: [Int?] = []
        for (column, key, scale) in voltageColumns {
            voltages.append(try (0..<table.rows.count).map { try table.number(row: $0, column: column) * scale })
            if let current = currentColumns[key] {
                currents.append(try (0..<table.rows.count).map { try table.number(row: $0, column: current.column) * current.scale })
            } else {
                currents.append(nil)
            }
            numbers.append(Int(key))
        }
        let sweeps = try SweepAssembler.sweeps(file: path, voltages: voltages, currents: currents, numbers: numbers,
                                               time: time, hints: hints, sidecar: sidecar)
        return Recording(file: path, sweeps: sweeps)
    }
}
