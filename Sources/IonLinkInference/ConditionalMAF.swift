import CMathKernel
import Foundation
import IonLinkCore

/// A conditional masked autoregressive flow q(θ | x) configured like sbi's default MAF (nflows): z-scoring
/// of θ and x, then `transforms` × [MADE affine transform → fixed random permutation], standard-normal base.
///
/// Each MADE (Germain et al. 2015, non-residual as in nflows): h₀ = M₀W₀ u + b₀ + W_c x + b_c, then two masked
/// `hidden × hidden` layers each followed by tanh, then a masked output layer giving an unconstrained scale s
/// and a shift m per dimension; y = u · (softplus(s) + 1e-3) + m (nflows ≥ 0.13; the older sigmoid(s + 2) + 1e-3
/// caps the scale at 1, so the data→noise direction can never expand and narrow posteriors cannot be fitted —
/// measured on the linear-Gaussian test). Degrees follow nflows' natural order, from 0 (see `masks`).
/// All parameters live in one flat vector (`parameters`) so optimisers treat them uniformly; forward and
/// backward passes are hand-written over BLAS.
public struct ConditionalMAF: Sendable, Codable {
    public let dimension: Int
    public let contextDimension: Int
    public let hidden: Int
    public let transforms: Int
    /// Flat parameter vector.
    public var parameters: [Double]
    /// Per transform, the permutation applied after it: output[i] = input[permutation[i]].
    public let permutations: [[Int]]
    /// z-scoring of θ and x (training-set mean and SD per dimension).
    public var thetaShift: [Double], thetaScale: [Double]
    public var contextShift: [Double], contextScale: [Double]

    // MARK: - Layout

    struct Layer { var offset: Int; var rows: Int; var columns: Int; var bias: Int; var mask: [Double]? }
    struct MADELayout { var input: Layer; var context: Layer; var hidden1: Layer; var hidden2: Layer; var output: Layer }

    func layout(_ t: Int) -> MADELayout {
        let d = dimension, c = contextDimension, h = hidden
        let perTransform = (d * h + h) + (c * h + h) + 2 * (h * h + h) + (h * 2 * d + 2 * d)
        var offset = t * perTransform
        func layer(_ rows: Int, _ columns: Int, _ mask: [Double]?) -> Layer {
            defer { offset += rows * columns + rows }
            return Layer(offset: offset, rows: rows, columns: columns, bias: offset + rows * columns, mask: mask)
        }
        let masks = Self.masks(d, h)
        return MADELayout(input: layer(h, d, masks.input), context: layer(h, c, nil), hidden1: layer(h, h, masks.hidden),
                          hidden2: layer(h, h, masks.hidden), output: layer(2 * d, h, masks.output))
    }

    /// MADE degrees: inputs 1…D; hidden k mod D; hidden masks out ≥ in; the output layer (D scales then D shifts,
    /// each with the degree of its dimension) out > in. One change from nflows, whose hidden degrees start at 1:
    /// there the first dimension of every transform gets a constant scale and shift that ignore x, so with few
    /// parameters (D = 2: when the same one comes first in every transform, 1 seed in 2^(T−1)) a marginal can
    /// ignore the data entirely. Degree-0 hidden units see only x and condition every dimension.
    static func masks(_ d: Int, _ h: Int) -> (input: [Double], hidden: [Double], output: [Double]) {
        let inputDegrees = (1...d).map { $0 }
        let hiddenDegrees = (0..<h).map { $0 % d }
        var input = [Double](repeating: 0, count: h * d)
        for o in 0..<h { for i in 0..<d where hiddenDegrees[o] >= inputDegrees[i] { input[o * d + i] = 1 } }
        var hiddenMask = [Double](repeating: 0, count: h * h)
        for o in 0..<h { for i in 0..<h where hiddenDegrees[o] >= hiddenDegrees[i] { hiddenMask[o * h + i] = 1 } }
        var output = [Double](repeating: 0, count: 2 * d * h)
        for o in 0..<(2 * d) { for i in 0..<h where inputDegrees[o % d] > hiddenDegrees[i] { output[o * h + i] = 1 } }
        return (input, hiddenMask, output)
    }

    /// Number of parameters: 41 630 for 13 parameters, 23 features, 5 transforms of width 50 (as sbi).
    public static func parameterCount(dimension d: Int, context c: Int, hidden h: Int, transforms: Int) -> Int {
        transforms * ((d * h + h) + (c * h + h) + 2 * (h * h + h) + (h * 2 * d + 2 * d))
    }

    /// A new flow with PyTorch's default initialisation (uniform ±1/√fan-in) and random permutations from `seed`.
    public init(dimension: Int, contextDimension: Int, hidden: Int = 50, transforms: Int = 5, seed: UInt64,
                thetaMean: [Double], thetaSD: [Double], contextMean: [Double], contextSD: [Double]) {
        self.dimension = dimension
        self.contextDimension = contextDimension
        self.hidden = hidden
        self.transforms = transforms
        var generator = StreamKey.generator(seed: seed, purpose: .network, index: 0)
        parameters = [Double](repeating: 0, count: Self.parameterCount(dimension: dimension, context: contextDimension, hidden: hidden, transforms: transforms))
        permutations = (0..<transforms).map { _ in Array(0..<dimension).shuffled(using: &generator) }
        thetaShift = thetaMean; thetaScale = nonZeroScale(thetaSD)
        contextShift = contextMean; contextScale = nonZeroScale(contextSD)
        for t in 0..<transforms {
            let l = layout(t)
            for layer in [l.input, l.context, l.hidden1, l.hidden2, l.output] {
                let bound = 1 / Double(layer.columns).squareRoot()
                for k in 0..<(layer.rows * layer.columns + layer.rows) {
                    parameters[layer.offset + k] = (generator.nextUniform() * 2 - 1) * bound
                }
            }
        }
    }

    // MARK: - Forward with cache

    /// Intermediate values of one transform for a batch, kept for the backward pass.
    struct TransformCache {
        var input: Matrix      // u (B × D)
        var a0: Matrix         // pre-activation of block 1 input (B × H)
        var h1: Matrix, h2: Matrix
        var sigmoid: Matrix    // sigmoid(s) = d softplus(s)/ds (B × D)
        var scale: Matrix      // softplus(s) + 1e-3
    }

    func maskedWeights(_ layer: Layer) -> Matrix {
        var w = Matrix(rows: layer.rows, columns: layer.columns, values: Array(parameters[layer.offset ..< layer.offset + layer.rows * layer.columns]))
        if let mask = layer.mask { for k in 0..<w.values.count { w.values[k] *= mask[k] } }
        return w
    }

    /// y = W·x + b for a batch: input (B × columns) → (B × rows).
    func apply(_ layer: Layer, _ input: Matrix) -> Matrix {
        var out = Matrix.product(input, maskedWeights(layer), transposeB: true)
        for i in 0..<out.rows { for j in 0..<out.columns { out.values[i * out.columns + j] += parameters[layer.bias + j] } }
        return out
    }

    /// The MADE outputs (B × 2D: D unconstrained scales then D shifts) for inputs u and standardised context c,
    /// with the hidden activations.
    func made(_ t: Int, _ u: Matrix, _ c: Matrix, contextTerm: Matrix? = nil) -> (out: Matrix, a0: Matrix, h1: Matrix, h2: Matrix) {
        let l = layout(t)
        var a0 = apply(l.input, u)
        let ctx = contextTerm ?? apply(l.context, c)
        for k in 0..<a0.values.count { a0.values[k] += ctx.values[k] }
        var h1 = apply(l.hidden1, a0)
        h1.values.withUnsafeMutableBufferPointer { ionlink_tanh($0.baseAddress, $0.count) }
        var h2 = apply(l.hidden2, h1)
        h2.values.withUnsafeMutableBufferPointer { ionlink_tanh($0.baseAddress, $0.count) }
        return (apply(l.output, h2), a0, h1, h2)
    }

    /// log q(θ | x) for each row, and (optionally) the caches for `backward`.
    func forward(_ theta: Matrix, _ context: Matrix, keepCache: Bool) -> (logProb: [Double], caches: [TransformCache], z: Matrix) {
        let b = theta.rows, d = dimension
        var u = standardizedTheta(theta)
        var logDet = [Double](repeating: -thetaScale.reduce(0) { $0 + log($1) }, count: b)
        var caches: [TransformCache] = []
        for t in 0..<transforms {
            let (out, a0, h1, h2) = made(t, u, context)
            var y = u
            var sig = Matrix(rows: b, columns: d), scale = Matrix(rows: b, columns: d)
            for i in 0..<b {
                for j in 0..<d {
                    let s = out[i, j], shift = out[i, d + j]
                    sig[i, j] = 1 / (1 + exp(-s))               // d softplus / ds
                    scale[i, j] = Self.softplus(s) + 1e-3
                    y[i, j] = u[i, j] * scale[i, j] + shift
                    logDet[i] += log(scale[i, j])
                }
            }
            if keepCache { caches.append(TransformCache(input: u, a0: a0, h1: h1, h2: h2, sigmoid: sig, scale: scale)) }
            // Permutation.
            let p = permutations[t]
            var permuted = y
            for i in 0..<b { for j in 0..<d { permuted[i, j] = y[i, p[j]] } }
            u = permuted
        }
        let normalizer = -0.5 * Double(d) * log(2 * Double.pi)
        let logProb = (0..<b).map { i in normalizer - 0.5 * u.row(i).reduce(0) { $0 + $1 * $1 } + logDet[i] }
        return (logProb, caches, u)
    }


    // MARK: - Backward

    /// Mean negative log-likelihood of the batch and its gradient with respect to `parameters`.
    /// - Parameter normalizer: the batch size the loss is averaged over (default: the rows given); a part of a
    ///   batch passes the whole batch's size so that partial gradients add up.
    public func lossAndGradient(_ theta: Matrix, context standardized: Matrix, normalizer: Int? = nil) -> (loss: Double, gradient: [Double]) {
        let d = dimension, b = normalizer ?? theta.rows
        let (logProb, caches, z) = forward(theta, standardized, keepCache: true)
        let rows = theta.rows
        let loss = -logProb.reduce(0, +) / Double(b)
        var gradient = [Double](repeating: 0, count: parameters.count)
        // dL/dz for the base density: L = −mean(−½‖z‖²  + …) → dL/dz = z / B.
        var dOut = z
        for k in 0..<dOut.values.count { dOut.values[k] /= Double(b) }
        let dLogDet = -1 / Double(b)
        for t in stride(from: transforms - 1, through: 0, by: -1) {
            // Undo the permutation: dy[:, p[j]] = dpermuted[:, j].
            let p = permutations[t]
            var dy = Matrix(rows: rows, columns: d)
            for i in 0..<rows { for j in 0..<d { dy[i, p[j]] = dOut[i, j] } }
            let cache = caches[t]
            let l = layout(t)
            // Affine: y = u·scale + shift; logdet += Σ log scale.
            var dMade = Matrix(rows: rows, columns: 2 * d)
            var du = Matrix(rows: rows, columns: d)
            for i in 0..<rows {
                for j in 0..<d {
                    let scale = cache.scale[i, j], g = cache.sigmoid[i, j]
                    let dScale = dy[i, j] * cache.input[i, j] + dLogDet / scale
                    dMade[i, j] = dScale * g
                    dMade[i, d + j] = dy[i, j]
                    du[i, j] = dy[i, j] * scale
                }
            }
            // Output layer.
            let dH2 = backLinear(l.output, input: cache.h2, dOutput: dMade, gradient: &gradient)
            var dPre2 = dH2
            for k in 0..<dPre2.values.count { dPre2.values[k] *= 1 - cache.h2.values[k] * cache.h2.values[k] }
            let dH1 = backLinear(l.hidden2, input: cache.h1, dOutput: dPre2, gradient: &gradient)
            var dPre1 = dH1
            for k in 0..<dPre1.values.count { dPre1.values[k] *= 1 - cache.h1.values[k] * cache.h1.values[k] }
            let dA0 = backLinear(l.hidden1, input: cache.a0, dOutput: dPre1, gradient: &gradient)
            let dInput = backLinear(l.input, input: cache.input, dOutput: dA0, gradient: &gradient)
            _ = backLinear(l.context, input: standardized, dOutput: dA0, gradient: &gradient)
            for k in 0..<du.values.count { du.values[k] += dInput.values[k] }
            dOut = du
        }
        return (loss, gradient)
    }

    /// Accumulates dW = dOutputᵀ·input (masked) and db = Σ dOutput; returns dInput = dOutput·W (masked).
    func backLinear(_ layer: Layer, input: Matrix, dOutput: Matrix, gradient: inout [Double]) -> Matrix {
        let dW = Matrix.product(dOutput, input, transposeA: true)
        for k in 0..<dW.values.count { gradient[layer.offset + k] += dW.values[k] * (layer.mask?[k] ?? 1) }
        for i in 0..<dOutput.rows { for j in 0..<dOutput.columns { gradient[layer.bias + j] += dOutput[i, j] } }
        return Matrix.product(dOutput, maskedWeights(layer))
    }

    // MARK: - Sampling

    /// θ samples (n × D) for one observation x (raw features), drawn with `generator`.
    public func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix {
        let d = dimension
        var z = Matrix(rows: n, columns: d)
        for k in 0..<z.values.count { z.values[k] = Self.normal(&generator) }
        let context = standardizedContext(Matrix(repeatingRow: x, count: n))
        var y = z
        for t in stride(from: transforms - 1, through: 0, by: -1) {
            // Undo the permutation, then invert the affine autoregressively (one MADE pass per dimension).
            let p = permutations[t]
            var unpermuted = Matrix(rows: n, columns: d)
            for i in 0..<n { for j in 0..<d { unpermuted[i, p[j]] = y[i, j] } }
            var u = Matrix(rows: n, columns: d)
            let contextTerm = apply(layout(t).context, context) // the same for all d passes
            for j in 0..<d {
                let out = made(t, u, context, contextTerm: contextTerm).out
                for i in 0..<n {
                    let scale = Self.softplus(out[i, j]) + 1e-3
                    u[i, j] = (unpermuted[i, j] - out[i, d + j]) / scale
                }
            }
            y = u
        }
        for i in 0..<n { for j in 0..<d { y[i, j] = y[i, j] * thetaScale[j] + thetaShift[j] } }
        return y
    }

    /// log(1 + eˢ), without overflow.
    static func softplus(_ s: Double) -> Double { s > 30 ? s : log1p(exp(s)) }

    /// A standard normal draw (Box–Muller).
    static func normal(_ g: inout Xoshiro256) -> Double {
        let u1 = 1 - g.nextUniform(), u2 = g.nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
