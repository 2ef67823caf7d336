import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkTestSupport
import Testing

@Suite struct BatchSimulatorTests {
    let paper = BatchSimulator(configuration: {
        var c = SimulationConfiguration.paperM1
        c.protocol.noisePA = 0
        return c
    }(), threads: 2)

    @Test("Golden traces of the authors' Brian2 simulator: max|ΔV| ≤ 2e-8 mV on 28 sets, ≤ 0.01 mV on prior_11, same spike counts")
    func goldenTraces() throws {
        let table = try ParameterTable.read(Fixtures.golden + "/sim_params.csv", model: .paperM1)
        let reference = try Golden.traces()
        let result = paper.traces(parameters: table.values, rowCount: table.ids.count, seed: 1)
        let n = paper.sampleCount
        let window = SimulationConfiguration.paperM1.protocol.stimulusWindow
        for (i, id) in table.ids.enumerated() {
            let ours = Array(result.traces[i * n ..< (i + 1) * n])
            let theirs = reference[i]
            let maxDifference = zip(ours, theirs).map { abs($0 - $1) }.max()!
            let ourSpikes = ours.withUnsafeBufferPointer { SpikeCount.upwardCrossings($0, window: window) }
            let theirSpikes = theirs.withUnsafeBufferPointer { SpikeCount.upwardCrossings($0, window: window) }
            #expect(ourSpikes == theirSpikes, "\(id)")
            // prior_11 sits near a bifurcation where Brian2's own code paths differ by 0.06 mV.
            #expect(maxDifference <= (id == "prior_11" ? 1e-2 : 2e-8), "\(id): max|ΔV| = \(maxDifference) mV")
            #expect(result.valid[i])
        }
    }

    @Test("0-mV spike counts of all 29 golden sets equal the reference")
    func goldenSpikeCounts() throws {
        let table = try ParameterTable.read(Fixtures.golden + "/sim_params.csv", model: .paperM1)
        let spikes = try CSVTable.read(Fixtures.golden + "/sim_spikes.csv")
        let column = try spikes.column("n_spikes_0mV")
        let window = paper.configuration.protocol.stimulusWindow
        let n = paper.sampleCount
        let result = paper.traces(parameters: table.values, rowCount: table.ids.count, seed: 1)
        for (i, id) in table.ids.enumerated() {
            #expect(spikes.rows[i][0] == id)
            let count = result.traces[i * n ..< (i + 1) * n].withUnsafeBufferPointer { SpikeCount.upwardCrossings($0, window: window) }
            #expect(Double(count) == (try spikes.number(row: i, column: column)), "\(id)")
        }
    }

    @Test("float32: the 29 golden sets' 0-mV spike counts equal the reference; V within 5e-3 mV of float64 until 2 ms before the first spike")
    func float32Golden() throws {
        let table = try ParameterTable.read(Fixtures.golden + "/sim_params.csv", model: .paperM1)
        let spikes = try CSVTable.read(Fixtures.golden + "/sim_spikes.csv")
        let column = try spikes.column("n_spikes_0mV")
        var single = paper
        single.precision = .float32
        let float32 = single.traces(parameters: table.values, rowCount: table.ids.count, seed: 1)
        let float64 = paper.traces(parameters: table.values, rowCount: table.ids.count, seed: 1)
        let n = paper.sampleCount, window = paper.configuration.protocol.stimulusWindow
        #expect(float32.traces != float64.traces, "the float32 kernel ran")
        for (i, id) in table.ids.enumerated() {
            let ours = Array(float32.traces[i * n ..< (i + 1) * n]), reference = Array(float64.traces[i * n ..< (i + 1) * n])
            let count = ours.withUnsafeBufferPointer { SpikeCount.upwardCrossings($0, window: window) }
            #expect(Double(count) == (try spikes.number(row: i, column: column)), "\(id)")
            let firstSpike = reference.firstIndex { $0 > -20 } ?? n
            let quiet = max(1, firstSpike - 50)
            let difference = zip(ours[..<quiet], reference[..<quiet]).map { abs($0 - $1) }.max()!
            #expect(difference < 5e-3, "\(id): max|ΔV| = \(difference) mV before the first spike")
            #expect(float32.valid[i])
        }
    }

    @Test("A passive neuron follows E_leak + I·R_input·(1 − e^(−t/τ)): area and leak derived correctly")
    func passiveStepResponse() {
        var configuration = Fixtures.shortM1(durationMs: 100, noisePA: 0)
        configuration.model.channels = []
        let simulator = BatchSimulator(configuration: configuration, threads: 1)
        // C, R_input, tau, 6 conductances (ignored: no channels), E_leak, tau_max, VT, r_SS
        let theta: [Double] = [2.0, 250, 15, 100, 50, 10, 1, 100, 1, -70, 500, -60, 1]
        let result = simulator.traces(parameters: theta, rowCount: 1, seed: 1)
        let dt = configuration.protocol.dtMs
        let on = configuration.protocol.sampleIndex(atMs: 20)
        for k in [0, on, on + 1, on + 100, on + 1000] {
            let t = Double(k - on) * dt
            let steady: Double = 300e-12 * 250e6 * 1e3 // I·R_input in mV
            let expected: Double = k <= on ? -70.0 : -70.0 + steady * (1 - exp(-t / 15))
            #expect(abs(result.traces[k] - expected) < 1e-9, "k = \(k): \(result.traces[k]) vs \(expected)")
        }
    }

    @Test("At rest with no input, the state settles: V stops changing")
    func steadyStateWithoutInput() {
        var configuration = Fixtures.shortM1(durationMs: 400, noisePA: 0)
        configuration.protocol.steps = []
        let simulator = BatchSimulator(configuration: configuration, threads: 1)
        let theta: [Double] = [1.0, 300, 20, 50, 20, 5, 0.5, 20, 0.1, -75, 400, -60, 1]
        let result = simulator.traces(parameters: theta, rowCount: 1, seed: 1)
        let n = simulator.sampleCount
        #expect(abs(result.traces[n - 1] - result.traces[n - 2]) < 1e-4, "mV per step at the end")
        let lastTen = result.traces[(n - 250)...]
        #expect(lastTen.max()! - lastTen.min()! < 0.05, "flat over the last 10 ms")
        #expect(abs(result.traces[n - 1] - result.traces[0]) < 10, "rest stays near E_leak")
        #expect(result.valid[0])
    }

    @Test("Same seed, same rows: bit-identical on 1 and 2 threads and whatever the block grouping", arguments: BatchSimulator.Precision.allCases)
    func determinism(precision: BatchSimulator.Precision) {
        let configuration = Fixtures.shortM1()
        let rows = Fixtures.priorRows(configuration.model, count: 37)
        let one = BatchSimulator(configuration: configuration, precision: precision, threads: 1).traces(parameters: rows, rowCount: 37, seed: 5)
        let two = BatchSimulator(configuration: configuration, precision: precision, threads: 2).traces(parameters: rows, rowCount: 37, seed: 5)
        #expect(one.traces == two.traces)
        #expect(one.valid == two.valid)
        // Rows 5… simulated on their own, as indices 5…, give the same traces (noise depends on (seed, index) only).
        let n = BatchSimulator(configuration: configuration).sampleCount
        let tail = BatchSimulator(configuration: configuration, precision: precision, threads: 2)
            .traces(parameters: Array(rows.dropFirst(5 * 13)), rowCount: 32, seed: 5, firstIndex: 5)
        #expect(Array(one.traces.suffix(from: 5 * n)) == tail.traces)
        // Another seed gives other noise.
        let other = BatchSimulator(configuration: configuration, precision: precision, threads: 2).traces(parameters: rows, rowCount: 37, seed: 6)
        #expect(other.traces != one.traces)
    }

    @Test("The baseline, AVX2 and AVX-512 kernel variants agree bit for bit", arguments: BatchSimulator.Precision.allCases)
    func variantsAgree(precision: BatchSimulator.Precision) {
        let configuration = Fixtures.shortM1(durationMs: 40)
        let rows = Fixtures.priorRows(configuration.model, count: 20)
        let outputs = BatchSimulator.KernelVariant.allCases.filter(BatchSimulator.supports).map { variant in
            BatchSimulator(configuration: configuration, precision: precision, threads: 2, kernel: variant)
                .traces(parameters: rows, rowCount: 20, seed: 9).traces
        }
        #expect(outputs.count >= 2)
        for o in outputs.dropFirst() { #expect(o == outputs[0]) }
    }

    @Test("A simulation that becomes non-finite is flagged invalid, and its neighbours are unaffected", arguments: BatchSimulator.Precision.allCases)
    func nonFiniteFlagged(precision: BatchSimulator.Precision) {
        let configuration = Fixtures.shortM1(durationMs: 30)
        var rows = Fixtures.priorRows(configuration.model, count: 3)
        rows[13 + 2] = 0 // tau = 0 → g_leak = C/0
        let result = BatchSimulator(configuration: configuration, precision: precision, threads: 1).traces(parameters: rows, rowCount: 3, seed: 1)
        #expect(result.valid == [true, false, true])
        let alone = BatchSimulator(configuration: configuration, precision: precision, threads: 1)
            .traces(parameters: Array(rows.dropFirst(26)), rowCount: 1, seed: 1, firstIndex: 2)
        let n = BatchSimulator(configuration: configuration).sampleCount
        #expect(Array(result.traces.suffix(from: 2 * n)) == alone.traces)
    }

    @Test("Current noise: standard normal draws (mean 0, variance 1, kurtosis 3)")
    func noiseStatistics() {
        let draws = BatchSimulator.noiseDraws(seed: 12345, index: 3, count: 400_000)
        let n = Double(draws.count)
        let mean = draws.reduce(0, +) / n
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
        let kurtosis = draws.map { pow($0 - mean, 4) }.reduce(0, +) / n / (variance * variance)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.01)
        #expect(abs(kurtosis - 3) < 0.05)
        let below = Double(draws.filter { $0 < -1.959964 }.count) / n
        #expect(abs(below - 0.025) < 0.002)
        // Lag-1 correlation ~ 0.
        let lag = zip(draws, draws.dropFirst()).map { $0 * $1 }.reduce(0, +) / n
        #expect(abs(lag) < 0.01)
    }

    @Test("The float32 kernel's noise: the float64 draws to float precision")
    func float32NoiseDraws() {
        let reference = BatchSimulator.noiseDraws(seed: 12345, index: 3, count: 100_001)
        let float32 = BatchSimulator.noiseDraws(seed: 12345, index: 3, count: 100_001, precision: .float32)
        let worst = zip(reference, float32).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? .infinity
        #expect(worst < 1e-6)
        #expect(worst > 0) // computed in float, not rounded from the double draws
    }
}
