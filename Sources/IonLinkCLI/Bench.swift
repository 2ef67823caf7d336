import ArgumentParser
import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology
import IonLinkInference
import IonLinkPipeline

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure IonLink's speed (build with -c release for meaningful numbers).",
        subcommands: [SimulateBench.self, PrecisionBench.self, FeaturesBench.self, PosteriorBench.self]
    )

    struct PosteriorBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "posterior",
            abstract: "Time posterior sampling with log-probs (what run and infer do per cell) for a trained estimator.",
            discussion: """
              ionlink bench posterior --estimator results/model.json --observed data/m1/M1_features_X_o.csv.gz --cells 20 --samples 10000

            Draws --samples samples and their log-probs for each of the first --cells cells with every feature defined, on \
            --threads threads, --repeats times. The last line is `<number> s per cell` (the median repeat's wall time × threads / cells, \
            so per core).
            """
        )
        @Option(help: ArgumentHelp("A trained estimator.", valueName: "ESTIMATOR.json")) var estimator: String
        @Option(help: ArgumentHelp("Observed features: id + the estimator's feature columns (CSV, .gz allowed).", valueName: "CELLS.csv"))
        var observed: String
        @Option(help: "Cells.") var cells = 20
        @Option(help: "Samples per cell.") var samples = 10_000
        @Option(help: "Threads.") var threads = 1
        @Option(help: "Repeats (the median is reported).") var repeats = 3

        func run() throws {
            let posterior = try Posterior.read(estimator)
            let table = try ObservedCells.read(observed, featureNames: posterior.featureNames)
            let rows = (0..<table.count).filter { table.features.row($0).allSatisfy(\.isFinite) }.prefix(cells)
            let x = table.features.selectingRows(Array(rows))
            var times: [Double] = []
            for r in 0..<repeats {
                let start = Date()
                PosteriorSampler(posterior: posterior, samples: samples, seed: 1, threads: threads).run(x) { _, _ in }
                let seconds = Date().timeIntervalSince(start)
                times.append(seconds)
                print(String(format: "repeat %d: %.2f s for %d cells × %d samples with log-probs on %d thread(s)", r + 1, seconds, x.rows, samples, threads))
            }
            let median = times.sorted()[times.count / 2]
            print(String(format: "%.3f s per cell", median * Double(threads) / Double(x.rows)))
        }
    }

    struct FeaturesBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "features",
            abstract: "Time the 23-feature extraction on simulated paper-protocol traces (noise on), one thread.",
            discussion: "Simulates --count traces from the prior (or reads --traces), then extracts features --repeats times. The last line is `<number> µs per trace`."
        )
        @Option(help: "Traces to simulate from the prior.") var count = 512
        @Option(help: ArgumentHelp("Use these traces instead (NPY [rows, samples], dt 0.04 ms, step 100–700 ms).", valueName: "T.npy"))
        var traces: String?
        @Option(help: "Repeats (the median is reported).") var repeats = 5
        @Option(help: "The arithmetic the traces are simulated in, and the derivatives that go with it: float64 (the reference's, bit for bit) or float32 (`FeatureExtractor.Derivatives.fast`).")
        var precision: BatchSimulator.Precision = .float64

        func run() throws {
            let configuration = SimulationConfiguration.paperM1
            var matrix: [Double]
            var rows: Int
            if let traces {
                let array = try NPYArray.read(traces)
                matrix = array.values
                rows = array.shape[0]
            } else {
                let theta = (0..<count).flatMap { configuration.model.priorDraw(seed: 1, index: UInt64($0)) }
                matrix = BatchSimulator(configuration: configuration, precision: precision).traces(parameters: theta, rowCount: count, seed: 1).traces
                rows = count
            }
            let extractor = FeatureExtractor(dtMs: 0.04, startMs: 100, endMs: 700, derivatives: .init(for: precision))
            var perTrace: [Double] = []
            for r in 0..<repeats {
                let start = Date()
                let values = extractor.features(ofRows: matrix, rows: rows, threads: 1)
                let seconds = Date().timeIntervalSince(start)
                perTrace.append(seconds / Double(rows) * 1e6)
                let defined = (0..<rows).filter { i in (0..<PaperFeatures.count).allSatisfy { values[i * PaperFeatures.count + $0].isFinite } }.count
                print(String(format: "repeat %d: %.3f s for %d traces, %.1f µs per trace (%d with all 23 features defined)", r + 1, seconds, rows, perTrace.last!, defined))
            }
            let median = perTrace.sorted()[perTrace.count / 2]
            print(String(format: "%.1f µs per trace", median))
        }
    }

    struct SimulateBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "simulate",
            abstract: "Simulation throughput of the paper protocol (800 ms, dt 0.04 ms, noise on) from prior draws.",
            discussion: "Prints each repeat and the median; the last line is `<number> simulations/s per core`."
        )
        @Option(help: "Simulations per repeat.") var count = 2048
        @Option(help: "Repeats (the median is reported).") var repeats = 5
        @Option(help: "Threads (per-core throughput = total / threads).") var threads = 1
        @Option(help: "Current-noise SD, pA.") var noisePa = 10.0
        @Option(help: "Model and protocol: a JSON configuration file or a preset (m1, v1).") var config = "m1"
        @Option(help: "Kernel variant: automatic, baseline, avx2, avx512 (results are identical; speed is not).")
        var kernel: BatchSimulator.KernelVariant = .automatic
        @Option(help: "Kernel arithmetic: float64 (the reference) or float32 (see `bench precision`).")
        var precision: BatchSimulator.Precision = .float64
        @Flag(help: "Also compute the 23 features of every trace inline, as a bank does.") var features = false

        func run() throws {
            var configuration = try SimulationConfiguration.load(config)
            configuration.protocol.noisePA = noisePa
            let model = configuration.model
            var theta = [Double]()
            for i in 0..<count { theta += model.priorDraw(seed: 1, index: UInt64(i)) }
            guard BatchSimulator.supports(kernel) else { throw ValidationError("This CPU cannot run the \(kernel.rawValue) kernel.") }
            let simulator = BatchSimulator(configuration: configuration, precision: precision, threads: threads, kernel: kernel)
            let window = configuration.protocol.stimulusWindow
            let samples = simulator.sampleCount
            print("kernel: \(kernel == .automatic ? BatchSimulator.instructionSet : kernel.rawValue), \(precision.rawValue); \(count) simulations × \(samples) steps, \(threads) thread(s), noise \(noisePa) pA\(features ? ", 23 features inline" : "")")
            let summary: PaperFeatureSummary? = features ? PaperFeatureSummary(precision: precision) : nil
            let stimulus = configuration.protocol
            var rates = [Double](), shares = [Double]()
            for r in 0..<repeats {
                let start = Date()
                let spikes = SharedTotal(), featureNanoseconds = SharedTotal()
                simulator.simulate(parameters: theta, rowCount: count, seed: UInt64(r + 1), firstIndex: 0) { block in
                    var total = 0
                    for j in 0..<block.rows.count {
                        total += SpikeCount.upwardCrossings(UnsafeBufferPointer(rebasing: block.traces[j * samples ..< (j + 1) * samples]), window: window)
                    }
                    spikes.add(total)
                    if let summary {
                        let before = DispatchTime.now().uptimeNanoseconds
                        _ = summary.values(ofBlock: block.traces, count: block.rows.count, protocol: stimulus)
                        featureNanoseconds.add(Int(DispatchTime.now().uptimeNanoseconds - before))
                    }
                }
                let seconds = Date().timeIntervalSince(start)
                rates.append(Double(count) / seconds / Double(threads))
                var line = String(format: "repeat %d: %.3f s, %.0f simulations/s per core (%d spikes)", r + 1, seconds, rates.last!, spikes.value)
                if summary != nil {
                    // Timed around the features of each block, in the same run as the simulation: a drift of the
                    // machine's speed reaches both, unlike rates taken in two runs.
                    let features = Double(featureNanoseconds.value) / 1e9
                    shares.append(100 * features / (seconds * Double(threads) - features))
                    line += String(format: "; features %.1f µs per trace, %.1f%% of the simulation time", 1e6 * features / Double(count), shares.last!)
                }
                print(line)
            }
            func middle(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            let median = middle(rates)
            if !shares.isEmpty {
                print(String(format: "features inline: %.1f%% of the simulation time (median of %d)", middle(shares), repeats))
            }
            print(String(format: "median of %d: %.0f simulations/s per core", repeats, median))
            print(String(format: "%.0f simulations/s per core", median))
        }
    }

    struct PrecisionBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "precision",
            abstract: "The float32 kernel against float64: the same prior draws and noise, compared sample by sample and in distribution.",
            discussion: """
              ionlink bench precision --count 20000 --out precision.csv

            Simulates --count prior draws in each arithmetic with the 23 features inline, then prints the share of samples \
            whose spike count is equal, and per feature the two-sample Kolmogorov–Smirnov distance and p-value with the \
            median and 99th-percentile difference per sample (in SDs of the float64 feature), and the speed of each. \
            --out writes the per-feature table as CSV.
            """
        )
        @Option(help: "Prior draws.") var count = 20_000
        @Option(help: "Seed of the draws and of the noise.") var seed: UInt64 = 1
        @Option(help: "Threads.") var threads = availableCores
        @Option(help: "Model and protocol: a JSON configuration file or a preset (m1, v1).") var config = "m1"
        @Option(help: ArgumentHelp("Write the per-feature table here (CSV).", valueName: "OUT.csv")) var out: String?

        func validate() throws {
            guard count >= 2 else { throw ValidationError("--count must be at least 2.") }
        }

        func run() throws {
            let configuration = try SimulationConfiguration.load(config)
            let model = configuration.model
            var values = [Double]()
            for i in 0..<count { values += model.priorDraw(seed: seed, index: UInt64(i)) }
            let theta = Matrix(rows: count, columns: model.parameters.count, values: values)
            let progress = ProgressReporter("simulate float64, then float32", total: 2 * count, unit: "sims")
            let comparison = PrecisionComparison.measure(configuration: configuration, theta: theta, seed: seed, threads: threads) {
                progress.advance(by: $0)
            }
            progress.finish()
            let header = ["feature", "defined_float64", "defined_float32", "ks_statistic", "ks_p_value", "median_abs_diff_sd", "p99_abs_diff_sd"]
            let rows = comparison.features.map { f in
                [f.name, String(f.defined.float64), String(f.defined.float32), String(format: "%.4f", f.ksStatistic),
                 String(format: "%.3g", f.pValue), String(format: "%.2g", f.medianDifference), String(format: "%.2g", f.p99Difference)]
            }
            print("\(count) prior draws of \(model.name), seed \(seed), \(threads) thread(s), features inline")
            print(String(format: "spike counts equal: %d of %d (%.2f%%); validity differs on %d", comparison.equalSpikeCounts, count,
                         100 * comparison.equalSpikeCountFraction, comparison.validityDiffers))
            let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
            for row in [header] + rows {
                print(row.enumerated().map { c, cell in c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell }.joined(separator: "  "))
            }
            if let weakest = comparison.features.filter({ !$0.pValue.isNaN }).min(by: { $0.pValue < $1.pValue }) {
                print(String(format: "smallest KS p-value: %.3g (%@)", weakest.pValue, weakest.name))
            }
            print(String(format: "with features, per core: float64 %.0f/s, float32 %.0f/s (%.2fx)", Double(count) / comparison.seconds.float64 / Double(threads),
                         Double(count) / comparison.seconds.float32 / Double(threads), comparison.seconds.float64 / comparison.seconds.float32))
            if let out {
                try AtomicFile.write(Data(CSVTable.format(header: header, rows: rows).utf8), to: out)
            }
        }
    }
}

extension BatchSimulator.KernelVariant: ExpressibleByArgument {}
extension BatchSimulator.Precision: ExpressibleByArgument {}

/// A running sum added to from several threads (spikes, nanoseconds).
final class SharedTotal: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}
