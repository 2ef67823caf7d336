import CMathKernel
import Foundation
import IonLinkCore
@testable import IonLinkInference
import IonLinkTestSupport
import Testing

/// The largest |z − z₀| when n samples drawn for x from generator seed 4 are mapped back to the base space by
/// `forward`, z₀ being the standard-normal draws the same seed gives: zero when sampling inverts the forward pass.
func inversionError(samples n: Int, dimension d: Int, forward: (Matrix, Matrix) -> Matrix, sample: (inout Xoshiro256) -> Matrix,
                    context: Matrix) -> Double {
    var g = Xoshiro256(seed: 4)
    let samples = sample(&g)
    var g2 = Xoshiro256(seed: 4)
    var z = Matrix(rows: n, columns: d)
    for k in 0..<(n * d) { z.values[k] = ConditionalMAF.normal(&g2) }
    return zip(forward(samples, context).values, z.values).map { abs($0 - $1) }.max()!
}

/// The worst relative disagreement between an estimator's gradient and central finite differences of its loss, the
/// weighted likelihood −Σ wᵣ log q with weights of both signs (as the atomic loss uses them).
func worstGradientError<E: ConditionalDensityEstimator>(_ estimator: E, theta: Matrix, context: Matrix) -> Double {
    let weights: [Double] = (0..<theta.rows).map { r in
        let sign = r % 2 == 1 ? -0.4 : 1.0, size = 1 + 0.1 * Double(r)
        return sign * size / Double(theta.rows)
    }
    let gradient = estimator.lossAndGradient(theta, context: context, rowWeights: weights).gradient
    var worst = 0.0
    for k in 0..<estimator.parameters.count {
        var plus = estimator, minus = estimator
        plus.parameters[k] += 1e-6
        minus.parameters[k] -= 1e-6
        let numeric = (plus.lossAndGradient(theta, context: context, rowWeights: weights).loss
            - minus.lossAndGradient(theta, context: context, rowWeights: weights).loss) / 2e-6
        worst = max(worst, abs(numeric - gradient[k]) / max(1e-4, abs(numeric) + abs(gradient[k])))
    }
    return worst
}

@Suite struct ConditionalMAFTests {
    func smallFlow() -> ConditionalMAF {
        ConditionalMAF(dimension: 3, contextDimension: 2, hidden: 8, transforms: 2, seed: 3,
                       thetaMean: [0.1, -0.2, 0.3], thetaSD: [1.5, 0.7, 2], contextMean: [1, -1], contextSD: [2, 0.5])
    }

    func batch() -> (Matrix, Matrix) {
        var g = Xoshiro256(seed: 9)
        let theta = Matrix(rows: 6, columns: 3, values: (0..<18).map { _ in g.nextUniform() * 4 - 2 })
        let x = Matrix(rows: 6, columns: 2, values: (0..<12).map { _ in g.nextUniform() * 4 - 2 })
        return (theta, x)
    }

    @Test("Parameter count equals sbi's default MAF for 13 parameters and 23 features: 41 630")
    func parameterCount() {
        #expect(ConditionalMAF.parameterCount(dimension: 13, context: 23, hidden: 50, transforms: 5) == 41_630)
    }

    @Test("Every parameter's gradient agrees with central finite differences")
    func gradientCheck() {
        let flow = smallFlow()
        let (theta, x) = batch()
        let worst = worstGradientError(flow, theta: theta, context: flow.standardizedContext(x))
        #expect(worst < 1e-5, "worst relative gradient error \(worst)")
    }

    @Test("The reported train log-prob is the mean log-prob of the training rows (split batches counted once)")
    func trainingReport() {
        var flow = smallFlow()
        var g = Xoshiro256(seed: 5)
        let theta = Matrix(rows: 41, columns: 3, values: (0..<123).map { _ in g.nextUniform() * 4 - 2 })
        let x = Matrix(rows: 41, columns: 2, values: (0..<82).map { _ in g.nextUniform() * 4 - 2 })
        var options = TrainingOptions()
        options.learningRate = 0   // weights stay put, so the epoch's batches all see the same flow
        options.maxEpochs = 1
        options.batchSize = 7
        let history = flow.train(theta: theta, x: x, options: options)
        let all = flow.logProbability(theta, standardizedContext: flow.standardizedContext(x)).reduce(0, +)
        let validationCount = 4
        let reported = history.trainLogProb[0] * Double(41 - validationCount) + history.validationLogProb[0] * Double(validationCount)
        #expect(abs(reported - all) < 1e-9 * abs(all))
    }

    @Test("Log-probs equal sbi's default MAF (nflows 0.14, float64) for the same weights, z-scoring and permutations")
    func matchesSbi() throws {
        struct Reference: Decodable { var theta: [[Double]]; var x: [[Double]]; var logProb: [Double] }
        let path = Golden.repository + "/Tests/IonLinkInferenceTests/Fixtures/maf_reference.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let flow = try JSONDecoder().decode(ConditionalMAF.self, from: data)
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let theta = Matrix(rows: reference.theta.count, columns: 3, values: reference.theta.flatMap { $0 })
        let x = Matrix(rows: reference.x.count, columns: 2, values: reference.x.flatMap { $0 })
        let logProb = flow.logProbability(theta, given: x)
        for (ours, theirs) in zip(logProb, reference.logProb) { #expect(abs(ours - theirs) < 1e-10 * max(1, abs(theirs)), "\(ours) vs sbi \(theirs)") }
    }

    @Test("Sampling sbi's size of flow (13-d θ, 23-d x, width 50, 5 transforms: degree blocks of 3 and 4 units) inverts its forward pass")
    func inverseAtScale() {
        let d = 13, c = 23
        var g = Xoshiro256(seed: 11)
        var flow = ConditionalMAF(dimension: d, contextDimension: c, hidden: 50, transforms: 5, seed: 2,
                                  thetaMean: (0..<d).map { _ in g.nextUniform() }, thetaSD: (0..<d).map { _ in 0.5 + g.nextUniform() },
                                  contextMean: (0..<c).map { _ in g.nextUniform() }, contextSD: (0..<c).map { _ in 0.5 + g.nextUniform() })
        // Larger weights than at initialisation, so that every unit matters.
        for k in flow.parameters.indices { flow.parameters[k] *= 1.5 }
        let x = (0..<c).map { _ in g.nextUniform() * 2 - 1 }
        let error = inversionError(samples: 64, dimension: d, forward: { flow.forward($0, $1).z },
                                   sample: { flow.sample(64, given: x, using: &$0) },
                                   context: flow.standardizedContext(Matrix(repeatingRow: x, count: 64)))
        #expect(error < 1e-8, "max |z − z₀| = \(error)")
    }

    @Test("Sampling inverts the forward pass; the masks are autoregressive and condition every dimension on x")
    func inverseAndMasks() {
        let flow = smallFlow()
        let error = inversionError(samples: 5, dimension: 3, forward: { flow.forward($0, $1).z },
                                   sample: { flow.sample(5, given: [0.5, -0.3], using: &$0) },
                                   context: flow.standardizedContext(Matrix(repeatingRow: [0.5, -0.3], count: 5)))
        #expect(error < 1e-9)
        // Output j of a MADE depends on every input before it in the order and on none after; every output
        // (the first included) reaches hidden units that see x.
        let (d, h) = (4, 10)
        let masks = ConditionalMAF.masks(d, h)
        for o in 0..<(2 * d) {
            for i in 0..<d {
                var paths = 0.0
                for a in 0..<h { for b in 0..<h { for c in 0..<h {
                    paths += masks.output[o * h + a] * masks.hidden[a * h + b] * masks.hidden[b * h + c] * masks.input[c * d + i]
                } } }
                #expect((paths > 0) == (i < o % d), "output \(o) ← input \(i): \(paths) paths")
            }
            #expect((0..<h).contains { masks.output[o * h + $0] == 1 }, "output \(o) has no hidden input")
        }
    }
}

@Suite struct MixtureDensityNetworkTests {
    @Test("Every MDN parameter's gradient agrees with central finite differences")
    func gradientCheck() {
        var g = Xoshiro256(seed: 9)
        let mdn = MixtureDensityNetwork(dimension: 3, contextDimension: 2, hidden: 6, components: 3, seed: 4,
                                        thetaMean: [0, 1, -1], thetaSD: [1, 2, 0.5], contextMean: [0, 0], contextSD: [1, 1])
        let theta = Matrix(rows: 5, columns: 3, values: (0..<15).map { _ in g.nextUniform() * 2 - 1 })
        let context = Matrix(rows: 5, columns: 2, values: (0..<10).map { _ in g.nextUniform() * 2 - 1 })
        let worst = worstGradientError(mdn, theta: theta, context: context)
        #expect(worst < 1e-5, "worst relative gradient error \(worst)")
    }

    @Test("MDN samples follow its density: a one-component mixture's samples have the mean and covariance of its Gaussian")
    func samplesMatchDensity() {
        var mdn = MixtureDensityNetwork(dimension: 2, contextDimension: 1, hidden: 4, components: 1, seed: 5,
                                        thetaMean: [0, 0], thetaSD: [1, 1], contextMean: [0], contextSD: [1])
        // Zero hidden weights: outputs are the biases → mean (0.5, −1), U = [[e^0.2, 0.3], [0, e^−0.1]].
        mdn.parameters = mdn.parameters.map { _ in 0 }
        let o = mdn.network.bo
        mdn.parameters[o + mdn.meanIndex(0, 0)] = 0.5
        mdn.parameters[o + mdn.meanIndex(0, 1)] = -1
        mdn.parameters[o + mdn.diagonalIndex(0, 0)] = 0.2
        mdn.parameters[o + mdn.diagonalIndex(0, 1)] = -0.1
        mdn.parameters[o + mdn.offDiagonalIndex(0, 0, 1)] = 0.3
        var g = Xoshiro256(seed: 1)
        let s = mdn.sample(40_000, given: [0], using: &g)
        let mean = s.columnMeans
        #expect(abs(mean[0] - 0.5) < 0.02 && abs(mean[1] + 1) < 0.02)
        // Σ = (UᵀU)⁻¹ = U⁻¹U⁻ᵀ
        let a = exp(0.2), b = 0.3, c = exp(-0.1)
        let inv = [[1 / a, -b / (a * c)], [0, 1 / c]]
        let sigma = (0..<2).map { i in (0..<2).map { j in (0..<2).reduce(0) { $0 + inv[i][$1] * inv[j][$1] } } }
        for i in 0..<2 { for j in 0..<2 {
            let cov = (0..<s.rows).reduce(0.0) { $0 + (s[$1, i] - mean[i]) * (s[$1, j] - mean[j]) } / Double(s.rows)
            #expect(abs(cov - sigma[i][j]) < 0.03, "Σ[\(i),\(j)] \(cov) vs \(sigma[i][j])")
        } }
    }
}

@Suite struct NeuralSplineFlowTests {
    func flow() -> NeuralSplineFlow {
        var f = NeuralSplineFlow(dimension: 3, contextDimension: 2, hidden: 6, transforms: 2, bins: 4, seed: 3,
                                 thetaMean: [0, 1, -1], thetaSD: [1, 2, 0.5], contextMean: [0, 0], contextSD: [1, 1])
        // Larger output weights than the near-identity initialisation, so the splines are far from linear.
        var g = Xoshiro256(seed: 11)
        for k in f.parameters.indices { f.parameters[k] += (g.nextUniform() - 0.5) * 0.6 }
        return f
    }

    @Test("Every NSF parameter's gradient agrees with central finite differences")
    func gradientCheck() {
        let f = flow()
        var g = Xoshiro256(seed: 9)
        let theta = Matrix(rows: 5, columns: 3, values: (0..<15).map { _ in g.nextUniform() * 4 - 2 })
        let context = Matrix(rows: 5, columns: 2, values: (0..<10).map { _ in g.nextUniform() * 2 - 1 })
        let worst = worstGradientError(f, theta: theta, context: context)
        #expect(worst < 1e-5, "worst relative gradient error \(worst)")
    }

    @Test("Sampling inverts the NSF forward pass")
    func inverse() {
        let f = flow()
        let error = inversionError(samples: 6, dimension: 3, forward: { f.forward($0, $1).z },
                                   sample: { f.sample(6, given: [0.5, -0.3], using: &$0) },
                                   context: f.standardizedContext(Matrix(repeatingRow: [0.5, -0.3], count: 6)))
        #expect(error < 1e-8)
    }
}

@Suite struct MathKernelTests {
    @Test("Vectorised softplus, sigmoid and log agree with libm over −800…800; Adam and Σx² agree with the scalar formulas")
    func kernelsAgreeWithLibm() {
        let s = stride(from: -800.0, through: 800.0, by: 0.0137).map { $0 } + [0, -1e-300, 1e-300, 745, -745]
        var scale = [Double](repeating: 0, count: s.count), slope = scale, logScale = scale
        ionlink_softplus_scale(s, s.count, &scale, &slope, &logScale)
        for (k, v) in s.enumerated() {
            let softplus = max(v, 0) + log1p(exp(-abs(v)))
            let sigmoid = 1 / (1 + exp(-v))
            #expect(abs(scale[k] - (softplus + 1e-3)) <= 1e-15 * (softplus + 1e-3), "scale at \(v)")
            #expect(abs(slope[k] - sigmoid) <= 1e-15 * sigmoid + 1e-300, "sigmoid at \(v)")
            #expect(abs(logScale[k] - log(softplus + 1e-3)) <= 1e-15 * max(1, abs(log(softplus + 1e-3))), "log at \(v)")
        }
        var g = Xoshiro256(seed: 2)
        let n = 37
        let gradient = (0..<n).map { _ in g.nextUniform() - 0.5 }
        var p = (0..<n).map { _ in g.nextUniform() }, m = (0..<n).map { _ in g.nextUniform() * 0.1 }, v = (0..<n).map { _ in g.nextUniform() * 0.01 }
        let (p0, m0, v0) = (p, m, v)
        ionlink_adam_step(&p, &m, &v, gradient, n, 0.9, 0.999, 5e-4, 0.1, 0.01, 1e-8)
        for k in 0..<n {
            let mk = 0.9 * m0[k] + (1 - 0.9) * gradient[k], vk = 0.999 * v0[k] + (1 - 0.999) * gradient[k] * gradient[k]
            #expect(m[k] == mk && v[k] == vk && p[k] == p0[k] - 5e-4 * (mk / 0.1) / ((vk / 0.01).squareRoot() + 1e-8))
        }
        let squares = ionlink_sum_of_squares(gradient, n)
        #expect(abs(squares - gradient.reduce(0) { $0 + $1 * $1 }) < 1e-14)
    }
}

@Suite struct TrainingDataTests {
    @Test("Extreme outliers (beyond 10 × IQR of the quartiles) are flagged per column; heavy but ordinary tails are not")
    func outlierColumns() {
        var g = Xoshiro256(seed: 3)
        var x = Matrix(rows: 400, columns: 3)
        for i in 0..<400 {
            x[i, 0] = g.nextUniform()                          // uniform: never flagged
            x[i, 1] = exp(3 * ConditionalMAF.normal(&g))       // log-normal with σ = 3: far tails
            x[i, 2] = ConditionalMAF.normal(&g)
        }
        x[7, 2] = 50                                            // one wild value
        #expect(extremeOutlierColumns(x) == [1, 2])
        x[7, 2] = 5
        #expect(extremeOutlierColumns(x) == [1])
    }
}
