import CHHKernel
import IonLinkCore

/// Simulates many neurons of one model under one protocol, 16 at a time in the fused C kernel, on
/// several threads. Every sample's result depends only on its parameters and (seed, index): the same
/// rows come out for any thread count, block grouping or shard.
public struct BatchSimulator: Sendable {
    /// Neurons per kernel call.
    public static let blockSize = Int(IONLINK_HH_LANES)

    /// Which compiled variant of the kernel runs. All give bit-identical results; `automatic` picks the
    /// fastest this CPU supports.
    public enum KernelVariant: String, CaseIterable, Sendable {
        case automatic, baseline, avx2, avx512

        var code: Int32 {
            switch self {
            case .automatic: 0
            case .baseline: 1
            case .avx2: 2
            case .avx512: 3
            }
        }
    }

    /// The arithmetic of the kernel. `float64` is the reference: bit-identical on every CPU and to the golden
    /// traces of the authors' simulator. `float32` runs twice the lanes per instruction on the same noise draws;
    /// its traces differ from float64 in the last digits, and its features are the same in distribution
    /// (`ionlink bench precision` measures it), not bit for bit.
    public enum Precision: String, CaseIterable, Codable, Sendable {
        case float64, float32

        var kernelValue: ionlink_hh_precision { self == .float32 ? IONLINK_HH_FLOAT32 : IONLINK_HH_FLOAT64 }
    }

    public let configuration: SimulationConfiguration
    /// The kernel's arithmetic.
    public var precision: Precision
    /// Worker threads.
    public var threads: Int
    /// The kernel variant (for benchmarks and tests; results do not depend on it).
    public var kernel: KernelVariant

    public init(configuration: SimulationConfiguration, precision: Precision = .float64, threads: Int = availableCores,
                kernel: KernelVariant = .automatic) {
        self.configuration = configuration
        self.precision = precision
        self.threads = max(1, threads)
        self.kernel = kernel
    }

    /// Whether this CPU can run `variant`.
    public static func supports(_ variant: KernelVariant) -> Bool {
        switch variant {
        case .automatic, .baseline: true
        case .avx2: instructionSet != "baseline"
        case .avx512: instructionSet == "avx512"
        }
    }

    /// Samples per trace.
    public var sampleCount: Int { configuration.protocol.sampleCount }

    /// The instruction set of the kernel clone selected on this CPU.
    public static var instructionSet: String { String(cString: ionlink_hh_instruction_set()) }

    /// The standard-normal draws behind the current noise of sample `index` under `seed`, one per step
    /// (the kernel multiplies them by the noise SD), as the kernel of `precision` computes them.
    public static func noiseDraws(seed: UInt64, index: UInt64, count: Int, precision: Precision = .float64) -> [Double] {
        let key = StreamKey.key(seed: seed, purpose: .currentNoise, index: index)
        switch precision {
        case .float64:
            var draws = [Double](repeating: 0, count: count)
            ionlink_hh_normal_stream(key, count, &draws)
            return draws
        case .float32:
            var draws = [Float](repeating: 0, count: count)
            ionlink_hh_normal_stream_f32(key, count, &draws)
            return draws.map(Double.init)
        }
    }

    /// One simulated block, handed to the caller while its traces are still in memory.
    public struct Block {
        /// Rows of the input that this block holds.
        public var rows: Range<Int>
        /// Voltage traces, mV: row `rows.lowerBound + j` is `traces[j·sampleCount ..< (j+1)·sampleCount]`.
        public var traces: UnsafeBufferPointer<Double>
        /// Whether each row's state stayed finite.
        public var valid: [Bool]
    }

    /// Simulates `rowCount` neurons whose free parameters are `parameters` (row-major, `rowCount` × free
    /// parameters). Row r uses the noise stream (seed, firstIndex + r). `handle` is called once per block,
    /// from worker threads, in no particular order.
    public func simulate(parameters: [Double], rowCount: Int, seed: UInt64, firstIndex: UInt64,
                         handle: @Sendable (Block) -> Void) {
        let model = configuration.model
        let freeCount = model.parameters.count
        precondition(parameters.count == rowCount * freeCount, "expected \(rowCount) × \(freeCount) parameters, got \(parameters.count)")
        let slots = ModelParameter.allCases.count
        var kernelRows = [Double]()
        kernelRows.reserveCapacity(rowCount * slots)
        for r in 0..<rowCount {
            kernelRows += model.kernelVector(parameters[r * freeCount ..< (r + 1) * freeCount])
        }
        let rows = kernelRows
        let samples = sampleCount
        let stimulus = configuration.protocol
        let segments = stimulus.segments
        let ends = segments.map { Int64($0.end) }
        let fixed = segments.map(\.fixedPA)
        let scales = segments.map(\.amplitudeScale)
        var enabled = [Double](repeating: 0, count: Channel.allCases.count)
        for channel in model.channels { enabled[channel.kernelSlot] = 1 }
        var kernelModel = ionlink_hh_model()
        kernelModel.phi_hay = model.phiHay
        kernelModel.phi_pospischil = model.phiPospischil
        kernelModel.e_na = model.eNa
        kernelModel.e_k = model.eK
        kernelModel.e_ca = model.eCa
        kernelModel.channel_enabled = (enabled[0], enabled[1], enabled[2], enabled[3], enabled[4], enabled[5])
        let modelValue = kernelModel
        let blockSize = Self.blockSize
        let variant = Self.supports(kernel) ? kernel.code : 0
        let arithmetic = precision.kernelValue
        let blocks = (rowCount + blockSize - 1) / blockSize

        parallelFor(blocks, threads: threads) { b in
            let first = b * blockSize
            let lanes = min(blockSize, rowCount - first)
            let keys = (0..<lanes).map { StreamKey.key(seed: seed, purpose: .currentNoise, index: firstIndex + UInt64(first + $0)) }
            let traces = UnsafeMutableBufferPointer<Double>.allocate(capacity: lanes * samples)
            defer { traces.deallocate() }
            var flags = [UInt8](repeating: 0, count: lanes)
            ends.withUnsafeBufferPointer { endPointer in
                fixed.withUnsafeBufferPointer { fixedPointer in
                    scales.withUnsafeBufferPointer { scalePointer in
                        var kernelProtocol = ionlink_hh_protocol(
                            dt_ms: stimulus.dtMs, steps: Int64(samples), segment_count: Int64(ends.count),
                            end_step: endPointer.baseAddress, fixed_pa: fixedPointer.baseAddress,
                            amplitude_scale: scalePointer.baseAddress, noise_sd_pa: stimulus.noisePA)
                        var kernelModel = modelValue
                        rows.withUnsafeBufferPointer { rowPointer in
                            let start = rowPointer.baseAddress! + first * slots
                            if variant == 0 {
                                ionlink_hh_simulate_block(arithmetic, &kernelModel, &kernelProtocol, Int32(lanes), start, keys,
                                                          traces.baseAddress, samples, &flags)
                            } else {
                                _ = ionlink_hh_simulate_block_variant(variant, arithmetic, &kernelModel, &kernelProtocol, Int32(lanes), start,
                                                                      keys, traces.baseAddress, samples, &flags)
                            }
                        }
                    }
                }
            }
            handle(Block(rows: first ..< first + lanes, traces: UnsafeBufferPointer(traces), valid: flags.map { $0 != 0 }))
        }
    }

    /// Simulates and returns every trace (row-major, `rowCount` × `sampleCount`, mV) and validity flag.
    /// Holds all traces in memory: for large runs use `simulate(parameters:rowCount:seed:firstIndex:handle:)`.
    public func traces(parameters: [Double], rowCount: Int, seed: UInt64, firstIndex: UInt64 = 0) -> (traces: [Double], valid: [Bool]) {
        let samples = sampleCount
        let traces = SlotBuffer<Double>(count: rowCount * samples, repeating: 0), valid = SlotBuffer<Bool>(count: rowCount, repeating: false)
        simulate(parameters: parameters, rowCount: rowCount, seed: seed, firstIndex: firstIndex) { block in
            (traces.baseAddress + block.rows.lowerBound * samples).update(from: block.traces.baseAddress!, count: block.traces.count)
            valid.write(block.valid, at: block.rows.lowerBound)
        }
        return (traces.array, valid.array)
    }
}
