import Foundation

/// Reading HDF5 (NWB, h5ad) can crash or hang inside libhdf5 itself on a damaged file, which `ionlink` turns into an
/// error for that file by reading it in a child process first (`CrashIsolation`). The fuzz targets of those formats do
/// the same with `fork`: each input is read in a child; if the child survives, it is read again in this process so the
/// fuzzer sees its coverage. A child that dies inside libhdf5, or runs over the time limit, is counted as isolated (what
/// `ionlink` reports as a damaged file). A child that dies anywhere else (a Swift trap, or a sanitizer report whose
/// first frames are IonLink's) is a bug: its report is printed and this process aborts, so libFuzzer keeps the input.
public enum ForkedRead {
    nonisolated(unsafe) private static var isolatedCrashes = 0
    nonisolated(unsafe) private static var isolatedHangs = 0
    /// Seconds a child may read before it counts as hanging.
    public static let timeLimit = 5.0

    private static let summary: Void = {
        atexit {
            let line = "isolated by design: \(ForkedRead.isolatedCrashes) crashes inside libhdf5, \(ForkedRead.isolatedHangs) reads over \(Int(ForkedRead.timeLimit)) s\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }()

    public static func read(_ path: String, _ body: (String) throws -> Void) {
        summary
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else { return }
        let child = fork()
        if child == 0 {
            close(descriptors[0])
            dup2(descriptors[1], 2)
            _ = try? body(path)
            _exit(0)
        }
        close(descriptors[1])
        _ = fcntl(descriptors[0], F_SETFL, fcntl(descriptors[0], F_GETFL) | O_NONBLOCK)
        var report = Data(), status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeLimit)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var finished = false
        while !finished {
            let count = Foundation.read(descriptors[0], &buffer, buffer.count)
            if count > 0 { report.append(contentsOf: buffer[0..<count]); continue }
            if waitpid(child, &status, WNOHANG) == child { finished = true; break }
            if Date() > deadline {
                kill(child, SIGKILL)
                waitpid(child, &status, 0)
                close(descriptors[0])
                isolatedHangs += 1
                return
            }
            usleep(500)
        }
        while true {
            let count = Foundation.read(descriptors[0], &buffer, buffer.count)
            if count <= 0 { break }
            report.append(contentsOf: buffer[0..<count])
        }
        close(descriptors[0])
        let exited = status & 0x7f == 0, exitCode = (status >> 8) & 0xff
        if exited && exitCode == 0 {
            _ = try? body(path)   // survived: again in this process, for the fuzzer's coverage
            return
        }
        let text = String(decoding: report, as: UTF8.self)
        if insideLibHDF5(text) {
            isolatedCrashes += 1
            return
        }
        FileHandle.standardError.write(Data(("a read crashed outside libhdf5 (status \(status)):\n" + text).utf8))
        abort()
    }

    /// Whether a sanitizer report's first stack frames are in libhdf5 (the first three frames, past the sanitizer's own).
    static func insideLibHDF5(_ report: String) -> Bool {
        let frames = report.split(separator: "\n").filter { $0.contains("    #") && !$0.contains("compiler-rt") && !$0.contains("libclang_rt") }
        return frames.prefix(3).contains { $0.contains("libhdf5") }
    }
}
