import Foundation
import IonLinkCore
@testable import IonLinkInference
import Testing

/// θ ~ N(0, I₃), x = Aθ + σε (x ∈ R⁵): the posterior is Gaussian with Σ = (I + AᵀA/σ²)⁻¹, μ = Σ Aᵀx/σ².
@Suite struct LinearGaussianTests {
    static let a: [[Double]] = [[1, 0.5, 0], [0, 1, -0.5], [0.3, 0, 1], [0.5, 0.5, 0.5], [-0.4, 0.2, 0.1]]
    static let sigma = 0.5

    static func simulate(_ n: Int, seed: UInt64) -> (Matrix, Matrix) {
        var g = Xoshiro256(seed: seed)
        var theta = Matrix(rows: n, columns: 3), x = Matrix(rows: n, columns: 5)
        for i in 0..<n {
            for j in 0..<3 { theta[i, j] = ConditionalMAF.normal(&g) }
            for k in 0..<5 { x[i, k] = (0..<3).reduce(0) { $0 + a[k][$1] * theta[i, $1] } + sigma * ConditionalMAF.normal(&g) }
        }
        return (theta, x)
    }

    /// Analytic posterior mean and covariance for x.
    static func truth(_ x: [Double]) -> (mean: [Double], covariance: Matrix) {
        var precision = Matrix.identity(3)
        for i in 0..<3 { for j in 0..<3 { precision[i, j] += (0..<5).reduce(0) { $0 + a[$1][i] * a[$1][j] } / (sigma * sigma) } }
        let covariance = Self.inverse3(precision)
        let atx = (0..<3).map { i in (0..<5).reduce(0) { $0 + a[$1][i] * x[$1] } / (sigma * sigma) }
        return ((0..<3).map { i in (0..<3).reduce(0) { $0 + covariance[i, $1] * atx[$1] } }, covariance)
    }

    static func inverse3(_ m: Matrix) -> Matrix {
        let (u, s, vt) = m.svd()
        var inverse = Matrix(rows: 3, columns: 3)
        for i in 0..<3 { for j in 0..<3 { inverse[i, j] = (0..<3).reduce(0) { $0 + vt[$1, i] * u[j, $1] / s[$1] } } }
        return inverse
    }

    static func trained(broken: Bool = false, mixture: Bool = false, spline: Bool = false) -> Posterior {
        let (theta, x) = simulate(8000, seed: 1)
        var options = TrainingOptions()
        options.batchSize = 100
        options.learningRate = 2e-3
        options.stopAfterEpochs = 8
        options.maxEpochs = broken ? 1 : 80
        let model: EstimatorModel
        if spline {
            var nsf = NeuralSplineFlow(dimension: 3, contextDimension: 5, hidden: 32, transforms: 4, bins: 10, seed: 2,
                                       thetaMean: theta.columnMeans, thetaSD: [1, 1, 1], contextMean: x.columnMeans, contextSD: [1.2, 1.2, 1.2, 1.1, 0.8])
            options.learningRate = 1e-3       // couplings start at the identity and need longer than the MAF
            options.stopAfterEpochs = 20
            options.maxEpochs = 200
            _ = nsf.train(theta: theta, x: x, options: options)
            model = .nsf(nsf)
        } else if mixture {
            var mdn = MixtureDensityNetwork(dimension: 3, contextDimension: 5, hidden: 24, components: 3, seed: 2,
                                            thetaMean: theta.columnMeans, thetaSD: [1, 1, 1], contextMean: x.columnMeans, contextSD: [1.2, 1.2, 1.2, 1.1, 0.8])
            _ = mdn.train(theta: theta, x: x, options: options)
            model = .mdn(mdn)
        } else {
            var flow = ConditionalMAF(dimension: 3, contextDimension: 5, hidden: 24, transforms: 3, seed: 2,
                                      thetaMean: theta.columnMeans, thetaSD: [1, 1, 1], contextMean: x.columnMeans, contextSD: [1.2, 1.2, 1.2, 1.1, 0.8])
            _ = flow.train(theta: theta, x: x, options: options)
            // Broken on purpose: every posterior shifted by half a prior SD.
            if broken { flow.thetaShift = flow.thetaShift.map { $0 + 0.5 } }
            model = .maf(flow)
        }
        return Posterior(model: model, parameterNames: ["a", "b", "c"], featureNames: (1...5).map { "x\($0)" },
                         low: [-50, -50, -50], high: [50, 50, 50])
    }

    @Test("The trained MAF, MDN and NSF recover the analytic posterior mean and covariance; SBC ranks are uniform",
          .tags(.slow), arguments: ["maf", "mdn", "nsf"])
    func recoversPosterior(estimator: String) throws {
        let posterior = Self.trained(mixture: estimator == "mdn", spline: estimator == "nsf")
        let (heldTheta, heldX) = Self.simulate(6, seed: 99)
        for i in 0..<6 {
            let x = heldX.row(i)
            let draws = posterior.sample(3000, given: x, seed: 7, index: UInt64(i))
            let truth = Self.truth(x)
            let mean = draws.samples.columnMeans
            for j in 0..<3 {
                let sd = truth.covariance[j, j].squareRoot()
                #expect(abs(mean[j] - truth.mean[j]) < 0.3 * sd, "cell \(i) θ\(j): mean \(mean[j]) vs \(truth.mean[j])")
                let centred = draws.samples.column(j).map { $0 - mean[j] }
                let variance = centred.reduce(0) { $0 + $1 * $1 } / Double(centred.count)
                #expect(abs(variance.squareRoot() / sd - 1) < 0.2, "cell \(i) θ\(j): sd \(variance.squareRoot()) vs \(sd)")
            }
            _ = heldTheta
        }
        let sbc = Diagnostics.calibrate(posterior: posterior, theta: Self.simulate(200, seed: 5).0, x: Self.simulate(200, seed: 5).1,
                                        samplesPerCase: 100, seed: 3)
        #expect(sbc.pValues.allSatisfy { $0 > 0.001 }, "SBC uniformity p-values \(sbc.pValues)")
        let coverage = Diagnostics.calibrate(posterior: posterior, theta: Self.simulate(200, seed: 6).0, x: Self.simulate(200, seed: 6).1,
                                             samplesPerCase: 200, levels: [0.5, 0.9], seed: 4).coverage
        #expect(abs(coverage[0] - 0.5) < 0.12 && abs(coverage[1] - 0.9) < 0.08, "coverage \(coverage)")
        let oneThread = Diagnostics.calibrate(posterior: posterior, theta: Self.simulate(200, seed: 6).0, x: Self.simulate(200, seed: 6).1,
                                              samplesPerCase: 200, levels: [0.5, 0.9], seed: 4, threads: 1)
        #expect(oneThread.coverage == coverage, "the same on 1 thread")
    }

    @Test("The refined MAP climbs from the best of a few samples to the posterior's mode (the analytic mean)")
    func refinedMAPReachesMode() {
        let posterior = Self.trained()
        let (_, heldX) = Self.simulate(6, seed: 98)
        var sampleError = 0.0, refinedError = 0.0
        for i in 0..<6 {
            let x = heldX.row(i)
            let draws = posterior.sample(10, given: x, seed: 5, index: UInt64(i))
            let best = posterior.map(from: draws)
            let refined = posterior.refinedMAP(from: best, given: x)
            let lp = posterior.logProbability(Matrix(rows: 2, columns: 3, values: best + refined), given: Matrix(repeatingRow: x, count: 2))
            #expect(lp[1] >= lp[0], "cell \(i): the refinement lowered log p from \(lp[0]) to \(lp[1])")
            let truth = Self.truth(x)
            for j in 0..<3 {
                let sd = truth.covariance[j, j].squareRoot()
                sampleError += abs(best[j] - truth.mean[j]) / sd / 18
                refinedError += abs(refined[j] - truth.mean[j]) / sd / 18
            }
        }
        #expect(refinedError < 0.25, "refined MAP off the mode by \(refinedError) SD on average")
        #expect(refinedError < sampleError, "refined \(refinedError) SD vs best sample \(sampleError) SD")
    }

    @Test("A deliberately broken estimator (biased by half a prior SD) fails the SBC uniformity test")
    func brokenFails() {
        let posterior = Self.trained(broken: true)
        let (theta, x) = Self.simulate(200, seed: 5)
        let sbc = Diagnostics.calibrate(posterior: posterior, theta: theta, x: x, samplesPerCase: 100, seed: 3)
        #expect(sbc.pValues.contains { $0 < 0.001 }, "SBC should reject: \(sbc.pValues)")
    }

    @Test("A saved and loaded estimator gives identical samples and log-probs")
    func saveLoad() throws {
        let posterior = Self.trained(broken: true)
        let path = NSTemporaryDirectory() + UUID().uuidString + ".json"
        defer { unlink(path) }
        try posterior.write(to: path)
        let loaded = try Posterior.read(path)
        let x = [0.3, -0.2, 0.1, 0.5, 0.0]
        let a = posterior.sample(50, given: x, seed: 11), b = loaded.sample(50, given: x, seed: 11)
        #expect(a.samples == b.samples && a.logProbs == b.logProbs)
        // An older MAF file (v1: other masks; v2: MADE without nflows' context and first-layer tanh) is refused with
        // a clear message rather than evaluated as a different network.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"formatVersion\":3"))
        for old in [1, 2] {
            try text.replacingOccurrences(of: "\"formatVersion\":3", with: "\"formatVersion\":\(old)").write(toFile: path, atomically: true, encoding: .utf8)
            #expect { try Posterior.read(path) } throws: { "\($0)".contains("retrain") && "\($0)".contains(path) }
        }
    }
}
