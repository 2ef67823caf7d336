import Foundation
import IonLinkCore
import IonLinkTestSupport
import Testing

/// MPI ranks (Open MPI's mpirun, 2 ranks on however many cores) and Slurm arrays give the results of one process.
@Suite(.serialized, .tags(.slow)) struct ParallelTests {
    /// Runs `mpirun` with `ranks` copies of `arguments` (or the given MPMD app contexts) to completion.
    static func mpirun(_ contexts: [[String]], environment extra: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["mpirun", "--oversubscribe"]
        for (k, context) in contexts.enumerated() {
            if k > 0 { arguments.append(":") }
            arguments += ["-n", "1", IonLinkProcess.executable] + context
        }
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile(), errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }

    /// The same command on two ranks.
    static func twoRanks(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try mpirun([arguments, arguments])
    }

    /// Every file of `a` equals the same-named file of `b` (and they hold the same names).
    static func sameFiles(_ a: String, _ b: String) throws -> Bool {
        let names = try FileManager.default.contentsOfDirectory(atPath: a).sorted()
        guard names == (try FileManager.default.contentsOfDirectory(atPath: b).sorted()), !names.isEmpty else { return false }
        return names.allSatisfy { FileManager.default.contentsEqual(atPath: a + "/" + $0, andPath: b + "/" + $0) }
    }

    @Test("mpirun -n 2 simulate makes the single-process bank, file for file; a killed launch resumes to the same bank")
    func bank() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let common = ["simulate", "--count", "240", "--seed", "5", "--chunk-size", "40", "--quiet"]
        let single = try IonLinkProcess.run(common + ["--out", folder + "/single", "--threads", "2"])
        #expect(single.status == 0, "\(single.err)")
        let parallel = try Self.twoRanks(common + ["--out", folder + "/ranks"])
        #expect(parallel.status == 0, "\(parallel.err)")
        #expect(try Self.sameFiles(folder + "/single", folder + "/ranks"))
        // Each rank killed with SIGKILL in the middle of writing its second chunk (a failpoint: no race with the
        // clock), then rerun: the same bank.
        let killedArguments = common + ["--out", folder + "/killed"]
        let killed = try Self.mpirun([killedArguments, killedArguments], environment: ["IONLINK_KILL_AT": "bank-chunk-half-written:2"])
        #expect(killed.status != 0)
        #expect(!FileManager.default.fileExists(atPath: folder + "/killed/theta.npy"))
        let resumed = try Self.twoRanks(common + ["--out", folder + "/killed"])
        #expect(resumed.status == 0, "\(resumed.err)")
        #expect(try Self.sameFiles(folder + "/single", folder + "/killed"))
    }

    @Test("--shard auto in a Slurm array task equals --shard I/N; without the array's variables it says what is missing")
    func slurmArray() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let common = ["simulate", "--count", "60", "--seed", "2", "--chunk-size", "20", "--quiet"]
        let explicit = try IonLinkProcess.run(common + ["--shard", "1/2", "--out", folder + "/explicit"])
        #expect(explicit.status == 0, "\(explicit.err)")
        let auto = try IonLinkProcess.run(common + ["--shard", "auto", "--out", folder + "/auto"],
                                          environment: ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"])
        #expect(auto.status == 0, "\(auto.err)")
        #expect(try Self.sameFiles(folder + "/explicit", folder + "/auto"))
        // An array numbered from 1 (--array=1-2): task 2 is shard 1/2.
        let fromOne = try IonLinkProcess.run(common + ["--shard", "auto", "--out", folder + "/fromOne"],
                                             environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "2"])
        #expect(fromOne.status == 0, "\(fromOne.err)")
        #expect(try Self.sameFiles(folder + "/explicit", folder + "/fromOne"))
        let missing = try IonLinkProcess.run(common + ["--shard", "auto", "--out", folder + "/missing"])
        #expect(missing.status != 0 && missing.err.contains("SLURM_ARRAY_TASK_ID"))
    }

    @Test("mpirun -n 2 infer writes the single-process map.csv and samples.npy; ranks started differently are refused")
    func infer() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var theta: [Double] = [], x: [Double] = []
        var generator = Xoshiro256(seed: 8)
        for _ in 0..<400 {
            let a = generator.nextUniform(), b = generator.nextUniform()
            theta += [a, b]
            x += [a + b + 0.05 * generator.nextUniform(), a - b + 0.05 * generator.nextUniform()]
        }
        try NPYWriter.write(theta, shape: [400, 2], element: .float64, to: folder + "/theta.npy")
        try NPYWriter.write(x, shape: [400, 2], element: .float64, to: folder + "/x.npy")
        let train = try IonLinkProcess.run(["train", "--theta", folder + "/theta.npy", "--x", folder + "/x.npy", "--prior-low", "0,0",
                                            "--prior-high", "1,1", "--out", folder + "/model.json", "--max-epochs", "2", "--hidden", "8",
                                            "--transforms", "2", "--quiet"])
        #expect(train.status == 0, "\(train.err)")
        try "id,x_1,x_2\na,1.0,0.2\nb,0.5,-0.1\nc,NaN,0\nd,1.2,0.4\ne,0.3,0.1\n".write(toFile: folder + "/obs.csv", atomically: true, encoding: .utf8)
        let common = ["infer", "--estimator", folder + "/model.json", "--observed", folder + "/obs.csv", "--samples", "30", "--refine-map", "--quiet"]
        let single = try IonLinkProcess.run(common + ["--out", folder + "/single"])
        #expect(single.status == 0, "\(single.err)")
        let parallel = try Self.twoRanks(common + ["--out", folder + "/ranks"])
        #expect(parallel.status == 0, "\(parallel.err)")
        #expect(try Self.sameFiles(folder + "/single", folder + "/ranks"))
        let mismatched = try Self.mpirun([common + ["--out", folder + "/m", "--seed", "1"], common + ["--out", folder + "/m", "--seed", "2"]])
        #expect(mismatched.status != 0 && mismatched.err.contains("different arguments"), "\(mismatched.err)")
    }

    @Test("mpirun -n 2 train (NPE-N on a bank) writes the single-process model, byte for byte, for 2 and for 3 gradient parts")
    func train() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bank = try IonLinkProcess.run(["simulate", "--count", "300", "--seed", "3", "--quiet", "--out", folder + "/bank"])
        #expect(bank.status == 0, "\(bank.err)")
        for parts in ["2", "3"] {
            let common = ["train", "--bank", folder + "/bank", "--observed", repository + "/data/m1/M1_features_X_o.csv.gz", "--neighbours", "5",
                          "--max-epochs", "2", "--hidden", "8", "--transforms", "2", "--gradient-parts", parts, "--quiet"]
            let single = try IonLinkProcess.run(common + ["--out", folder + "/single\(parts).json"])
            #expect(single.status == 0, "\(single.err)")
            let parallel = try Self.twoRanks(common + ["--out", folder + "/ranks\(parts).json"])
            #expect(parallel.status == 0, "\(parallel.err)")
            #expect(FileManager.default.contentsEqual(atPath: folder + "/single\(parts).json", andPath: folder + "/ranks\(parts).json"),
                    "\(parts) parts: the models differ")
        }
    }

    /// Runs an example sbatch script with bash in `folder`, as Slurm would run one task of it.
    static func script(_ name: String, in folder: String, environment extra: [String: String]) throws -> (status: Int32, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repository + "/examples/slurm/" + name]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["IONLINK"] = IonLinkProcess.executable
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        for (k, v) in extra { environment[k] = v }
        process.environment = environment
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A PATH whose `srun` stands in for a cluster's: mpirun with 2 ranks (its first argument, `--mpi=…`, dropped).
    static func pathWithSrun(in folder: String) throws -> String {
        let shims = folder + "/bin"
        try FileManager.default.createDirectory(atPath: shims, withIntermediateDirectories: true)
        try "#!/bin/bash\nshift\nexec mpirun --oversubscribe -n 2 \"$@\"\n".write(toFile: shims + "/srun", atomically: true, encoding: .utf8)
        chmod(shims + "/srun", 0o755)
        return shims + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    @Test("The Slurm examples as they are: an array of 2 shard tasks + the merge job, and the MPI job (srun → mpirun), each give the single-process bank")
    func slurmExamples() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let single = try IonLinkProcess.run(["simulate", "--count", "60", "--seed", "4", "--out", folder + "/single", "--quiet"])
        #expect(single.status == 0, "\(single.err)")
        let settings = ["COUNT": "60", "SEED": "4", "OUT": folder + "/array"]
        for task in ["0", "1"] {
            let run = try Self.script("bank_array.sbatch", in: folder, environment: settings.merging(["SLURM_ARRAY_TASK_ID": task, "SLURM_ARRAY_TASK_COUNT": "2"]) { $1 })
            #expect(run.status == 0, "\(run.err)")
        }
        let merge = try Self.script("bank_merge.sbatch", in: folder, environment: settings)
        #expect(merge.status == 0, "\(merge.err)")
        #expect(try Self.sameFiles(folder + "/single", folder + "/array/bank"))
        let path = try Self.pathWithSrun(in: folder)
        let mpi = try Self.script("bank_mpi.sbatch", in: folder, environment: ["COUNT": "60", "SEED": "4", "OUT": folder + "/mpi", "PATH": path])
        #expect(mpi.status == 0, "\(mpi.err)")
        #expect(try Self.sameFiles(folder + "/single", folder + "/mpi"))
    }

    @Test("run_mpi.sbatch as it is (srun → mpirun -n 2; the paper preset shrunk to two TSNPE rounds on 24 cells) writes the single-process run: banks, models, proposal, posteriors, checks, regression")
    func run() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let small = ["--cells", "24", "--simulations", "1000", "--rounds", "2", "--round-simulations", "1000", "--neighbours", "10",
                     "--samples", "30", "--candidates", "2", "--data", repository + "/data", "--quiet"]
        let single = try IonLinkProcess.run(["run", "--preset", "paper", "--gradient-parts", "2", "--out", folder + "/single", "--threads", "2"] + small)
        #expect(single.status == 0, "\(single.err)")
        let path = try Self.pathWithSrun(in: folder)
        let parallel = try Self.script("run_mpi.sbatch", in: folder, environment: ["OUT": folder + "/ranks", "SLURM_NTASKS": "2", "PATH": path,
                                                                                  "ARGS": small.joined(separator: " ")])
        #expect(parallel.status == 0, "\(parallel.err)")
        // Every file but the stage timings (run.json) and the report that shows them.
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder + "/single").sorted()
        #expect(files == (try FileManager.default.subpathsOfDirectory(atPath: folder + "/ranks").sorted()))
        #expect(files.contains("rounds/2/bank/proposal_theta.npy") && files.contains("fits/best_fit.csv") && files.contains("regression/cv_summary.csv"))
        for file in files where !["run.json", "report.html"].contains(file) {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder + "/single/" + file, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            #expect(FileManager.default.contentsEqual(atPath: folder + "/single/" + file, andPath: folder + "/ranks/" + file), "\(file) differs")
        }
    }
}
