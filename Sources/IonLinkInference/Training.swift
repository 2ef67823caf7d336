import CMathKernel
import Foundation
import IonLinkCore

/// The loss training minimises.
public enum TrainingLoss: Sendable, Equatable {
    /// −log q(θ | x), NPE's maximum likelihood: the posterior under the distribution the θ were drawn from (the prior,
    /// or the truncated prior of TSNPE, which equals the prior inside its region).
    case maximumLikelihood
    /// APT's atomic loss with this many atoms per pair (sbi's default 10; `AtomicLoss`): the posterior under the prior
    /// whatever proposal the θ came from.
    public static let apt = TrainingLoss.atomic(atoms: 10)
    case atomic(atoms: Int)
}

/// Training options, defaulting to the paper's (sbi ≤ 0.22): batch 50, Adam 5e-4, gradient-norm clipping at 5,
/// 10% validation, stop after 20 epochs without improvement and restore the best weights.
public struct TrainingOptions: Sendable {
    public var loss = TrainingLoss.maximumLikelihood
    /// Each batch's gradient is the sum of this many fixed parts of the batch, added in part order. Threads and MPI
    /// ranks share the parts out, so the model is the same on any number of either (a different number of parts
    /// rounds differently).
    public var gradientParts = 2
    /// The ranks that share each batch's parts (data-parallel training); nil or a single process: this process alone.
    public var ranks: Ranks?
    public var batchSize = 50
    public var learningRate = 5e-4
    public var clipNorm = 5.0
    public var validationFraction = 0.1
    public var stopAfterEpochs = 20
    public var maxEpochs = Int.max
    public var seed: UInt64 = 1
    public init() {}
}

/// What training did, per epoch. Under the atomic loss the "log-probs" are minus the mean atomic loss.
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

    /// One step, the weights split in contiguous pieces over `workers` (each weight's update is its own, so the
    /// result does not depend on the split).
    mutating func update(_ parameters: inout [Double], gradient g: UnsafeBufferPointer<Double>, workers: SpinningWorkers) {
        step += 1
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        let (b1, b2, rate, eps) = (beta1, beta2, learningRate, epsilon)
        let pieces = fixedParts(g.count, workers.threadCount)
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    let shared = Unchecked((p.baseAddress!, m.baseAddress!, v.baseAddress!, g.baseAddress!))
                    workers.run(pieces.count) { k in
                        let (p, m, v, g) = shared.value, r = pieces[k], i = r.lowerBound
                        ionlink_adam_step(p + i, m + i, v + i, g + i, r.count, b1, b2, rate, c1, c2, eps)
                    }
                }
            }
        }
    }
}

/// n evaluations in `parts` fixed contiguous parts (the cut `Ranks.slice` makes; some empty when n < parts).
func fixedParts(_ n: Int, _ parts: Int) -> [Range<Int>] {
    (0..<parts).map { Ranks.part($0, of: parts, count: n) }
}

extension ConditionalDensityEstimator {
    /// −Σᵣ wᵣ log q(θ[thetaRows[r]] | x[contextRows[r]]), with its gradient left in `parts.gradients[0]`: computed in
    /// `parts.count` fixed parts — this rank's share on two threads, the other ranks' gathered — and added in part
    /// order, so the result is the same whatever the core or rank count.
    func weightedGradient(theta: Matrix, context: Matrix, thetaRows: [Int], contextRows: [Int], weights: [Double], parts: GradientParts,
                          ranks: Ranks? = nil) -> Double {
        let split = fixedParts(thetaRows.count, parts.count), flow = self
        let rank = ranks?.rank ?? 0, size = ranks?.size ?? 1
        let mine = Array(stride(from: rank, to: split.count, by: size))   // part p belongs to rank p mod size
        parts.workers.run(mine.count) { k in
            let p = mine[k], range = split[p], gradient = parts.gradients[p]
            gradient.update(repeating: 0)
            parts.losses[p] = range.isEmpty ? 0 : flow.accumulateLossAndGradient(
                theta.selectingRows(Array(thetaRows[range])), context: context.selectingRows(Array(contextRows[range])),
                rowWeights: Array(weights[range]), into: gradient)
        }
        if let ranks, ranks.isParallel {
            // Each rank sends its parts' losses and gradients; every rank then holds all parts.
            let n = parts.gradients[0].count
            let sent = mine.flatMap { p in [parts.losses[p]] + Array(parts.gradients[p]) }
            for (r, values) in ranks.allGather(sent).enumerated() {
                for (k, p) in stride(from: r, to: split.count, by: size).enumerated() {
                    parts.losses[p] = values[k * (n + 1)]
                    _ = parts.gradients[p].update(fromContentsOf: values[(k * (n + 1) + 1) ..< ((k + 1) * (n + 1))])
                }
            }
        }
        // Each weight's parts are added in part order, whatever piece of the weights a thread takes.
        let pieces = fixedParts(parts.gradients[0].count, parts.workers.threadCount)
        parts.workers.run(pieces.count) { k in
            let total = parts.gradients[0]
            for p in 1..<split.count { let g = parts.gradients[p]; for i in pieces[k] { total[i] += g[i] } }
        }
        return (0..<split.count).reduce(0) { $0 + parts.losses[$1] }
    }

    /// Mean loss of a batch (`options.loss`), with its gradient left in `parts.gradients[0]`. `logPrior` is log p(θ) per
    /// row, which only the atomic loss uses; atoms are drawn from `generator`.
    func batchGradient(theta: Matrix, context: Matrix, rows: [Int], loss: TrainingLoss, logPrior: [Double], atomPool: Range<Int>? = nil,
                       generator: inout Xoshiro256, parts: GradientParts, ranks: Ranks? = nil) -> Double {
        switch loss {
        case .maximumLikelihood:
            return weightedGradient(theta: theta, context: context, thetaRows: rows, contextRows: rows,
                                    weights: [Double](repeating: 1 / Double(rows.count), count: rows.count), parts: parts, ranks: ranks)
        case .atomic(let atoms):
            let atomic = AtomicLoss(batch: rows, atoms: atoms, pool: atomPool, using: &generator)
            let (value, weights) = atomic.lossAndWeights(logRatio: atomicLogRatio(atomic, theta: theta, context: context, logPrior: logPrior,
                                                                                  workers: parts.workers))
            _ = weightedGradient(theta: theta, context: context, thetaRows: atomic.thetaRows, contextRows: atomic.contextRows, weights: weights,
                                 parts: parts, ranks: ranks)
            return value
        }
    }

    /// ℓ = log q(atom | x) − log p(atom) of each evaluation of `atomic`, in two parts on `workers`.
    func atomicLogRatio(_ atomic: AtomicLoss, theta: Matrix, context: Matrix, logPrior: [Double], workers: SpinningWorkers) -> [Double] {
        let split = fixedParts(atomic.thetaRows.count, 2).filter { !$0.isEmpty }, flow = self
        let parts = SlotBuffer<[Double]>(count: split.count, repeating: [])
        workers.run(split.count) { k in
            let range = split[k]
            parts[k] = flow.logProbability(theta.selectingRows(Array(atomic.thetaRows[range])),
                                           standardizedContext: context.selectingRows(Array(atomic.contextRows[range])))
        }
        let logQ = (0..<split.count).flatMap { parts[$0] }
        return zip(logQ, atomic.thetaRows).map { $0 - logPrior[$1] }
    }

    /// Mean log-prob of the validation rows, or minus their mean atomic loss (atoms drawn afresh from `seed` each time,
    /// so that every epoch is scored on the same atoms).
    func validationScore(theta: Matrix, context: Matrix, rows: [Int], options: TrainingOptions, logPrior: [Double], atomPool: Range<Int>?,
                         workers: SpinningWorkers) -> Double {
        guard case .atomic(let atoms) = options.loss else {
            return logProbability(theta.selectingRows(rows), standardizedContext: context.selectingRows(rows)).reduce(0, +) / Double(rows.count)
        }
        var generator = StreamKey.generator(seed: options.seed, purpose: .dataSplit, index: 1)
        var total = 0.0
        for first in stride(from: 0, to: rows.count, by: options.batchSize) {
            let batch = Array(rows[first ..< min(first + options.batchSize, rows.count)])
            let atomic = AtomicLoss(batch: batch, atoms: atoms, pool: atomPool, using: &generator)
            total += atomic.lossAndWeights(logRatio: atomicLogRatio(atomic, theta: theta, context: context, logPrior: logPrior,
                                                                    workers: workers)).loss * Double(batch.count)
        }
        return -total / Double(rows.count)
    }

    /// Training on pairs (θᵢ, xᵢ) with `options.loss`: a seeded validation split, batch order and atoms, so a seed
    /// gives the same flow on any machine thread count (BLAS runs on one thread). For the atomic loss, `logPrior` holds
    /// log p(θ) of each row of θ and then of each row of `atomPool` (nil: a uniform prior), and `atomPool` the θ its
    /// atoms come from (nil: the other pairs of each batch). `progress` receives one line per epoch.
    public mutating func train(theta pairTheta: Matrix, x: Matrix, options: TrainingOptions, logPrior: [Double]? = nil, atomPool: Matrix? = nil,
                               progress: ((String) -> Void)? = nil) -> TrainingHistory {
        let pairs = x.rows, poolRows = atomPool?.rows ?? 0
        precondition(pairTheta.rows == pairs && pairs >= 2 && (logPrior?.count ?? pairs + poolRows) == pairs + poolRows)
        let logPrior = logPrior ?? [Double](repeating: 0, count: pairs + poolRows)
        // The pool's θ follow the pairs' rows, so that an atom is a row of one matrix.
        let theta = atomPool.map { Matrix(rows: pairs + $0.rows, columns: pairTheta.columns, values: pairTheta.values + $0.values) } ?? pairTheta
        let pool = atomPool == nil ? nil : pairs ..< pairs + poolRows
        let start = Date()
        var generator = StreamKey.generator(seed: options.seed, purpose: .dataSplit, index: 0)
        let order = Array(0..<pairs).shuffled(using: &generator)
        let validationCount = max(1, Int((Double(pairs) * options.validationFraction).rounded(.down)))
        let validation = Array(order.prefix(validationCount)), training = Array(order.dropFirst(validationCount))
        let context = standardizedContext(x)
        var adam = Adam(count: parameters.count, learningRate: options.learningRate)
        precondition(options.gradientParts >= 1)
        let parts = GradientParts(parts: options.gradientParts, count: parameters.count)
        var history = TrainingHistory()
        history.validationRows = validation
        var best = -Double.infinity, bestParameters = parameters, sinceBest = 0
        var epoch = 0
        while epoch < options.maxEpochs {
            let shuffled = training.shuffled(using: &generator)
            var total = 0.0
            for first in stride(from: 0, to: shuffled.count, by: options.batchSize) {
                let rows = Array(shuffled[first ..< min(first + options.batchSize, shuffled.count)])
                let loss = batchGradient(theta: theta, context: context, rows: rows, loss: options.loss, logPrior: logPrior, atomPool: pool,
                                         generator: &generator, parts: parts, ranks: options.ranks)
                let gradient = parts.gradients[0]
                let norm = ionlink_sum_of_squares(gradient.baseAddress, gradient.count).squareRoot()
                if norm > options.clipNorm { let f = options.clipNorm / (norm + 1e-6); for k in 0..<gradient.count { gradient[k] *= f } }
                adam.update(&parameters, gradient: UnsafeBufferPointer(gradient), workers: parts.workers)
                total += loss * Double(rows.count)
            }
            let trainLogProb = -total / Double(training.count)
            let validationLogProb = validationScore(theta: theta, context: context, rows: validation, options: options, logPrior: logPrior,
                                                    atomPool: pool, workers: parts.workers)
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
/// its own part), and the two threads that compute the parts.
final class GradientParts: @unchecked Sendable {
    let gradients: [UnsafeMutableBufferPointer<Double>]
    let losses: UnsafeMutableBufferPointer<Double>
    let workers = SpinningWorkers.pair()
    var count: Int { gradients.count }

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
