import Foundation

/// Reading a damaged HDF5 file can crash libhdf5 itself (a segfault inside `H5HG_read`), which no check in IonLink can
/// catch. When a command sets `probe` (the `ionlink` executable does, with its hidden `probe-file` subcommand), HDF5
/// files (NWB, h5ad) are read once in a child process first: a crash or a hang there becomes an error naming the file,
/// and a run over many files goes on without it.
public enum CrashIsolation {
    /// The executable and leading arguments that read a file in a child process (`… KIND FILE`); nil: no isolation
    /// (library use). Set once at start-up, before any thread runs.
    nonisolated(unsafe) public static var probe: [String]?
    /// How long a child may take before the file counts as hanging, seconds.
    nonisolated(unsafe) public static var timeout = 120.0

    /// Nil if a child process read `path` as `kind` without trouble (or isolation is off); else what went wrong.
    public static func check(_ path: String, kind: String) -> String? {
        guard let probe, let executable = probe.first else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(probe.dropFirst()) + [kind, path]
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        do { try process.run() } catch { return nil }   // cannot isolate: read in process as before
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return "reading it took over \(Int(timeout)) s (a damaged file can make libhdf5 loop); left out"
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        switch process.terminationReason {
        case .uncaughtSignal:
            return "libhdf5 crashed reading it (signal \(process.terminationStatus)): the file is damaged; left out"
        case .exit where process.terminationStatus != 0:
            let line = message.split(separator: "\n").first { !$0.isEmpty }.map(String.init) ?? "exit status \(process.terminationStatus)"
            return line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line
        default:
            return nil
        }
    }
}
