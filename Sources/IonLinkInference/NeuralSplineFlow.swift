import Foundation
import IonLinkCore

/// A conditional neural spline flow (Durkan et al. 2019; as sbi's `nsf`): z-scored θ, then `transforms` ×
/// [rational-quadratic coupling → fixed random permutation], standard-normal base. In each coupling the
/// dimensions of one parity pass unchanged and, with x, feed a network (two tanh layers) that gives every
/// other dimension a monotone spline of `bins` bins on [−3, 3] with identity tails. Differences from sbi: a
/// tanh MLP instead of a ReLU residual net, and permutations instead of LU-linear layers between couplings.
public struct NeuralSplineFlow: Sendable, Codable {
    public let dimension: Int
    public let contextDimension: Int
    public let hidden: Int
    public let transforms: Int
    public let bins: Int
    public var tailBound = 3.0
    public var parameters: [Double]
    public let permutations: [[Int]]
    public var thetaShift: [Double], thetaScale: [Double]
    public var contextShift: [Double], contextScale: [Double]

    var splineParameters: Int { 3 * bins - 1 }

    /// Dimensions transformed (and passed through) by transform t.
    func split(_ t: Int) -> (transformed: [Int], identity: [Int]) {
        guard dimension > 1 else { return ([0], []) }
        let transformed = (0..<dimension).filter { $0 % 2 == t % 2 }
        return (transformed, (0..<dimension).filter { $0 % 2 != t % 2 })
    }

    /// The conditioner of transform t: [identity dims, x] → spline parameters of the transformed dims.
    func network(_ t: Int) -> TanhMLP {
        var start = 0
        for s in 0..<t { start = networkLayout(s, start: start).end }
        return networkLayout(t, start: start)
    }

    private func networkLayout(_ t: Int, start: Int) -> TanhMLP {
        let (transformed, identity) = split(t)
        return TanhMLP(inputs: identity.count + contextDimension, hidden: hidden, outputs: transformed.count * splineParameters, start: start)
    }

    public init(dimension: Int, contextDimension: Int, hidden: Int = 50, transforms: Int = 5, bins: Int = 10, seed: UInt64,
                thetaMean: [Double], thetaSD: [Double], contextMean: [Double], contextSD: [Double]) {
        self.dimension = dimension
        self.contextDimension = contextDimension
        self.hidden = hidden
        self.transforms = transforms
        self.bins = bins
        thetaShift = thetaMean; thetaScale = nonZeroScale(thetaSD)
        contextShift = contextMean; contextScale = nonZeroScale(contextSD)
        var generator = StreamKey.generator(seed: seed, purpose: .network, index: 0)
        permutations = (0..<transforms).map { _ in Array(0..<dimension).shuffled(using: &generator) }
        parameters = []
        var count = 0
        for t in 0..<transforms { count = networkLayout(t, start: count).end }
        parameters = [Double](repeating: 0, count: count)
        // The output layer starts near zero: every spline starts close to the identity.
        for t in 0..<transforms { network(t).initialise(&parameters, outputScale: 1e-2, using: &generator) }
    }

    func conditionerInput(_ u: Matrix, _ identity: [Int], _ c: Matrix) -> Matrix {
        var values = [Double]()
        values.reserveCapacity(u.rows * (identity.count + c.columns))
        for i in 0..<u.rows {
            for j in identity { values.append(u[i, j]) }
            values += c.row(i)
        }
        return Matrix(rows: u.rows, columns: identity.count + c.columns, values: values)
    }

    struct Cache { var u: Matrix; var input: Matrix; var h1: Matrix; var h2: Matrix; var out: Matrix }

    func forward(_ theta: Matrix, _ c: Matrix) -> (logProb: [Double], z: Matrix, caches: [Cache]) {
        var u = standardizedTheta(theta)
        var logDet = [Double](repeating: -thetaScale.reduce(0) { $0 + log($1) }, count: u.rows)
        var caches: [Cache] = []
        let p = splineParameters
        for t in 0..<transforms {
            let (transformed, identity) = split(t)
            let input = conditionerInput(u, identity, c)
            let (h1, h2, out) = network(t).forward(parameters, input)
            caches.append(Cache(u: u, input: input, h1: h1, h2: h2, out: out))
            var y = u
            for i in 0..<u.rows {
                for (m, j) in transformed.enumerated() {
                    let start = i * out.columns + m * p
                    let (value, logDerivative) = RationalQuadraticSpline.forward(u[i, j], raw: out.values[start ..< start + p], bins: bins, bound: tailBound)
                    y[i, j] = value
                    logDet[i] += logDerivative
                }
            }
            let perm = permutations[t]
            var permuted = y
            for i in 0..<y.rows { for j in 0..<dimension { permuted[i, j] = y[i, perm[j]] } }
            u = permuted
        }
        let normalizer = -0.5 * Double(dimension) * log(2 * Double.pi)
        return ((0..<u.rows).map { normalizer - 0.5 * u.row($0).reduce(0) { $0 + $1 * $1 } + logDet[$0] }, u, caches)
    }

    public func logProbability(_ theta: Matrix, standardizedContext c: Matrix) -> [Double] { forward(theta, c).logProb }

    public func accumulateLossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double], into gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        accumulate(lossAndFullGradient(theta, context: context, rowWeights: rowWeights), into: gradient)
    }

    /// −Σᵣ wᵣ log q(θᵣ | xᵣ) and its gradient as a new array.
    func lossAndFullGradient(_ theta: Matrix, context c: Matrix, rowWeights: [Double]) -> (loss: Double, gradient: [Double]) {
        let rows = theta.rows, d = dimension, p = splineParameters
        let (logProb, z, caches) = forward(theta, c)
        var gradient = [Double](repeating: 0, count: parameters.count)
        var dOut = z
        for i in 0..<rows { for j in 0..<d { dOut[i, j] *= rowWeights[i] } }
        for t in stride(from: transforms - 1, through: 0, by: -1) {
            let perm = permutations[t]
            var dy = Matrix(rows: rows, columns: d)
            for i in 0..<rows { for j in 0..<d { dy[i, perm[j]] = dOut[i, j] } }
            let cache = caches[t]
            let (transformed, identity) = split(t)
            let n = network(t)
            var du = dy                                     // identity dims pass through
            var dNet = Matrix(rows: rows, columns: n.outputs)
            for i in 0..<rows {
                for (m, j) in transformed.enumerated() {
                    let start = i * n.outputs + m * p
                    du[i, j] = RationalQuadraticSpline.backward(cache.u[i, j], raw: cache.out.values[start ..< start + p], bins: bins, bound: tailBound,
                                                                dOutput: dy[i, j], dLogDerivative: -rowWeights[i], rawGradient: &dNet.values, offset: start)
                }
            }
            let dInput = n.backward(parameters, input: cache.input, h1: cache.h1, h2: cache.h2, dOutput: dNet, gradient: &gradient)
            for i in 0..<rows { for (m, j) in identity.enumerated() { du[i, j] += dInput[i, m] } }
            dOut = du
        }
        return (-zip(logProb, rowWeights).reduce(0) { $0 + $1.0 * $1.1 }, gradient)
    }

    public func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix {
        let d = dimension, p = splineParameters
        let c = standardizedContext(Matrix(repeatingRow: x, count: n))
        var y = Matrix(rows: n, columns: d)
        for k in 0..<y.values.count { y.values[k] = ConditionalMAF.normal(&generator) }
        for t in stride(from: transforms - 1, through: 0, by: -1) {
            let perm = permutations[t]
            var u = Matrix(rows: n, columns: d)
            for i in 0..<n { for j in 0..<d { u[i, perm[j]] = y[i, j] } }
            let (transformed, identity) = split(t)
            let out = network(t).forward(parameters, conditionerInput(u, identity, c)).out
            for i in 0..<n {
                for (m, j) in transformed.enumerated() {
                    let start = i * out.columns + m * p
                    u[i, j] = RationalQuadraticSpline.inverse(u[i, j], raw: out.values[start ..< start + p], bins: bins, bound: tailBound)
                }
            }
            y = u
        }
        for i in 0..<n { for j in 0..<d { y[i, j] = y[i, j] * thetaScale[j] + thetaShift[j] } }
        return y
    }
}

extension NeuralSplineFlow: ConditionalDensityEstimator {}
