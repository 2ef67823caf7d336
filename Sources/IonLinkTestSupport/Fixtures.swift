import Foundation
import IonLinkCore

/// Reference files shared by the test targets (see Golden/README.md for their provenance).
public enum Golden {
    /// The folder of the golden files.
    public static var folder: String { Bundle.module.resourcePath! + "/Golden" }

    /// Path of a golden file.
    public static func path(_ name: String) -> String { folder + "/" + name }

    /// The repository root (for configs/ and data/).
    public static var repository: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The golden traces as rows (float64 or the float32 rounding).
    public static func traces(float32: Bool = false) throws -> [[Double]] {
        let array = try NPYArray.read(path(float32 ? "sim_traces.npy" : "sim_traces_f64.npy"))
        let n = array.shape[1]
        return (0..<array.shape[0]).map { Array(array.values[$0 * n ..< ($0 + 1) * n]) }
    }

    /// The ids of the golden parameter sets, in row order.
    public static func ids() throws -> [String] {
        try CSVTable.read(path("sim_params.csv")).rows.map { $0[0] }
    }
}

/// A fresh temporary folder; the caller removes it.
public func temporaryFolder(_ prefix: String = "ionlink-test") -> String {
    let path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
