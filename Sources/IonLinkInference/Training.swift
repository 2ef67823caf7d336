import CMathKernel
import Foundation
import IonLinkCore

/// Training options, defaulting to the paper's (sbi ≤ 0.22): batch 50, Adam 5e-4, gradient-norm clipping at 5,
/// 10% validation, stop after 20 epochs without improvement and restore the best weights.
public struct TrainingOptions: Sendable {
    public var batchSize = 50
    public var learningRate = 5e-4
    public var clipNorm = 5.0
    public var validationFraction = 0.1
    public var stopAfterEpochs = 20
    public var maxEpochs = Int.max
    public var seed: UInt64 = 1
    public init() {}
}

/// What training did, per epoch.
public struct TrainingHistory: Sendable {
    public var trainLogProb: [Double] = []
    public var validationLogProb: [Double] = []
    public var bestEpoch = 0
    public var seconds = 0.0
    /// The rows held out of the gradient steps (they only choose the epoch whose weights are kept).
    public var validationRows: [Int] = []
}

/// Adam (Kingma & Ba) on a flat parameter vector.
struct Adam {
    var learningRate: Double
    var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
    var m: [Double], v: [Double]
    var step = 0

    init(count: Int, learningRate: Double) {
        self.learningRate = learningRate
        m = [Double](repeating: 0, count: count)
        v = [Double](repeating: 0, count: count)
    }

    mutating func update(_ parameters: inout [Double], gradient g: UnsafeBufferPointer<Double>) {
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        let (b1, b2, rate, eps) = (beta1, beta2, learningRate, epsilon)
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    ionlink_adam_step(p.baseAddress, m.baseAddress, v.baseAddress, g.baseAddress, p.count, b1, b2, rate, c1, c2, eps)
                }
            }
        }
    }
}

extension ConditionalDensityEstimator {
    /// Mean loss of a batch, with its gradient left in `parts.gradients[0]`: computed as two halves on two
    /// threads and added in a fixed order, so the result is the same whatever the machine's core count.
    func batchGradient(theta: Matrix, context: Matrix, rows: [Int], parts: GradientParts) -> Double {
        let half = (rows.count + 1) / 2
        let split = [Array(rows[..<half]), Array(rows[half...])].filter { !$0.isEmpty }
        let flow = self
        parallelFor(split.count, threads: 2) { k in
            let part = split[k], gradient = parts.gradients[k]
            gradient.update(repeating: 0)
            parts.losses[k] = flow.accumulateLossAndGradient(theta.selectingRows(part), context: context.selectingRows(part),
                                                             normalizer: rows.count, into: gradient)
        }
        let total = parts.gradients[0]
        for k in 1..<split.count { let g = parts.gradients[k]; for i in 0..<total.count { total[i] += g[i] } }
        return (0..<split.count).reduce(0) { $0 + parts.losses[$1] }
    }

    /// Maximum-likelihood training on pairs (θᵢ, xᵢ): a seeded validation split and batch order, so a seed gives
    /// the same flow on any machine thread count (BLAS runs on one thread). `progress` receives one line per epoch.
    public mutating func train(theta: Matrix, x: Matrix, options: TrainingOptions, progress: ((String) -> Void)? = nil) -> TrainingHistory {
        precondition(theta.rows == x.rows && theta.rows >= 2)
        let start = Date()
        var generator = StreamKey.generator(seed: options.seed, purpose: .dataSplit, index: 0)
        let order = Array(0..<theta.rows).shuffled(using: &generator)
        let validationCount = max(1, Int((Double(theta.rows) * options.validationFraction).rounded(.down)))
        let validation = Array(order.prefix(validationCount)), training = Array(order.dropFirst(validationCount))
        let context = standardizedContext(x)
        let validationTheta = theta.selectingRows(validation), validationContext = context.selectingRows(validation)
        var adam = Adam(count: parameters.count, learningRate: options.learningRate)
        let parts = GradientParts(parts: 2, count: parameters.count)
        var history = TrainingHistory()
        history.validationRows = validation
        var best = -Double.infinity, bestParameters = parameters, sinceBest = 0
        var epoch = 0
        while epoch < options.maxEpochs {
            let shuffled = training.shuffled(using: &generator)
            var total = 0.0
            for first in stride(from: 0, to: shuffled.count, by: options.batchSize) {
                let rows = Array(shuffled[first ..< min(first + options.batchSize, shuffled.count)])
                let loss = batchGradient(theta: theta, context: context, rows: rows, parts: parts)
                let gradient = parts.gradients[0]
                let norm = ionlink_sum_of_squares(gradient.baseAddress, gradient.count).squareRoot()
                if norm > options.clipNorm { let f = options.clipNorm / (norm + 1e-6); for k in 0..<gradient.count { gradient[k] *= f } }
                adam.update(&parameters, gradient: UnsafeBufferPointer(gradient))
                total += loss * Double(rows.count)
            }
            let trainLogProb = -total / Double(training.count)
            let validationLogProb = logProbability(validationTheta, standardizedContext: validationContext).reduce(0, +) / Double(validation.count)
            history.trainLogProb.append(trainLogProb)
            history.validationLogProb.append(validationLogProb)
            if validationLogProb > best {
                best = validationLogProb; bestParameters = parameters; sinceBest = 0; history.bestEpoch = epoch
            } else {
                sinceBest += 1
            }
            progress?(String(format: "epoch %d: train log-prob %.4f, validation log-prob %.4f%@", epoch + 1, trainLogProb, validationLogProb,
                             sinceBest == 0 ? " (best)" : ""))
            epoch += 1
            if sinceBest >= options.stopAfterEpochs || !validationLogProb.isFinite && epoch > options.stopAfterEpochs { break }
        }
        parameters = bestParameters
        history.seconds = Date().timeIntervalSince(start)
        return history
    }
}

/// Per-part gradients and losses of a split batch, in memory reused from step to step (each thread writes only
/// its own part).
final class GradientParts: @unchecked Sendable {
    let gradients: [UnsafeMutableBufferPointer<Double>]
    let losses: UnsafeMutableBufferPointer<Double>

    init(parts: Int, count: Int) {
        gradients = (0..<parts).map { _ in
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        losses = .allocate(capacity: parts)
        losses.initialize(repeating: 0)
    }

    deinit {
        gradients.forEach { $0.deallocate() }
        losses.deallocate()
    }
}

/// Columns of x with values beyond `multiple` × IQR outside the quartiles (sbi warns on the same rule): z-scoring by
/// mean and SD squeezes the bulk of such a feature into a sliver, so the user should transform it (e.g. a log).
public func extremeOutlierColumns(_ x: Matrix, multiple: Double = 10) -> [Int] {
    (0..<x.columns).filter { j in
        let column = (0..<x.rows).map { x[$0, j] }.filter(\.isFinite).sorted()
        guard column.count >= 4 else { return false }
        let (q1, q3) = (column.sortedQuantile(0.25), column.sortedQuantile(0.75)), spread = multiple * (q3 - q1)
        return column.first! < q1 - spread || column.last! > q3 + spread
    }
}
