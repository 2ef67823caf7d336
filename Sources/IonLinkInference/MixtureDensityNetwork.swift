import Foundation
import IonLinkCore

/// A mixture density network q(θ | x) (Bishop 1994; as sbi's `mdn`): x (z-scored) → two tanh layers →
/// K mixture weights, means and full covariances of z-scored θ. Each component's precision is UᵀU with U
/// upper triangular (exp on the diagonal), so log-densities and sampling need no matrix inversion.
public struct MixtureDensityNetwork: Sendable, Codable {
    public let dimension: Int
    public let contextDimension: Int
    public let hidden: Int
    public let components: Int
    public var parameters: [Double]
    public var thetaShift: [Double], thetaScale: [Double]
    public var contextShift: [Double], contextScale: [Double]

    var triangle: Int { dimension * (dimension - 1) / 2 }
    /// Outputs per context: logits K, means K·D, log-diagonals K·D, off-diagonals K·D(D−1)/2.
    var outputs: Int { components * (1 + 2 * dimension + triangle) }

    var network: TanhMLP { TanhMLP(inputs: contextDimension, hidden: hidden, outputs: outputs, start: 0) }

    public init(dimension: Int, contextDimension: Int, hidden: Int = 50, components: Int = 10, seed: UInt64,
                thetaMean: [Double], thetaSD: [Double], contextMean: [Double], contextSD: [Double]) {
        self.dimension = dimension
        self.contextDimension = contextDimension
        self.hidden = hidden
        self.components = components
        thetaShift = thetaMean; thetaScale = nonZeroScale(thetaSD)
        contextShift = contextMean; contextScale = nonZeroScale(contextSD)
        parameters = []
        parameters = [Double](repeating: 0, count: network.end)
        var generator = StreamKey.generator(seed: seed, purpose: .network, index: 0)
        network.initialise(&parameters, outputScale: 1, using: &generator)
    }

    /// Index helpers into one row of outputs.
    func logitIndex(_ k: Int) -> Int { k }
    func meanIndex(_ k: Int, _ j: Int) -> Int { components + k * dimension + j }
    func diagonalIndex(_ k: Int, _ j: Int) -> Int { components * (1 + dimension) + k * dimension + j }
    func offDiagonalIndex(_ k: Int, _ i: Int, _ j: Int) -> Int {
        // row-major upper triangle, i < j
        components * (1 + 2 * dimension) + k * triangle + i * dimension - i * (i + 1) / 2 + (j - i - 1)
    }

    /// Per row: log q, plus (for the gradient) the component log-weights, log-densities and residuals r = U(θ − μ).
    func evaluate(_ u: Matrix, _ out: Matrix) -> (logProb: [Double], logWeights: [[Double]], logDensities: [[Double]], residuals: [[[Double]]]) {
        let d = dimension, kk = components
        let normalizer = -0.5 * Double(d) * log(2 * Double.pi)
        var logProb = [Double](repeating: 0, count: u.rows)
        var logWeights: [[Double]] = [], logDensities: [[Double]] = [], residuals: [[[Double]]] = []
        for n in 0..<u.rows {
            let row = out.values[n * outputs ..< (n + 1) * outputs], o = row.startIndex
            let maxLogit = (0..<kk).map { row[o + logitIndex($0)] }.max()!
            let logSum = log((0..<kk).reduce(0) { $0 + exp(row[o + logitIndex($1)] - maxLogit) }) + maxLogit
            var lw = [Double](), ld = [Double](), rs = [[Double]]()
            for k in 0..<kk {
                let delta = (0..<d).map { u[n, $0] - row[o + meanIndex(k, $0)] }
                var r = [Double](repeating: 0, count: d)
                var logDiagonal = 0.0
                for i in 0..<d {
                    let di = row[o + diagonalIndex(k, i)]
                    logDiagonal += di
                    var s = exp(di) * delta[i]
                    for j in (i + 1)..<max(i + 1, d) { s += row[o + offDiagonalIndex(k, i, j)] * delta[j] }
                    r[i] = s
                }
                lw.append(row[o + logitIndex(k)] - logSum)
                ld.append(normalizer + logDiagonal - 0.5 * r.reduce(0) { $0 + $1 * $1 })
                rs.append(r)
            }
            let m = zip(lw, ld).map { $0 + $1 }.max()!
            logProb[n] = log(zip(lw, ld).reduce(0) { $0 + exp($1.0 + $1.1 - m) }) + m - thetaScale.reduce(0) { $0 + log($1) }
            logWeights.append(lw); logDensities.append(ld); residuals.append(rs)
        }
        return (logProb, logWeights, logDensities, residuals)
    }

    public func logProbability(_ theta: Matrix, standardizedContext c: Matrix) -> [Double] {
        evaluate(standardizedTheta(theta), network.forward(parameters, c).out).logProb
    }

    public func accumulateLossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double], into gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        accumulate(lossAndFullGradient(theta, context: context, rowWeights: rowWeights), into: gradient)
    }

    /// −Σᵣ wᵣ log q(θᵣ | xᵣ) and its gradient as a new array.
    func lossAndFullGradient(_ theta: Matrix, context c: Matrix, rowWeights: [Double]) -> (loss: Double, gradient: [Double]) {
        let d = dimension, kk = components
        let u = standardizedTheta(theta)
        let (h1, h2, out) = network.forward(parameters, c)
        let (logProb, logWeights, logDensities, residuals) = evaluate(u, out)
        var dOut = Matrix(rows: theta.rows, columns: outputs)
        for n in 0..<theta.rows {
            let o = n * outputs
            let total = logProb[n] + thetaScale.reduce(0) { $0 + log($1) }
            for k in 0..<kk {
                let responsibility = exp(logWeights[n][k] + logDensities[n][k] - total)
                let weight = exp(logWeights[n][k])
                dOut.values[o + logitIndex(k)] = (weight - responsibility) * rowWeights[n]
                let r = residuals[n][k]
                let delta = (0..<d).map { u[n, $0] - out.values[o + meanIndex(k, $0)] }
                let g = -responsibility * rowWeights[n]   // dℓ/d log N_k
                for i in 0..<d {
                    let ui = exp(out.values[o + diagonalIndex(k, i)])
                    dOut.values[o + diagonalIndex(k, i)] = g * (1 - r[i] * ui * delta[i])
                    for j in (i + 1)..<max(i + 1, d) { dOut.values[o + offDiagonalIndex(k, i, j)] = g * (-r[i] * delta[j]) }
                }
                // ∂ log N / ∂μ_j = (Uᵀ r)_j
                for j in 0..<d {
                    var s = r[j] * exp(out.values[o + diagonalIndex(k, j)])
                    for i in 0..<j { s += r[i] * out.values[o + offDiagonalIndex(k, i, j)] }
                    dOut.values[o + meanIndex(k, j)] = g * s
                }
            }
        }
        var gradient = [Double](repeating: 0, count: parameters.count)
        _ = network.backward(parameters, input: c, h1: h1, h2: h2, dOutput: dOut, gradient: &gradient)
        return (-zip(logProb, rowWeights).reduce(0) { $0 + $1.0 * $1.1 }, gradient)
    }

    public func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix {
        let d = dimension
        let c = standardizedContext(Matrix(rows: 1, columns: contextDimension, values: x))
        let out = network.forward(parameters, c).out
        let logits = (0..<components).map { out[0, logitIndex($0)] }
        let m = logits.max()!
        let weights = logits.map { exp($0 - m) }
        let total = weights.reduce(0, +)
        var result = Matrix(rows: n, columns: d)
        for s in 0..<n {
            var pick = generator.nextUniform() * total, k = 0
            while k < components - 1 && pick >= weights[k] { pick -= weights[k]; k += 1 }
            let z = (0..<d).map { _ in ConditionalMAF.normal(&generator) }
            // Solve U·δ = z by back substitution.
            var delta = [Double](repeating: 0, count: d)
            for i in stride(from: d - 1, through: 0, by: -1) {
                var v = z[i]
                for j in (i + 1)..<max(i + 1, d) { v -= out[0, offDiagonalIndex(k, i, j)] * delta[j] }
                delta[i] = v / exp(out[0, diagonalIndex(k, i)])
            }
            for j in 0..<d { result[s, j] = (out[0, meanIndex(k, j)] + delta[j]) * thetaScale[j] + thetaShift[j] }
        }
        return result
    }
}
