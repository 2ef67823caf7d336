import Foundation
import IonLinkCore
import IonLinkTestSupport
import Testing

/// Runs the built `ionlink` executable as a user would.
struct IonLinkProcess {
    static var executable: String {
        // IONLINK_BINARY points the tests at another build (e.g. .build/release/ionlink for the slow end-to-end tests).
        if let chosen = ProcessInfo.processInfo.environment["IONLINK_BINARY"], !chosen.isEmpty { return chosen }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0])
        var folder = testBinary.deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("ionlink").path) && folder.path != "/" {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("ionlink").path
    }

    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !extra.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    /// Runs to completion: (exit status, stdout, stderr).
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let (process, out, err) = try start(arguments, environment: environment)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "ionlink-cli-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite struct CommandLineTests {
    @Test("--help explains every subcommand")
    func help() throws {
        let top = try IonLinkProcess.run(["--help"])
        #expect(top.status == 0)
        for word in ["simulate", "bank", "bench", "Hodgkin–Huxley"] { #expect(top.out.contains(word), "\(word)") }
        let simulate = try IonLinkProcess.run(["simulate", "--help"])
        for word in ["--params", "--traces", "--count", "--out", "--shard", "--seed", "--threads", "--noise-pa", "--config", "resume"] {
            #expect(simulate.out.contains(word), "\(word)")
        }
        #expect(try IonLinkProcess.run(["bank", "merge", "--help"]).out.contains("byte-identical"))
        #expect(try IonLinkProcess.run(["bench", "simulate", "--help"]).out.contains("simulations/s per"))
    }

    @Test("bench simulate --features times the features inside the run: µs per trace and their share of the simulation time, before the rate on the last line")
    func benchSimulateFeatureShare() throws {
        let run = try IonLinkProcess.run(["bench", "simulate", "--count", "16", "--repeats", "1", "--features"])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n").map(String.init)
        let share = lines.first { $0.hasPrefix("features inline: ") }
            .flatMap { Double($0.dropFirst("features inline: ".count).prefix { $0 != "%" }) }
        #expect(share.map { $0 > 0 && $0.isFinite } == true, "\(run.out)")
        #expect(lines.contains { $0.hasPrefix("repeat 1:") && $0.contains("µs per trace") })
        #expect(lines.last?.hasSuffix("simulations/s per core") == true)
    }

    @Test("simulate --params writes [rows, 20000] float64 traces; a row outside the prior is a clear error")
    func simulateParams() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let header = "id,C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS\n"
        let good = "a,9.537584,272.99161,21.443249,93.058479,36.26632,10.740511,0.880451,27.365699,0.912325,-85.184921,413.258078,-54.367571,1.655731\n"
        try (header + good).write(toFile: folder + "/p.csv", atomically: true, encoding: .utf8)
        let ok = try IonLinkProcess.run(["simulate", "--params", folder + "/p.csv", "--noise-pa", "0", "--traces", folder + "/t.npy"])
        #expect(ok.status == 0, "\(ok.err)")
        let data = try #require(FileManager.default.contents(atPath: folder + "/t.npy"))
        #expect(String(decoding: data.prefix(128), as: UTF8.self).contains("'descr': '<f8', 'fortran_order': False, 'shape': (1, 20000)"))
        #expect(data.count == 128 + 20000 * 8)

        try (header + good + "b,1,200,10,100,50,10,1,50,1,-70,500,-60,5\n").write(toFile: folder + "/bad.csv", atomically: true, encoding: .utf8)
        let bad = try IonLinkProcess.run(["simulate", "--params", folder + "/bad.csv", "--traces", folder + "/bad.npy"])
        #expect(bad.status != 0)
        #expect(bad.err.contains("bad.csv (row 2 (id b), column r_SS)"), "\(bad.err)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/bad.npy"))
    }

    @Test("simulate --params streams traces in chunks: over 1024 rows, its features equal the features-only path's, row by row")
    func simulateParamsStreams() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A short protocol (60 ms, step 10–50 ms) keeps 1100 simulations quick in a debug build.
        let config = try IonLinkProcess.run(["simulate", "--print-config"]).out
            .replacingOccurrences(of: "\"duration_ms\" : 800", with: "\"duration_ms\" : 60")
            .replacingOccurrences(of: "\"from_ms\" : 100", with: "\"from_ms\" : 10").replacingOccurrences(of: "\"to_ms\" : 700", with: "\"to_ms\" : 50")
        try config.write(toFile: folder + "/short.json", atomically: true, encoding: .utf8)
        let header = "id,C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS\n"
        let rows = (0..<1100).map { "r\($0),1.5,100,5,200,50,10,0.5,50,1,-70,500,-60,1\n" }.joined()
        try (header + rows).write(toFile: folder + "/p.csv", atomically: true, encoding: .utf8)
        let both = try IonLinkProcess.run(["simulate", "--config", folder + "/short.json", "--params", folder + "/p.csv", "--traces", folder + "/t.npy",
                                           "--features", folder + "/f_traces.csv", "--quiet"])
        #expect(both.status == 0, "\(both.err)")
        let only = try IonLinkProcess.run(["simulate", "--config", folder + "/short.json", "--params", folder + "/p.csv",
                                           "--features", folder + "/f_only.csv", "--quiet"])
        #expect(only.status == 0, "\(only.err)")
        let traces = try NPYArray.read(folder + "/t.npy")
        #expect(traces.shape == [1100, 1500])
        // The same parameters, but each row its own noise stream: rows differ, and both paths agree on every row.
        #expect(Array(traces.values[0 ..< 1500]) != Array(traces.values[1050 * 1500 ..< 1051 * 1500]))
        let a = try String(contentsOfFile: folder + "/f_traces.csv", encoding: .utf8), b = try String(contentsOfFile: folder + "/f_only.csv", encoding: .utf8)
        #expect(a == b)
    }

    @Test("An NWB file that crashes libhdf5 (one byte changed) is left out with a message; the other files are read")
    func damagedHDF5() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/sweeps.nwb"
        var bytes = try #require(FileManager.default.contents(atPath: good))
        bytes[3063] = 0x32   // segfaults libhdf5 1.10 inside H5HG_read when read in process
        _ = FileManager.default.createFile(atPath: folder + "/damaged.nwb", contents: bytes)
        let both = try IonLinkProcess.run(["features", folder + "/damaged.nwb", good, "--out", folder + "/cells.csv", "--quiet"])
        #expect(both.status == 0, "\(both.err)")
        #expect(both.err.contains("damaged.nwb") && both.err.contains("left out"), "\(both.err)")
        let table = try String(contentsOfFile: folder + "/cells.csv", encoding: .utf8)
        #expect(table.contains("sweeps.nwb") && !table.contains("damaged.nwb"))
        let alone = try IonLinkProcess.run(["features", folder + "/damaged.nwb", "--out", folder + "/alone.csv"])
        #expect(alone.status == 1 && alone.err.contains("damaged.nwb"), "status \(alone.status): \(alone.err)")
    }

    @Test("An existing folder IonLink did not make is refused as output unless --force; its own folders are reused")
    func foreignOutputFolder() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/mine", withIntermediateDirectories: true)
        try "my notes".write(toFile: folder + "/mine/notes.txt", atomically: true, encoding: .utf8)
        let refused = try IonLinkProcess.run(["simulate", "--count", "10", "--out", folder + "/mine", "--quiet"])
        #expect(refused.status != 0 && refused.err.contains("did not write") && refused.err.contains("notes.txt") && refused.err.contains("--force"), "\(refused.err)")
        let forced = try IonLinkProcess.run(["simulate", "--count", "10", "--out", folder + "/mine", "--quiet", "--force"])
        #expect(forced.status == 0, "\(forced.err)")
        #expect(try String(contentsOfFile: folder + "/mine/notes.txt", encoding: .utf8) == "my notes")
        // A folder IonLink made (its marker) is written again without --force.
        let again = try IonLinkProcess.run(["simulate", "--count", "10", "--out", folder + "/mine", "--quiet"])
        #expect(again.status == 0, "\(again.err)")
    }

    @Test("A bank killed with SIGKILL and rerun equals an uninterrupted one; shards merge to it", .tags(.slow))
    func killAndResume() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = """
        {"model": {"name": "M1, short protocol", "temperature_celsius": 25, "E_Na": 69.0, "E_K": -98.4, "E_Ca": 127.2,
          "parameters": [{"name": "C", "low": 0.1, "high": 15}, {"name": "R_input", "low": 20, "high": 1000},
            {"name": "tau", "low": 0.1, "high": 70}, {"name": "gNat", "low": 0, "high": 250}, {"name": "gNa", "low": 0, "high": 100},
            {"name": "gKd", "low": 0, "high": 30}, {"name": "gM", "low": 0, "high": 3}, {"name": "gKv31", "low": 0, "high": 250},
            {"name": "gL", "low": 0, "high": 3}, {"name": "E_leak", "low": -130, "high": -50}, {"name": "tau_max", "low": 50, "high": 4000},
            {"name": "VT", "low": -90, "high": -35}, {"name": "r_SS", "low": 0.1, "high": 3}]},
         "protocol": {"dt_ms": 0.04, "duration_ms": 100, "noise_pa": 10, "steps": [{"from_ms": 20, "to_ms": 80, "current_pa": 300}]}}
        """
        try config.write(toFile: folder + "/short.json", atomically: true, encoding: .utf8)
        let common = ["simulate", "--config", folder + "/short.json", "--count", "2400", "--seed", "11", "--chunk-size", "100",
                      "--keep-traces", "150", "--threads", "2", "--quiet"]
        let whole = try IonLinkProcess.run(common + ["--out", folder + "/whole"])
        #expect(whole.status == 0, "\(whole.err)")

        // Killed with SIGKILL in the middle of writing its fourth chunk (a failpoint, so no race with the clock).
        let killed = try IonLinkProcess.run(common + ["--out", folder + "/killed"], environment: ["IONLINK_KILL_AT": "bank-chunk-half-written:4"])
        #expect(killed.status == 9, "expected death by SIGKILL, got \(killed.status): \(killed.err)")
        let chunks = try FileManager.default.contentsOfDirectory(atPath: folder + "/killed/chunks")
        #expect(chunks.filter { $0.count == 6 }.count == 3 && chunks.contains { $0.contains(".partial-") }, "\(chunks)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/killed/theta.npy"))
        let resumed = try IonLinkProcess.run(common + ["--out", folder + "/killed"])
        #expect(resumed.status == 0, "\(resumed.err)")

        for i in 0..<2 {
            let part = try IonLinkProcess.run(common + ["--out", folder + "/part\(i)", "--shard", "\(i)/2", "--threads", "1"])
            #expect(part.status == 0, "\(part.err)")
        }
        let merged = try IonLinkProcess.run(["bank", "merge", folder + "/part1", folder + "/part0", "--out", folder + "/merged"])
        #expect(merged.status == 0, "\(merged.err)")

        for file in ["manifest.json", "theta.npy", "valid.npy", "spike_count.npy", "traces.npy"] {
            let reference = FileManager.default.contents(atPath: folder + "/whole/" + file)
            #expect(reference != nil)
            #expect(FileManager.default.contents(atPath: folder + "/killed/" + file) == reference, "\(file) after kill -9 and resume")
            #expect(FileManager.default.contents(atPath: folder + "/merged/" + file) == reference, "\(file) merged from shards")
        }
        let info = try IonLinkProcess.run(["bank", "info", folder + "/whole"])
        #expect(info.out.contains("complete:    yes"))
    }

    @Test("The shipped V1 configuration runs from the command line")
    func v1Config() throws {
        let out = try IonLinkProcess.run(["simulate", "--config", repository + "/configs/v1.json", "--print-config"])
        #expect(out.status == 0)
        #expect(out.out.contains("\"I\""))
        // The 14th parameter is the step: golden theta2 at 60 pA and at 300 pA, 1200 ms at 34 °C (6 and 53 spikes).
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let theta2 = "4.6663,887.83,47.671,195.46,58.235,26.093,2.588,73.475,0.15024,-66.966,1046.6,-70.326,1.5891"
        try "id,C,R_input,tau,gNat,gNa,gKd,gM,gKv31,gL,E_leak,tau_max,VT,r_SS,I\nweak,\(theta2),60\nstrong,\(theta2),300\n"
            .write(toFile: folder + "/p.csv", atomically: true, encoding: .utf8)
        let run = try IonLinkProcess.run(["simulate", "--config", repository + "/configs/v1.json", "--params", folder + "/p.csv",
                                          "--noise-pa", "0", "--traces", folder + "/t.npy"])
        #expect(run.status == 0, "\(run.err)")
        let traces = try NPYArray.read(folder + "/t.npy")
        #expect(traces.shape == [2, 30_000])
        func spikes(_ row: Int) -> Int {
            let v = traces.values[row * 30_000 ..< (row + 1) * 30_000]
            return zip(v.dropLast(), v.dropFirst()).filter { $0 < 0 && $1 >= 0 }.count
        }
        #expect(spikes(0) >= 3 && spikes(1) > 5 * spikes(0), "300 pA: \(spikes(1)) spikes, 60 pA: \(spikes(0))")
    }
}

@Suite struct FeaturesCommandTests {
    @Test("features --traces writes id + 23 features per row, matching the golden features")
    func tracesMode() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let golden = repository + "/Sources/IonLinkTestSupport/Golden"
        let run = try IonLinkProcess.run(["features", "--traces", golden + "/sim_traces_f64.npy", "--dt-ms", "0.04", "--current-pa", "300",
                                          "--step-start-ms", "100", "--step-end-ms", "700", "--out", folder + "/f.csv", "--quiet"])
        #expect(run.status == 0, "\(run.err)")
        let ours = try String(contentsOfFile: folder + "/f.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let theirs = try String(contentsOfFile: golden + "/sim_features.csv", encoding: .utf8).split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(ours.count == 30)
        #expect(Array(ours[0].dropFirst()) == Array(theirs[0].dropFirst()))
        for r in 1..<30 {
            for c in 1...23 {
                let x = Double(ours[r][c]) ?? .nan, y = Double(theirs[r][c]) ?? .nan
                #expect(x.isNaN == y.isNaN && (x.isNaN || x == y || abs(x - y) <= 1e-3 * max(1, abs(y))), "row \(r) column \(c)")
            }
        }
    }

    @Test("features on recordings writes cells, sweeps and plots; a bad file is a clear error")
    func recordingsMode() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let b95 = repository + "/data/recordings/bluepyefe/B95_IDRest.csv"
        let run = try IonLinkProcess.run(["features", b95, "--out", folder + "/cells.csv", "--sweep-table", folder + "/sweeps.csv",
                                          "--plots", folder + "/plots", "--quiet"])
        #expect(run.status == 0, "\(run.err)")
        let sweeps = try String(contentsOfFile: folder + "/sweeps.csv", encoding: .utf8).split(separator: "\n")
        #expect(sweeps.count == 2)
        #expect(sweeps[0].hasPrefix("file,sweep,window,stimulus_pa,"))
        #expect(sweeps[1].contains(",107,0,37.5,") && sweeps[1].contains(",9,0,"))
        #expect(FileManager.default.fileExists(atPath: folder + "/plots/B95_IDRest.png"))
        let cells = try String(contentsOfFile: folder + "/cells.csv", encoding: .utf8)
        #expect(cells.hasPrefix("cell_id,file,sweeps,rheobase_pa,"))
        try "not an abf".write(toFile: folder + "/bad.abf", atomically: true, encoding: .utf8)
        let bad = try IonLinkProcess.run(["features", folder + "/bad.abf", "--out", folder + "/x.csv"])
        #expect(bad.status != 0 && bad.err.contains("bad.abf") && bad.err.contains("not an ABF file"), "\(bad.err)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/x.csv"))
    }
}

@Suite struct RegressCommandTests {
    @Test("regress on the shipped M1 data writes the CV table, genes, loadings, per-output R² and a bi-plot")
    func regress() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = repository + "/data/m1"
        let run = try IonLinkProcess.run(["regress", "--counts", data + "/gene_counts.csv.gz", "--params", data + "/npe_n_map_parameters.csv.gz",
                                          "--out", folder, "--lambdas", "0.2,0.6", "--folds", "5", "--quiet"])
        #expect(run.status == 0, "\(run.err)")
        let cv = try String(contentsOfFile: folder + "/cv.csv", encoding: .utf8).split(separator: "\n")
        #expect(cv[0].hasPrefix("rank,lambda,alpha,fold,n_genes,r2_test,r2_test_relaxed,r2_train"))
        #expect(cv.count == 1 + 2 * 5)
        let genes = try String(contentsOfFile: folder + "/genes.csv", encoding: .utf8).split(separator: "\n")
        #expect(genes[0] == "gene,w1,w2" && genes.count > 5)
        #expect(genes.contains { $0.hasPrefix("Pvalb,") })
        let loadings = try String(contentsOfFile: folder + "/loadings.csv", encoding: .utf8).split(separator: "\n")
        #expect(loadings.count == 14 && loadings[0] == "output,v1,v2")
        #expect(FileManager.default.fileExists(atPath: folder + "/biplot.png"))
        #expect(try String(contentsOfFile: folder + "/report.txt", encoding: .utf8).contains("942 cells matched"))
        // A rerun that fails at its last step (posterior draws without a `sample` column) leaves the folder as it was.
        let before = try String(contentsOfFile: folder + "/report.txt", encoding: .utf8)
        let draws = folder + "-draws.csv"
        defer { unlink(draws) }
        try "cell_id,C\nx,1\n".write(toFile: draws, atomically: true, encoding: .utf8)
        let failed = try IonLinkProcess.run(["regress", "--counts", data + "/gene_counts.csv.gz", "--params", data + "/npe_n_map_parameters.csv.gz",
                                             "--out", folder, "--lambdas", "0.3", "--folds", "5", "--posterior-samples", draws, "--quiet"])
        #expect(failed.status != 0 && failed.err.contains("sample"), "\(failed.err)")
        #expect(try String(contentsOfFile: folder + "/report.txt", encoding: .utf8) == before)
        #expect(try String(contentsOfFile: folder + "/cv.csv", encoding: .utf8).split(separator: "\n").count == 1 + 2 * 5)
        #expect(!FileManager.default.fileExists(atPath: folder + "/posterior_draws.csv"))
        let name = URL(fileURLWithPath: folder).lastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: URL(fileURLWithPath: folder).deletingLastPathComponent().path)
                    .allSatisfy { !$0.hasPrefix(name + ".partial-") })
    }

    @Test("regress with ids that match nothing says so")
    func noOverlap() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "cell_id,a\nx,1\ny,2\nz,3\n".write(toFile: folder + "/p.csv", atomically: true, encoding: .utf8)
        let run = try IonLinkProcess.run(["regress", "--counts", repository + "/data/m1/gene_counts.csv.gz", "--params", folder + "/p.csv", "--out", folder + "/r"])
        #expect(run.status != 0 && run.err.contains("p.csv") && run.err.contains("match"), "\(run.err)")
    }
}

/// A whole `run` on a lab's recordings (about 2 minutes with a debug build, 10 s with a release one:
/// `IONLINK_BINARY=.build/release/ionlink swift test --filter LabRunTests`).
@Suite struct LabRunTests {
    @Test("run --recordings on a small folder of recordings (CSV, every NWB layout, a damaged NWB) plus a gene table, simulating in float32: completes, reports joins and the cells left out", .tags(.slow))
    func labRun() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Recordings: the golden simulations as CSV sweeps (300 pA from 100 to 700 ms), each spiking one twice (shifted
        // by ±1 mV, so 26 distinct cells), and two that fire too little.
        let golden = try NPYArray.read(repository + "/Sources/IonLinkTestSupport/Golden/sim_traces_f64.npy")
        let spikes = try String(contentsOfFile: repository + "/Sources/IonLinkTestSupport/Golden/sim_spikes.csv", encoding: .utf8)
            .split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let samples = golden.shape[1]
        var files: [String] = [], cells: [String] = [], quiet = 0
        for (row, fields) in spikes.enumerated() {
            let count = Int(fields[4]) ?? 0, clipped = Int(fields[5]) ?? 0
            let shifts: [Double] = count >= 5 && clipped == 0 ? [-1, 1] : (count < 3 && quiet < 2 ? [0] : [])
            if count < 3 && !shifts.isEmpty { quiet += 1 }
            for shift in shifts {
                let name = "cell\(row)_\(shift < 0 ? "a" : "b")"
                var text = "t_ms,V_mV,I_pA\n"
                for k in 0..<samples {
                    text += "\(Double(k) * 0.04),\(golden.values[row * samples + k] + shift),\(k >= 2500 && k < 17_500 ? 300 : 0)\n"
                }
                try text.write(toFile: folder + "/\(name).csv", atomically: true, encoding: .utf8)
                files.append(folder + "/\(name).csv")
                cells.append(name)
            }
        }
        #expect(cells.count == 28)
        // The NWB layout fixtures (theta1 at 300 pA in every layout; cell id from session_id) and a damaged NWB file.
        let layouts = repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/layouts"
        for layout in ["conversion", "dandi000008", "icephys", "icephys_crossed", "mies"] {
            files.append(layouts + "/\(layout).nwb")
            cells.append("cell-\(layout)")
        }
        files.append(repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/latest.nwb")
        // Gene counts (cells × genes) for every cell, ion-channel genes and markers with varied counts.
        let genes = ["Kcnc1", "Kcnc2", "Scn1a", "Cacna2d1", "Hcn1", "Kcnd2", "Pvalb", "Sst", "Vip", "Lamp5"]
        var state: UInt64 = 7
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 58) }
        let table = "cell_id," + genes.joined(separator: ",") + "\n" + cells.map { cell in cell + "," + genes.map { _ in "\(5 + next())" }.joined(separator: ",") + "\n" }.joined()
        try table.write(toFile: folder + "/genes.csv", atomically: true, encoding: .utf8)
        let run = try IonLinkProcess.run(["run", "--recordings"] + files + ["--counts", folder + "/genes.csv", "--ljp-mv", "0", "--target-pa", "300",
                                          "--simulations", "2000", "--rounds", "1", "--neighbours", "20", "--samples", "50", "--candidates", "2",
                                          "--precision", "float32", "--out", folder + "/results", "--quiet"])
        #expect(run.status == 0, "\(run.err)")
        #expect(try String(contentsOfFile: folder + "/results/bank/manifest.json", encoding: .utf8).contains("\"precision\" : \"float32\""))
        let observed = try String(contentsOfFile: folder + "/results/observed/observed.csv", encoding: .utf8).split(separator: "\n")
        #expect(observed.count == 1 + 31)
        let leftOut = try String(contentsOfFile: folder + "/results/observed/left_out.csv", encoding: .utf8)
        #expect(leftOut.split(separator: "\n").count == 1 + 3 && leftOut.contains("fewer than 5") && leftOut.contains("latest.nwb"), "\(leftOut)")
        let report = try String(contentsOfFile: folder + "/results/report.html", encoding: .utf8)
        #expect(report.contains("34 files → 31 cells with features, 3 left out") && report.contains("every cell scored, one family"))
        #expect(report.contains("float32 (features equal to float64"))
        #expect(try String(contentsOfFile: folder + "/results/regression/report.txt", encoding: .utf8).contains("31 cells matched"))
        // The report overlays each example cell's recorded sweep, aligned on the model's grid: here the golden trace ± 1 mV.
        let examples = try String(contentsOfFile: folder + "/results/fits/example_traces.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",").map(String.init) }
        let recordedRows = examples.enumerated().filter { $0.element[2] == "recorded" }
        #expect(!recordedRows.isEmpty && report.contains("in black the recorded sweep"))
        let drawn = try NPYArray.read(folder + "/results/fits/example_traces.npy")
        for (r, row) in recordedRows {
            // CSV cells are golden row N ± 1 mV (cellN_a, cellN_b); NWB cells (cell-LAYOUT) golden theta1 as float32.
            let name = row[0], fromNWB = name.hasPrefix("cell-")
            let goldenRow = fromNWB ? 0 : Int(name.dropFirst(4).prefix { $0 != "_" })!, shift = fromNWB ? 0 : name.hasSuffix("_a") ? -1.0 : 1.0
            for k in stride(from: 0, to: samples, by: 997) {
                let expected = golden.values[goldenRow * samples + k] + shift
                #expect(abs(drawn.values[r * samples + k] - expected) < 1e-3 * max(1, abs(expected)), "\(name) sample \(k)")
            }
        }
    }
}

@Suite struct InferenceCommandTests {
    @Test("train on NPY pairs, infer on observations, diagnose: files of the documented shapes, for each estimator",
          arguments: [("maf", "rejection"), ("nsf", "logit"), ("mdn", "rejection")])
    func trainInferDiagnose(estimator: String, boundary: String) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // θ ~ U(0, 1)², x = (θ₁ + θ₂, θ₁ − θ₂) + noise.
        var theta: [Double] = [], x: [Double] = []
        var state: UInt64 = 12345
        func uniform() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) }
        for _ in 0..<600 {
            let a = uniform(), b = uniform()
            theta += [a, b]
            x += [a + b + 0.05 * (uniform() - 0.5), a - b + 0.05 * (uniform() - 0.5)]
        }
        try NPYWriter.write(theta, shape: [600, 2], element: .float64, to: folder + "/theta.npy")
        try NPYWriter.write(x, shape: [600, 2], element: .float32, to: folder + "/x.npy")
        let train = try IonLinkProcess.run(["train", "--theta", folder + "/theta.npy", "--x", folder + "/x.npy", "--prior-low", "0,0",
                                            "--prior-high", "1,1", "--out", folder + "/model.json", "--max-epochs", "3", "--hidden", "8",
                                            "--transforms", "2", "--estimator", estimator, "--prior-boundary", boundary])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.out.contains("epoch 1: train log-prob") && train.out.contains("validation log-prob"))
        #expect(train.out.contains("training a" + (estimator == "maf" ? " MAF" : "n " + estimator.uppercased())), "\(train.out)")
        try "id,x_1,x_2\ncellA,1.0,0.2\ncellB,0.5,-0.1\ncellC,NaN,0\n".write(toFile: folder + "/obs.csv", atomically: true, encoding: .utf8)
        let infer = try IonLinkProcess.run(["infer", "--model", folder + "/model.json", "--observed", folder + "/obs.csv", "--out", folder + "/fit",
                                            "--samples", "100", "--quiet"])
        #expect(infer.status == 0, "\(infer.err)")
        let map = try String(contentsOfFile: folder + "/fit/map.csv", encoding: .utf8).split(separator: "\n")
        #expect(map.count == 4 && map[0] == "id,theta_1,theta_2" && map[3].hasPrefix("cellC,NaN"))
        let samples = try #require(FileManager.default.contents(atPath: folder + "/fit/samples.npy"))
        #expect(String(decoding: samples.prefix(100), as: UTF8.self).contains("'shape': (3, 100, 2)"))
        let logProbs = try #require(FileManager.default.contents(atPath: folder + "/fit/log_probs.npy"))
        #expect(String(decoding: logProbs.prefix(100), as: UTF8.self).contains("'shape': (3, 100)"))
        #expect(FileManager.default.fileExists(atPath: folder + "/fit/posterior_mean.csv"))
        let drawn = try NPYArray.read(folder + "/fit/samples.npy").values.prefix(200)   // cellA's draws
        #expect(drawn.allSatisfy { $0 >= 0 && $0 <= 1 }, "samples outside the prior box")
        if boundary == "logit" {
            let acceptance = try String(contentsOfFile: folder + "/fit/acceptance.csv", encoding: .utf8).split(separator: "\n")
            #expect(acceptance[1] == "cellA,1.0", "\(acceptance)")
        }
        let diagnose = try IonLinkProcess.run(["diagnose", "--model", folder + "/model.json", "--theta", folder + "/theta.npy", "--x", folder + "/x.npy",
                                               "--cases", "20", "--samples", "50"])
        #expect(diagnose.status == 0 && diagnose.out.contains("SBC") && diagnose.out.contains("expected coverage"), "\(diagnose.err)")
        let bad = try IonLinkProcess.run(["infer", "--model", folder + "/obs.csv", "--observed", folder + "/obs.csv", "--out", folder + "/x"])
        #expect(bad.status != 0 && bad.err.contains("not an IonLink estimator file"))
        // Features are matched by name: a misspelled column is an error naming it, never a fallback by position.
        try "id,x_1,x_two\ncellA,1.0,0.2\n".write(toFile: folder + "/misspelled.csv", atomically: true, encoding: .utf8)
        let misspelled = try IonLinkProcess.run(["infer", "--estimator", folder + "/model.json", "--observed", folder + "/misspelled.csv",
                                                 "--out", folder + "/y"])
        #expect(misspelled.status != 0 && misspelled.err.contains("'x_2'") && misspelled.err.contains("'x_two'"), "\(misspelled.err)")
    }
}

@Suite struct RunCommandTests {
    @Test("Negative numbers are values, not options: --prior-low -3,-3 and --noise-pa -1 reach their checks")
    func negativeValues() throws {
        let train = try IonLinkProcess.run(["train", "--theta", "/nonexistent/t.npy", "--x", "/nonexistent/x.npy", "--prior-low", "-3,-3",
                                            "--prior-high", "3,3", "--out", "/nonexistent/m.json"])
        #expect(train.status != 0 && !train.err.contains("Missing value") && train.err.contains("/nonexistent/t.npy"), "\(train.err)")
        let simulate = try IonLinkProcess.run(["simulate", "--count", "10", "--out", "/nonexistent/b", "--noise-pa", "-1"])
        #expect(simulate.status != 0 && simulate.err.contains("--noise-pa must be a number ≥ 0"), "\(simulate.err)")
    }

    @Test("run refuses a --data folder without the shipped tables, naming the file; its help lists the steps")
    func wrongDataFolder() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let missing = try IonLinkProcess.run(["run", "--out", folder, "--data", folder])
        #expect(missing.status != 0 && missing.err.contains("--data") && missing.err.contains("M1_features_X_o.csv.gz"))
        let help = try IonLinkProcess.run(["run", "--help"])
        #expect(help.out.contains("MAP check") && help.out.contains("best fits") && help.out.contains("--preset") && help.out.contains("report.html"))
    }
}
