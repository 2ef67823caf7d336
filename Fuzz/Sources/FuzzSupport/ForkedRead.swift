import CFuzzerDriver
import Foundation

/// Reading HDF5 (NWB, h5ad) can crash or hang inside libhdf5 itself on a damaged file, which `ionlink` turns into an
/// error for that file by reading it in a child process first (`CrashIsolation`). The fuzz targets of those formats do
/// the same: each input is read first by a forked reader child; if the child survives, the input is read again in this
/// process so the fuzzer sees its coverage.
///
/// - A child that dies with its first stack frames in libhdf5, or is found stuck inside libhdf5, is counted as isolated
///   (what `ionlink` reports as a damaged file).
/// - A child that dies anywhere else (a Swift trap, a sanitizer report whose first frames are IonLink's), or is still
///   busy outside libhdf5 after `timeLimit`, is a bug: its report is printed and this process aborts, so libFuzzer keeps
///   the input. A crash in a child that had read earlier inputs is first retried in a fresh child, so the report is
///   reproducible from the kept input alone.
///
/// The child lives on from input to input (a fork per input cost more than the reads), and is replaced when it dies,
/// hangs, or has read `childLifetime` inputs.
public enum ForkedRead {
    /// CPU seconds a child may read before its stack is looked at: stuck inside libhdf5, it counts as an isolated hang
    /// (a read of these small inputs takes milliseconds, even under AddressSanitizer).
    public static let probeTime = 0.05
    /// CPU seconds a child may read at all; one still busy outside libhdf5 by then is a hang in IonLink (a bug).
    public static let timeLimit = 5.0
    /// Seconds (of the clock) a child that has begun a sanitizer report may take to finish it and die, and that any
    /// read may take at all.
    public static let reportTimeLimit = 120.0
    /// Inputs one child reads before it is replaced (bounds what leaks inside libhdf5 on damaged files).
    public static let childLifetime = 2000

    nonisolated(unsafe) private static var isolatedCrashes = 0
    nonisolated(unsafe) private static var isolatedHangs = 0
    nonisolated(unsafe) private static var child: Child?

    private static let summary: Void = {
        signal(SIGPIPE, SIG_IGN)
        // The first backtrace loads libgcc's unwinder (dlopen, malloc): done here, before any fork, so that a child's
        // signal handler never does it while the read it interrupted holds the allocator's lock.
        var frames = [UnsafeMutableRawPointer?](repeating: nil, count: 4)
        _ = backtrace(&frames, 4)
        atexit {
            let line = "isolated by design: \(ForkedRead.isolatedCrashes) crashes inside libhdf5, \(ForkedRead.isolatedHangs) reads stuck inside libhdf5\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
    }()

    /// What became of one read in a child.
    private enum Outcome {
        case read
        case crashed(report: String)
        case stuck(stack: String)
    }

    /// Reads `path` with `body` in the reader child, then (if it survived) in this process.
    public static func read(_ path: String, _ body: @escaping (String) throws -> Void) {
        summary
        var outcome = readInChild(path, body)
        if case .crashed(let report) = outcome, !insideLibHDF5(report), child == nil, previousReads > 0 {
            outcome = readInChild(path, body)   // a fresh child: does the crash need the earlier inputs?
        }
        switch outcome {
        case .read:
            _ = try? body(path)   // survived: again in this process, for the fuzzer's coverage
        case .crashed(let report):
            if insideLibHDF5(report) { isolatedCrashes += 1; return }
            FileHandle.standardError.write(Data(("a read crashed outside libhdf5:\n" + report).utf8))
            abort()
        case .stuck(let stack):
            if stuckInsideLibHDF5(stack) { isolatedHangs += 1; return }
            FileHandle.standardError.write(Data(("a read ran over \(Int(timeLimit)) s outside libhdf5:\n" + stack).utf8))
            abort()
        }
    }

    /// Inputs the crashed child had read before the current one (0 for a fresh child).
    nonisolated(unsafe) private static var previousReads = 0

    private static func readInChild(_ path: String, _ body: @escaping (String) throws -> Void) -> Outcome {
        if child == nil || child!.reads >= childLifetime || child!.path != path {
            child?.stop()
            child = Child(path: path, body: body)
        }
        guard let current = child else { return .read }
        previousReads = current.reads
        let outcome = current.read()
        if case .read = outcome { return outcome }
        current.stop()
        child = nil
        return outcome
    }

    /// A forked process that reads the input file each time it is asked (one byte on `requests`), answers one byte on
    /// `answers`, always reading the same `path` (rewritten by the caller between requests), and whose standard error (sanitizer reports, stacks on request) comes back on `errors`.
    private final class Child {
        let pid: pid_t
        let path: String
        let requests: Int32, answers: Int32, errors: Int32
        var reads = 0
        private var buffer = [UInt8](repeating: 0, count: 65536)

        init?(path: String, body: @escaping (String) throws -> Void) {
            var request: [Int32] = [0, 0], answer: [Int32] = [0, 0], error: [Int32] = [0, 0]
            guard pipe(&request) == 0, pipe(&answer) == 0, pipe(&error) == 0 else { return nil }
            let pid = fork()
            if pid == 0 {
                close(request[1]); close(answer[0]); close(error[0])
                dup2(error[1], 2)
                // SIGUSR1 from the parent: print where this read is. glibc's backtrace names modules without a
                // symbolizer process and without allocating, as a signal handler must.
                signal(SIGUSR1) { _ in
                    var frames = [UnsafeMutableRawPointer?](repeating: nil, count: 16)
                    let count = backtrace(&frames, 16)
                    backtrace_symbols_fd(&frames, count, 2)
                    _ = "end of stack\n".withCString { write(2, $0, strlen($0)) }
                }
                var token: UInt8 = 0
                while Foundation.read(request[0], &token, 1) == 1 {
                    _ = try? body(path)
                    guard write(answer[1], &token, 1) == 1 else { break }
                }
                _exit(0)
            }
            close(request[0]); close(answer[1]); close(error[1])
            guard pid > 0 else { close(request[1]); close(answer[0]); close(error[0]); return nil }
            for descriptor in [answer[0], error[0]] {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            }
            self.pid = pid
            self.path = path
            requests = request[1]; answers = answer[0]; errors = error[0]
        }

        /// Asks for one read and waits for its outcome.
        func read() -> Outcome {
            var token: UInt8 = 1, report = Data(), status: Int32 = 0
            reads += 1
            guard write(requests, &token, 1) == 1 else { return .crashed(report: "(the reader child had exited)") }
            // Limits count the child's CPU time, not the clock: on a busy machine a starved child is slow, not stuck.
            let start = cpuSeconds(), wallStart = Date()
            var probed = false, answered = false, exited = false
            /// Drains standard error; true once the child answered or exited (and from then on).
            func finished() -> Bool {
                while true {
                    let count = Foundation.read(errors, &buffer, buffer.count)
                    if count <= 0 { break }
                    report.append(contentsOf: buffer[0..<count])
                }
                if !answered && !exited { answered = Foundation.read(answers, &token, 1) == 1 }
                if !answered && !exited { exited = waitpid(pid, &status, WNOHANG) == pid }
                return answered || exited
            }
            /// Asks the running child for its stack (nil if none came within 1 s of its CPU time, or 60 s in all).
            func stack() -> String? {
                let before = report.count
                kill(pid, SIGUSR1)
                let asked = Date(), cpuAsked = cpuSeconds()
                while cpuSeconds() - cpuAsked < 1 && Date().timeIntervalSince(asked) < 60 {
                    let done = finished()
                    let text = String(decoding: report[before...], as: UTF8.self)
                    if text.contains("end of stack") || done { return text }
                    usleep(200)
                }
                return nil
            }
            while !finished() {
                let elapsed = cpuSeconds() - start, wall = Date().timeIntervalSince(wallStart)
                if dying(report) {
                    // A sanitizer report is being written (symbolizing it can take seconds on a busy machine): wait for
                    // the child to die, then judge the report.
                    if wall > reportTimeLimit { return .crashed(report: String(decoding: report, as: UTF8.self)) }
                } else if !probed && elapsed > probeTime {
                    probed = true
                    if let text = stack(), stuckInsideLibHDF5(text) { return .stuck(stack: text) }
                } else if elapsed > timeLimit || wall > reportTimeLimit {
                    return .stuck(stack: stack() ?? "(no stack came back)")
                }
                usleep(200)
            }
            return answered ? .read : .crashed(report: String(decoding: report, as: UTF8.self))
        }

        /// The child's CPU time so far (user + system, from /proc), seconds.
        func cpuSeconds() -> Double {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = text.lastIndex(of: ")") else { return 0 }
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        /// Ends the child (killed if it is still running) and closes its pipes.
        func stop() {
            var status: Int32 = 0
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            close(requests); close(answers); close(errors)
        }
    }

    /// Whether a child's standard error holds the start of a sanitizer's or libFuzzer's crash report.
    static func dying(_ report: Data) -> Bool {
        let text = String(decoding: report, as: UTF8.self)
        return ["ERROR: AddressSanitizer", "ERROR: libFuzzer", "ERROR: LeakSanitizer"].contains { text.contains($0) }
    }

    /// Whether a sanitizer report's first stack frames are in libhdf5 (the first three frames, past the sanitizer's own).
    static func insideLibHDF5(_ report: String) -> Bool {
        let frames = report.split(separator: "\n").filter { $0.contains("    #") && !$0.contains("compiler-rt") && !$0.contains("libclang_rt") }
        return frames.prefix(3).contains { $0.contains("libhdf5") }
    }

    /// Whether a stack printed on request (one `module(symbol+offset) [address]` per line: the handler's frames first,
    /// then libc's signal trampoline, then where the read was) is inside libhdf5: past the trampoline, the first frame
    /// in neither the executable (IonLink's code and the sanitizer's interceptors, such as the `free` libhdf5 called) nor
    /// libc (the `memcpy` behind such an interceptor) is libhdf5's. A loop in IonLink's own code has no such frame.
    static func stuckInsideLibHDF5(_ stack: String) -> Bool {
        let modules = stack.split(separator: "\n").filter { $0.contains("[0x") }.map { $0.prefix { $0 != "(" } }
        guard let trampoline = modules.firstIndex(where: { $0.contains("libc.so") }) else { return false }
        let library = modules[(trampoline + 1)...].first { $0.contains(".so") && !$0.contains("libc.so") }
        return library?.contains("libhdf5") ?? false
    }
}
