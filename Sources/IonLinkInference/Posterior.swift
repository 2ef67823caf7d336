import Foundation
import IonLinkCore

/// How a posterior respects the uniform prior box.
public enum PriorBoundary: String, Sendable, Codable, CaseIterable {
    /// The default, as sbi: the estimator lives on θ; samples outside the box are rejected and log-probabilities
    /// are corrected for the mass outside it (leakage): log p̂(θ|x) = log q(θ|x) − log P_q(θ ∈ box | x).
    case rejection
    /// The estimator lives on u = logit((θ − low)/(high − low)), unbounded; every sample lands inside the box and
    /// log p̂(θ|x) = log q(u|x) + log |du/dθ|. No rejection, no leakage; densities vanish at the bounds.
    case logit
}

/// A trained posterior: the estimator, the parameter names, the uniform prior box and how the box is enforced
/// (`PriorBoundary`).
public struct Posterior: Sendable, Codable {
    public var format = "ionlink-estimator"
    /// 3: the MAF computes its MADE exactly as nflows (tanh on the context term and on the first hidden layer);
    /// 2: MADE hidden degrees start at 0 (v1 files, with nflows' degrees, would load with the wrong masks).
    /// v2 NSFs and MDNs are read as they are; v1 and v2 MAFs must be retrained.
    public var formatVersion = 3
    public var parameterNames: [String]
    public var featureNames: [String]
    public var low: [Double]
    public var high: [Double]
    public var model: EstimatorModel
    /// Absent in files written before the option existed: rejection.
    var boundaryTransform: PriorBoundary?
    public var boundary: PriorBoundary { boundaryTransform ?? .rejection }

    /// The trained density.
    public var density: any ConditionalDensityEstimator { model.estimator }

    public init(model: EstimatorModel, parameterNames: [String], featureNames: [String], low: [Double], high: [Double],
                boundary: PriorBoundary = .rejection) {
        self.model = model
        boundaryTransform = boundary
        self.parameterNames = parameterNames
        self.featureNames = featureNames
        self.low = low
        self.high = high
    }

    public func inside(_ theta: [Double]) -> Bool {
        zip(theta, zip(low, high)).allSatisfy { $0.0 >= $0.1.0 && $0.0 <= $0.1.1 }
    }

    /// θ (rows) in the space the estimator was trained on: θ itself, or its box logit (bounds clamped 1e-12 inside).
    public static func estimatorSpace(_ theta: Matrix, low: [Double], high: [Double], boundary: PriorBoundary) -> Matrix {
        guard boundary == .logit else { return theta }
        var u = theta
        for i in 0..<u.rows {
            for j in 0..<u.columns {
                let s = min(1 - 1e-12, max(1e-12, (theta[i, j] - low[j]) / (high[j] - low[j])))
                u[i, j] = log(s) - log1p(-s)
            }
        }
        return u
    }

    /// log p̂(θ|x) per row (θ raw, x standardised), without the leakage constant: log q(θ|x), or under the logit
    /// boundary log q(u|x) + log |du/dθ| (−∞ outside the box).
    func logDensity(_ theta: Matrix, standardizedContext context: Matrix) -> [Double] {
        guard boundary == .logit else { return density.logProbability(theta, standardizedContext: context) }
        let q = density.logProbability(Posterior.estimatorSpace(theta, low: low, high: high, boundary: .logit), standardizedContext: context)
        return (0..<theta.rows).map { i in
            var value = q[i]
            for j in 0..<theta.columns {
                let width = high[j] - low[j], s = (theta[i, j] - low[j]) / width
                guard s > 0 && s < 1 else { return -.infinity }
                value -= log(width) + log(s) + log1p(-s)
            }
            return value
        }
    }

    /// log p̂(θ|x) per row, θ and x raw, without the leakage constant (held-out scores, coverage).
    public func logProbability(_ theta: Matrix, given x: Matrix) -> [Double] {
        logDensity(theta, standardizedContext: density.standardizedContext(x))
    }

    /// Result of sampling one observation.
    public struct Draws: Sendable {
        public var samples: Matrix
        public var logProbs: [Double]
        /// Fraction of flow samples inside the prior box.
        public var acceptance: Double

        public init(samples: Matrix, logProbs: [Double], acceptance: Double) {
            self.samples = samples; self.logProbs = logProbs; self.acceptance = acceptance
        }
    }

    /// Flow samples per cell after which rejection sampling gives up on filling it.
    public static let defaultMaxTries = 1_000_000

    /// `n` samples inside the prior box for x, with their leakage-corrected log-probabilities.
    /// A try budget keeps a leaky estimator from crawling: it stops (an incomplete cell) as soon as even an optimistic
    /// acceptance — k + 2√k + 4 in-box samples per try so far, about a 98% upper bound — says that `n` samples would
    /// take more than twice `maxTries` flow samples: a cell that could not complete within `maxTries` anyway (a cell
    /// that can is stopped with probability below 10⁻⁶). So a cell whose flow misses the box gives up after a few
    /// thousand tries, not a million; with none inside after 100 000 tries it gives up in any case (acceptance 0, no
    /// samples). Deterministic: the same seed gives the same draws.
    public func sample(_ n: Int, given x: [Double], seed: UInt64, index: UInt64 = 0, maxTries: Int = Posterior.defaultMaxTries) -> Draws {
        var generator = StreamKey.generator(seed: seed, purpose: .network, index: index &+ 1)
        if boundary == .logit {
            // log-probs from u itself (log s = −softplus(−u), log(1 − s) = −softplus(u)): exact even where θ rounds
            // to a bound.
            let u = density.sample(n, given: x, using: &generator)
            var logProbs = density.logProbability(u, given: Matrix(repeatingRow: x, count: n))
            var samples = u
            func softplus(_ v: Double) -> Double { v > 30 ? v : log1p(exp(v)) }
            for i in 0..<u.rows {
                for j in 0..<u.columns {
                    let width = high[j] - low[j]
                    samples[i, j] = low[j] + width / (1 + exp(-u[i, j]))
                    logProbs[i] += softplus(-u[i, j]) + softplus(u[i, j]) - log(width)
                }
            }
            return Draws(samples: samples, logProbs: logProbs, acceptance: 1)
        }
        var kept: [Double] = []
        var tried = 0, accepted = 0
        while accepted < n && tried < maxTries {
            let batch = min(max(2 * (n - accepted), 1000), 100_000)
            let draws = density.sample(batch, given: x, using: &generator)
            tried += batch
            for i in 0..<batch {
                let row = draws.row(i)
                guard inside(row) else { continue }
                accepted += 1
                if kept.count < n * density.dimension { kept += row }
            }
            if tried >= 100_000 && accepted == 0 { break }
            let optimistic = Double(accepted) + 2 * Double(accepted).squareRoot() + 4
            if accepted < n && Double(tried) * Double(n) / optimistic > 2 * Double(maxTries) { break }
        }
        let count = kept.count / density.dimension
        let samples = Matrix(rows: count, columns: density.dimension, values: kept)
        let acceptance = tried > 0 ? Double(accepted) / Double(tried) : 0
        let correction = acceptance > 0 ? log(acceptance) : 0
        let logProbs = count > 0 ? density.logProbability(samples, given: Matrix(repeatingRow: x, count: count)).map { $0 - correction } : []
        return Draws(samples: samples, logProbs: logProbs, acceptance: acceptance)
    }

    /// The best of the samples by log-probability (the paper's "MAP"; `refinedMAP(from:given:)` moves it uphill).
    public func map(from draws: Draws) -> [Double] {
        guard let best = draws.logProbs.indices.max(by: { draws.logProbs[$0] < draws.logProbs[$1] }) else {
            return [Double](repeating: .nan, count: density.dimension)
        }
        return draws.samples.row(best)
    }

    /// The mode of log p̂(θ|x) found by gradient ascent from `start` inside the box (projected steps in units of the
    /// box, with backtracking; at most `iterations` steps), as sbi's `posterior.map()` refines its best samples.
    public func refinedMAP(from start: [Double], given x: [Double], iterations: Int = 200) -> [Double] {
        guard start.allSatisfy(\.isFinite) else { return start }
        var theta = start
        let context = density.standardizedContext(Matrix(rows: 1, columns: x.count, values: x))
        var value = logDensity(Matrix(rows: 1, columns: theta.count, values: theta), standardizedContext: context)[0]
        var step = 0.01
        for _ in 0..<iterations {
            let gradient = thetaGradient(theta, context: context)
            let norm = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 1e-12 else { break }
            var improved = false
            while step > 1e-8 {
                let candidate = (0..<theta.count).map { j in min(high[j], max(low[j], theta[j] + step * gradient[j] / norm * (high[j] - low[j]))) }
                let v = logDensity(Matrix(rows: 1, columns: candidate.count, values: candidate), standardizedContext: context)[0]
                if v > value { theta = candidate; value = v; improved = true; step *= 1.5; break }
                step /= 2
            }
            if !improved { break }
        }
        return theta
    }

    /// ∂ log p̂(θ|x) / ∂θ by central differences, in units of the prior box: all 2D perturbed points in one batch.
    func thetaGradient(_ theta: [Double], context: Matrix) -> [Double] {
        let d = theta.count
        var points = Matrix(rows: 2 * d, columns: d)
        for j in 0..<d {
            let h = 1e-6 * (high[j] - low[j])
            for k in 0..<d { points[2 * j, k] = theta[k]; points[2 * j + 1, k] = theta[k] }
            points[2 * j, j] += h
            points[2 * j + 1, j] -= h
        }
        let contexts = Matrix(rows: 2 * d, columns: context.columns, values: Array((0..<2 * d).map { _ in context.values }.joined()))
        let lp = logDensity(points, standardizedContext: contexts)
        var gradient = [Double](repeating: 0, count: d)
        for j in 0..<d {
            let width = high[j] - low[j], h = 1e-6 * width
            gradient[j] = (lp[2 * j] - lp[2 * j + 1]) / (2 * h) * width
        }
        return gradient
    }

    // MARK: - File

    /// Writes the estimator as JSON (versioned; exact doubles), atomically.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: path)
    }

    public static func read(_ path: String) throws -> Posterior {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot read the estimator file") }
        let posterior: Posterior
        do { posterior = try JSONDecoder().decode(Posterior.self, from: data) } catch {
            throw InputError(file: path, "not an IonLink estimator file (\(error))")
        }
        guard posterior.format == "ionlink-estimator" else { throw InputError(file: path, "not an IonLink estimator file (format \(posterior.format))") }
        let isMAF = if case .maf = posterior.model { true } else { false }
        guard posterior.formatVersion == 3 || posterior.formatVersion == 2 && !isMAF else {
            throw InputError(file: path, "estimator format v\(posterior.formatVersion) is not readable by this IonLink (v3; earlier MAFs used "
                                       + "other masks or layers): retrain it with `ionlink train`")
        }
        return posterior
    }
}
