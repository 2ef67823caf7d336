import ArgumentParser
import CSignalKernel
import Foundation
import IonLinkCore

@main
struct IonLink: ParsableCommand {
    static func main() {
        ionlink_keep_large_buffers_on_heap()
        BLAS.setThreads(1)
        let ranks = Ranks.world
        // HDF5 files are read once in a child process first, so that a damaged one cannot crash the command.
        if CommandLine.arguments.dropFirst().first != "probe-file" {
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            CrashIsolation.probe = FileManager.default.isExecutableFile(atPath: executable) ? [executable, "probe-file"] : nil
        }
        var command: ParsableCommand
        do { command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))) } catch {
            ranks.finish()   // the same arguments fail the same way on every rank
            exit(withError: error)
        }
        guard ranks.allAgree(on: CommandLine.arguments.dropFirst().joined(separator: "\u{0}")) else {
            if ranks.isRoot { FileHandle.standardError.write(Data("error: the MPI ranks were started with different arguments; start every rank with the same command\n".utf8)) }
            ranks.finish()
            Self.exit(withError: ExitCode(2))
        }
        let isHelp = String(describing: type(of: command)) == "HelpCommand"
        if ranks.isParallel && !(command is Simulate || command is Infer || command is Train || command is Run || isHelp) {
            if ranks.isRoot {
                FileHandle.standardError.write(Data("error: only `run`, `simulate --count`, `train` and `infer` spread over MPI ranks; run this command as one process\n".utf8))
            }
            ranks.finish()
            Self.exit(withError: ExitCode(2))
        }
        do {
            try command.run()
            ranks.finish()
        } catch {
            guard ranks.isParallel, exitCode(for: error) != .success else {
                ranks.finish()   // help and clean exits end every rank the same way
                exit(withError: error)
            }
            FileHandle.standardError.write(Data("error (rank \(ranks.rank) of \(ranks.size)): \(fullMessage(for: error))\n".utf8))
            ranks.abort(code: exitCode(for: error).rawValue)
        }
    }

    /// `--option -3` and `--option -3,-3` become `--option=-3…`: the argument parser would read a value that starts
    /// with a dash as an option, and negative bounds (E_leak, VT), LJPs and currents are common.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument.hasPrefix("--"), !argument.contains("="), i + 1 < arguments.count,
               arguments[i + 1].range(of: #"^-(\d|\.\d|inf|nan)"#, options: [.regularExpression, .caseInsensitive]) != nil {
                result.append(argument + "=" + arguments[i + 1])
                i += 2
            } else {
                result.append(argument)
                i += 1
            }
        }
        return result
    }

    static let configuration = CommandConfiguration(
        commandName: "ionlink",
        abstract: "Link Patch-seq firing to ion-channel genes through a Hodgkin–Huxley model.",
        discussion: """
        IonLink simulates the single-compartment Hodgkin–Huxley model of Bernaerts et al. (2025) \
        (6 active currents + leak, 13 free parameters) under a recording protocol, millions of times, \
        and stores the results as simulation banks for inference.

        Models and protocols are JSON configurations (see configs/ in the repository); the built-in \
        presets are `m1` (the paper's main model, default) and `v1` (the V1 variant).
        """,
        subcommands: [Run.self, Report.self, ProbeFile.self, Simulate.self, Features.self, Train.self, Infer.self, Diagnose.self, Regress.self, Bank.self, Bench.self]
    )
}

/// Options shared by commands that compute in parallel or draw random numbers.
/// Threads and progress output, shared by the commands that compute.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).")
    var threads: Int = availableCores

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
    }
}

/// The seed of prior draws and current noise, with the worker options.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Seed for prior draws and current noise; the same seed gives the same result on any thread count.")
    var seed: UInt64 = 1

    @OptionGroup var workers: WorkerOptions

    var threads: Int { workers.threads }
    var quiet: Bool { workers.quiet }
}

