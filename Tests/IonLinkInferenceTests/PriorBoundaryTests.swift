import Foundation
import IonLinkCore
@testable import IonLinkInference
import Testing

/// θ ~ U(0, 1)², x = θ + 0.15 ε: each coordinate's posterior is a normal N(x_j, 0.15²) truncated to [0, 1].
@Suite struct PriorBoundaryTests {
    static let noise = 0.15

    static func simulate(_ n: Int, seed: UInt64) -> (Matrix, Matrix) {
        var g = Xoshiro256(seed: seed)
        var theta = Matrix(rows: n, columns: 2), x = Matrix(rows: n, columns: 2)
        for i in 0..<n { for j in 0..<2 { theta[i, j] = g.nextUniform(); x[i, j] = theta[i, j] + noise * ConditionalMAF.normal(&g) } }
        return (theta, x)
    }

    /// Mean and SD of N(μ, σ²) truncated to [0, 1].
    static func truncatedNormal(_ mu: Double) -> (mean: Double, sd: Double) {
        let s = noise, a = (0 - mu) / s, b = (1 - mu) / s
        func pdf(_ z: Double) -> Double { exp(-z * z / 2) / (2 * Double.pi).squareRoot() }
        func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.squareRoot()) }
        let mass = cdf(b) - cdf(a)
        let ratio = (pdf(a) - pdf(b)) / mass
        let variance = s * s * (1 + (a * pdf(a) - b * pdf(b)) / mass - ratio * ratio)
        return (mu + s * ratio, variance.squareRoot())
    }

    static func posterior(_ boundary: PriorBoundary, trained: Bool, pairs: Int = 6000, learningRate: Double = 1e-3) -> Posterior {
        let (rawTheta, x) = simulate(pairs, seed: 1)
        let low = [0.0, 0.0], high = [1.0, 1.0]
        let theta = Posterior.estimatorSpace(rawTheta, low: low, high: high, boundary: boundary)
        // Untrained, the flow is close to N(mean, sd²) in the estimator's space: keep it well inside (−6, 6) in logit
        // space so that the grid over the box below resolves nearly all of its mass.
        let sd = boundary == .logit ? (trained ? [1.8, 1.8] : [0.7, 0.7]) : [0.29, 0.29]
        var flow = ConditionalMAF(dimension: 2, contextDimension: 2, hidden: 16, transforms: 3, seed: 2,
                                  thetaMean: theta.columnMeans, thetaSD: sd, contextMean: x.columnMeans, contextSD: [0.32, 0.32])
        if trained {
            var options = TrainingOptions()
            options.batchSize = 100
            options.learningRate = learningRate
            options.stopAfterEpochs = 10
            options.maxEpochs = 100
            _ = flow.train(theta: theta, x: x, options: options)
        }
        return Posterior(model: .maf(flow), parameterNames: ["a", "b"], featureNames: ["x1", "x2"], low: low, high: high, boundary: boundary)
    }

    @Test("Logit boundary: every sample is inside the box, its log-prob is log p̂(θ|x), and p̂ integrates to 1 over the box")
    func logitDensityIsNormalised() {
        let posterior = Self.posterior(.logit, trained: false)
        let x = [0.4, 0.9]
        let draws = posterior.sample(500, given: x, seed: 3)
        #expect(draws.samples.rows == 500 && draws.acceptance == 1)
        #expect((0..<500).allSatisfy { posterior.inside(draws.samples.row($0)) })
        let again = posterior.logProbability(draws.samples, given: Matrix(repeatingRow: x, count: 500))
        #expect(zip(again, draws.logProbs).allSatisfy { abs($0 - $1) < 1e-9 })
        // ∫ p̂ over the unit box by a midpoint grid.
        let n = 400
        var grid = Matrix(rows: n * n, columns: 2)
        for i in 0..<n { for j in 0..<n { grid[i * n + j, 0] = (Double(i) + 0.5) / Double(n); grid[i * n + j, 1] = (Double(j) + 0.5) / Double(n) } }
        let lp = posterior.logProbability(grid, given: Matrix(repeatingRow: x, count: n * n))
        let integral = lp.reduce(0) { $0 + exp($1) } / Double(n * n)
        #expect(abs(integral - 1) < 0.02, "∫ p̂ = \(integral)")
        #expect(posterior.logProbability(Matrix(rows: 1, columns: 2, values: [1.2, 0.5]), given: Matrix(rows: 1, columns: 2, values: x))[0] == -.infinity)
    }

    @Test("Both boundaries recover the truncated-normal posterior near the box edges", arguments: PriorBoundary.allCases)
    func recoversTruncatedPosterior(boundary: PriorBoundary) {
        let posterior = Self.posterior(boundary, trained: true)
        for (k, x) in [[0.05, 0.5], [0.95, 0.2], [0.5, 0.98]].enumerated() {
            let draws = posterior.sample(3000, given: x, seed: 5, index: UInt64(k))
            #expect(draws.samples.rows == 3000)
            let mean = draws.samples.columnMeans
            for j in 0..<2 {
                let truth = Self.truncatedNormal(x[j])
                let centred = draws.samples.column(j).map { $0 - mean[j] }
                let sd = (centred.reduce(0) { $0 + $1 * $1 } / Double(centred.count)).squareRoot()
                #expect(abs(mean[j] - truth.mean) < 0.25 * truth.sd, "\(boundary) x \(x) θ\(j): mean \(mean[j]) vs \(truth.mean)")
                // The logit posterior of a cell at the edge has an exponential tail towards ±∞ that an affine MAF
                // fits only roughly; rejection is the more accurate default here.
                let tolerance = boundary == .rejection ? 0.2 : 0.4
                #expect(abs(sd / truth.sd - 1) < tolerance, "\(boundary) x \(x) θ\(j): sd \(sd) vs \(truth.sd)")
            }
        }
    }

    @Test("Rejection sampling's try budget: a flow that rarely lands in the box stops after a few thousand tries, not at the budget; the same seed gives the same draws")
    func leakyFlowStopsEarly() {
        func posterior(centre: Double) -> Posterior {
            let flow = ConditionalMAF(dimension: 2, contextDimension: 2, hidden: 8, transforms: 2, seed: 2, thetaMean: [centre, centre],
                                      thetaSD: [1, 1], contextMean: [0, 0], contextSD: [1, 1])
            return Posterior(model: .maf(flow), parameterNames: ["a", "b"], featureNames: ["x1", "x2"], low: [0, 0], high: [1, 1], boundary: .rejection)
        }
        // Few of this flow's samples fall inside: 1000 samples would take far over twice the budget of tries.
        let leaky = posterior(centre: 3.5)
        let draws = leaky.sample(1000, given: [0, 0], seed: 4, maxTries: 100_000)
        let tries = Double(draws.samples.rows) / draws.acceptance
        #expect(draws.samples.rows > 0 && draws.samples.rows < 1000 && tries < 25_000, "\(draws.samples.rows) samples in \(tries) tries")
        let again = leaky.sample(1000, given: [0, 0], seed: 4, maxTries: 100_000)
        #expect(again.samples.values == draws.samples.values && again.logProbs == draws.logProbs)
        // A flow centred on the box completes.
        #expect(posterior(centre: 0.5).sample(1000, given: [0, 0], seed: 4, maxTries: 100_000).samples.rows == 1000)
    }
}
