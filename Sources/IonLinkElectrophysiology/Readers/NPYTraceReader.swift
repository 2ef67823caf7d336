import Foundation
import IonLinkCore

/// Reads sweeps from NPY: voltage [sweeps, samples] or [samples] (mV, float32/float64); the current, if
/// any, from `NAME.I_pA.npy` beside `NAME.V_mV.npy`; sampling interval and steps from the sidecar JSON or
/// the command line.
enum NPYTraceReader {
    static func read(_ path: String, hints: Recording.Hints) throws -> Recording {
        let array = try NPYArray.read(path)
        let sidecar = try Sidecar.find(for: path)
        guard array.shape.count == 1 || array.shape.count == 2, array.values.count > 20 else {
            throw InputError(file: path, "expected voltages of shape [samples] or [sweeps, samples], found \(array.shape)")
        }
        let rows = array.shape.count == 1 ? 1 : array.shape[0]
        let n = array.shape.last!
        guard let dt = hints.dtMs ?? sidecar?.dtMs else {
            throw InputError(file: path, "no sampling interval: give --dt-ms or a sidecar JSON with dt_ms")
        }
        let voltages = (0..<rows).map { Array(array.values[$0 * n ..< ($0 + 1) * n]) }
        var currents: [[Double]?] = Array(repeating: nil, count: rows)
        if path.hasSuffix(".V_mV.npy") {
            let currentPath = String(path.dropLast(".V_mV.npy".count)) + ".I_pA.npy"
            if FileManager.default.fileExists(atPath: currentPath) {
                let current = try NPYArray.read(currentPath)
                guard current.shape == array.shape else {
                    throw InputError(file: currentPath, "expected the shape of the voltages \(array.shape), found \(current.shape)")
                }
                currents = (0..<rows).map { Array(current.values[$0 * n ..< ($0 + 1) * n]) }
            }
        }
        let sweeps = try SweepAssembler.sweeps(file: path, voltages: voltages, currents: currents, numbers: [],
                                               time: Trace.uniformTime(count: n, dtMs: dt), hints: hints, sidecar: sidecar)
        return Recording(file: path, sweeps: sweeps)
    }
}
