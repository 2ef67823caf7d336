import CMathKernel
import Foundation
import IonLinkCore

/// A conditional masked autoregressive flow q(θ | x) configured like sbi's default MAF (nflows): z-scoring
/// of θ and x, then `transforms` × [MADE affine transform → fixed random permutation], standard-normal base.
///
/// Each MADE (Germain et al. 2015, non-residual, exactly as nflows 0.14 computes it): h₀ = tanh(M₀W₀ u + b₀ +
/// tanh(W_c x + b_c)), then two masked `hidden × hidden` layers each followed by tanh, then a masked output layer
/// giving an unconstrained scale s and a shift m per dimension; y = u · (softplus(s) + 1e-3) + m (nflows ≥ 0.13; the older sigmoid(s + 2) + 1e-3
/// caps the scale at 1, so the data→noise direction can never expand and narrow posteriors cannot be fitted —
/// measured on the linear-Gaussian test). Degrees follow nflows' natural order, from 0 (see `masks`).
/// All parameters live in one flat vector (`parameters`) so optimisers treat them uniformly; forward and
/// backward passes are hand-written over BLAS on preallocated scratch memory.
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
    /// MADE's masks laid out like `parameters`: 0 for weights the masks remove, 1 for every other entry.
    let parameterMask: [Double]

    enum CodingKeys: String, CodingKey {
        case dimension, contextDimension, hidden, transforms, parameters, permutations, thetaShift, thetaScale, contextShift, contextScale
    }

    // MARK: - Layout

    /// A dense layer's place in `parameters`: `rows × columns` weights (row-major), then `rows` biases.
    struct Layer {
        var weights: Int, rows: Int, columns: Int
        var bias: Int { weights + rows * columns }
    }
    struct MADELayout { var input: Layer; var context: Layer; var hidden1: Layer; var hidden2: Layer; var output: Layer }

    func layout(_ t: Int) -> MADELayout {
        let d = dimension, c = contextDimension, h = hidden
        var offset = t * Self.parameterCount(dimension: d, context: c, hidden: h, transforms: 1)
        func layer(_ rows: Int, _ columns: Int) -> Layer {
            defer { offset += rows * columns + rows }
            return Layer(weights: offset, rows: rows, columns: columns)
        }
        return MADELayout(input: layer(h, d), context: layer(h, c), hidden1: layer(h, h), hidden2: layer(h, h), output: layer(2 * d, h))
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

    /// `masks` spread over the whole parameter vector (biases and context weights are free).
    static func parameterMask(dimension d: Int, context c: Int, hidden h: Int, transforms: Int) -> [Double] {
        let masks = Self.masks(d, h)
        let one = parameterCount(dimension: d, context: c, hidden: h, transforms: 1)
        var mask = [Double](repeating: 1, count: one)
        for (offset, values) in [(0, masks.input), ((d * h + h) + (c * h + h), masks.hidden),
                                 ((d * h + h) + (c * h + h) + (h * h + h), masks.hidden), ((d * h + h) + (c * h + h) + 2 * (h * h + h), masks.output)] {
            mask.replaceSubrange(offset ..< offset + values.count, with: values)
        }
        return Array([[Double]](repeating: mask, count: transforms).joined())
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
        parameterMask = Self.parameterMask(dimension: dimension, context: contextDimension, hidden: hidden, transforms: transforms)
        permutations = (0..<transforms).map { _ in Array(0..<dimension).shuffled(using: &generator) }
        thetaShift = thetaMean; thetaScale = nonZeroScale(thetaSD)
        contextShift = contextMean; contextScale = nonZeroScale(contextSD)
        for t in 0..<transforms {
            let l = layout(t)
            for layer in [l.input, l.context, l.hidden1, l.hidden2, l.output] {
                let bound = 1 / Double(layer.columns).squareRoot()
                for k in 0..<(layer.rows * layer.columns + layer.rows) {
                    parameters[layer.weights + k] = (generator.nextUniform() * 2 - 1) * bound
                }
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dimension = try c.decode(Int.self, forKey: .dimension)
        contextDimension = try c.decode(Int.self, forKey: .contextDimension)
        hidden = try c.decode(Int.self, forKey: .hidden)
        transforms = try c.decode(Int.self, forKey: .transforms)
        parameters = try c.decode([Double].self, forKey: .parameters)
        permutations = try c.decode([[Int]].self, forKey: .permutations)
        thetaShift = try c.decode([Double].self, forKey: .thetaShift)
        thetaScale = try c.decode([Double].self, forKey: .thetaScale)
        contextShift = try c.decode([Double].self, forKey: .contextShift)
        contextScale = try c.decode([Double].self, forKey: .contextScale)
        let (d, n) = (dimension, contextDimension)
        guard d > 0, n > 0, hidden > 0, transforms > 0,
              parameters.count == Self.parameterCount(dimension: d, context: n, hidden: hidden, transforms: transforms),
              permutations.count == transforms, permutations.allSatisfy({ $0.sorted() == Array(0..<d) }),
              thetaShift.count == d, thetaScale.count == d, contextShift.count == n, contextScale.count == n
        else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "MAF sizes disagree with its parameters"))
        }
        parameterMask = Self.parameterMask(dimension: dimension, context: contextDimension, hidden: hidden, transforms: transforms)
    }

    /// `parameters` with the masked weights zeroed: what the passes multiply by.
    func maskedParameters() -> [Double] {
        var w = parameters
        w.withUnsafeMutableBufferPointer { w in parameterMask.withUnsafeBufferPointer { m in for k in 0..<w.count { w[k] *= m[k] } } }
        return w
    }

    // MARK: - Dense layers on raw buffers

    /// output (B × rows) = input (B × columns) · Wᵀ + b, or `+=` with `accumulate`.
    static func dense(_ layer: Layer, weights w: UnsafePointer<Double>, input: UnsafePointer<Double>, batch: Int,
                      output: UnsafeMutablePointer<Double>, accumulate: Bool = false) {
        let r = layer.rows
        for i in 0..<batch {
            for j in 0..<r { output[i * r + j] = (accumulate ? output[i * r + j] : 0) + w[layer.bias + j] }
        }
        Matrix.gemm(transposeB: true, m: batch, n: r, k: layer.columns, input, lda: layer.columns, w + layer.weights,
                    ldb: layer.columns, beta: 1, output, ldc: r)
    }

    /// Adds dW = dOutputᵀ·input and db = Σ dOutput to `gradient`; writes (or adds) dInput = dOutput·W.
    static func backDense(_ layer: Layer, weights w: UnsafePointer<Double>, input: UnsafePointer<Double>, dOutput: UnsafePointer<Double>,
                          batch: Int, gradient: UnsafeMutablePointer<Double>, dInput: UnsafeMutablePointer<Double>?, accumulateInput: Bool = false) {
        let r = layer.rows, c = layer.columns
        Matrix.gemm(transposeA: true, m: r, n: c, k: batch, dOutput, lda: r, input, ldb: c, beta: 1, gradient + layer.weights, ldc: c)
        let bias = gradient + layer.bias
        for i in 0..<batch { for j in 0..<r { bias[j] += dOutput[i * r + j] } }
        if let dInput {
            Matrix.gemm(m: batch, n: c, k: r, dOutput, lda: r, w + layer.weights, ldb: c, beta: accumulateInput ? 1 : 0, dInput, ldc: c)
        }
    }

    // MARK: - Forward and backward passes

    /// Where one pass over `batch` rows keeps its intermediate values, in one scratch allocation: per transform
    /// the input u (B × D), the context term tanh(W_c x + b_c), h₀, h₁, h₂ (B × H each), the MADE outputs (B × 2D), and scale and sigmoid(s) of every
    /// output (B × 2D each; only the first D columns, those of the scales, are used); then z, log|det|, the logs of
    /// the scales, and the backward pass's work space.
    struct PassMemory {
        let batch: Int, d: Int, h: Int, transforms: Int
        let base: UnsafeMutablePointer<Double>
        var perTransform: Int { batch * (7 * d + 4 * h) }
        static func count(batch: Int, d: Int, h: Int, transforms: Int) -> Int {
            transforms * batch * (7 * d + 4 * h) + batch * (3 * d + 1) + batch * (5 * d + 3 * h)
        }
        func input(_ t: Int) -> UnsafeMutablePointer<Double> { base + t * perTransform }
        func contextTerm(_ t: Int) -> UnsafeMutablePointer<Double> { input(t) + batch * d }
        func h0(_ t: Int) -> UnsafeMutablePointer<Double> { contextTerm(t) + batch * h }
        func h1(_ t: Int) -> UnsafeMutablePointer<Double> { h0(t) + batch * h }
        func h2(_ t: Int) -> UnsafeMutablePointer<Double> { h1(t) + batch * h }
        func out(_ t: Int) -> UnsafeMutablePointer<Double> { h2(t) + batch * h }
        func scale(_ t: Int) -> UnsafeMutablePointer<Double> { out(t) + 2 * batch * d }
        func sigmoid(_ t: Int) -> UnsafeMutablePointer<Double> { scale(t) + 2 * batch * d }
        var z: UnsafeMutablePointer<Double> { base + transforms * perTransform }
        var logDet: UnsafeMutablePointer<Double> { z + batch * d }
        var logScale: UnsafeMutablePointer<Double> { logDet + batch }
        // Backward work space: dL/d(output of a transform) and dL/dy (B × D), dL/d(MADE output) (B × 2D),
        // dL/du (B × D), and three B × H gradients.
        var dOut: UnsafeMutablePointer<Double> { logScale + 2 * batch * d }
        var dy: UnsafeMutablePointer<Double> { dOut + batch * d }
        var dMade: UnsafeMutablePointer<Double> { dy + batch * d }
        var du: UnsafeMutablePointer<Double> { dMade + 2 * batch * d }
        var dPre2: UnsafeMutablePointer<Double> { du + batch * d }
        var dPre1: UnsafeMutablePointer<Double> { dPre2 + batch * h }
        var dPre0: UnsafeMutablePointer<Double> { dPre1 + batch * h }
    }

    /// Runs `body` with scratch memory for a pass over `batch` rows.
    func withPassMemory<R>(batch: Int, _ body: (PassMemory) -> R) -> R {
        let count = PassMemory.count(batch: batch, d: dimension, h: hidden, transforms: transforms)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: count) { buffer in
            body(PassMemory(batch: batch, d: dimension, h: hidden, transforms: transforms, base: buffer.baseAddress!))
        }
    }

    /// The context term tanh(W_c c + b_c) of transform t for standardised context rows c.
    func contextTerm(_ t: Int, weights w: UnsafePointer<Double>, context c: UnsafePointer<Double>, batch: Int, output: UnsafeMutablePointer<Double>) {
        Self.dense(layout(t).context, weights: w, input: c, batch: batch, output: output)
        ionlink_tanh(output, batch * hidden)
    }

    /// The MADE of transform t: outputs (B × 2D: D unconstrained scales then D shifts) for inputs u, given the
    /// context term of the same rows.
    func made(_ t: Int, weights w: UnsafePointer<Double>, u: UnsafePointer<Double>, contextTerm: UnsafePointer<Double>, batch: Int,
              h0: UnsafeMutablePointer<Double>, h1: UnsafeMutablePointer<Double>, h2: UnsafeMutablePointer<Double>, out: UnsafeMutablePointer<Double>) {
        let l = layout(t)
        h0.update(from: contextTerm, count: batch * hidden)
        Self.dense(l.input, weights: w, input: u, batch: batch, output: h0, accumulate: true)
        ionlink_tanh(h0, batch * hidden)
        Self.dense(l.hidden1, weights: w, input: h0, batch: batch, output: h1)
        ionlink_tanh(h1, batch * hidden)
        Self.dense(l.hidden2, weights: w, input: h1, batch: batch, output: h2)
        ionlink_tanh(h2, batch * hidden)
        Self.dense(l.output, weights: w, input: h2, batch: batch, output: out)
    }

    /// The data → noise pass: fills every transform's values, z and log|det| in `memory` for θ (raw) and
    /// standardised context rows.
    func forwardPass(_ theta: Matrix, context: Matrix, weights w: UnsafePointer<Double>, memory m: PassMemory) {
        let b = theta.rows, d = dimension
        let u0 = standardizedTheta(theta)
        u0.values.withUnsafeBufferPointer { m.input(0).update(from: $0.baseAddress!, count: b * d) }
        let logScale = thetaScale.reduce(0) { $0 + log($1) }
        for i in 0..<b { m.logDet[i] = -logScale }
        context.values.withUnsafeBufferPointer { c in
            for t in 0..<transforms {
                let u = m.input(t), out = m.out(t), scale = m.scale(t), sig = m.sigmoid(t)
                contextTerm(t, weights: w, context: c.baseAddress!, batch: b, output: m.contextTerm(t))
                made(t, weights: w, u: u, contextTerm: m.contextTerm(t), batch: b, h0: m.h0(t), h1: m.h1(t), h2: m.h2(t), out: out)
                let next = t + 1 < transforms ? m.input(t + 1) : m.z
                let p = permutations[t]
                ionlink_softplus_scale(out, 2 * b * d, scale, sig, m.logScale)
                for i in 0..<b {
                    var logDet = 0.0
                    for j in 0..<d { logDet += m.logScale[i * 2 * d + j] }
                    m.logDet[i] += logDet
                    for j in 0..<d {
                        let k = p[j]
                        next[i * d + j] = u[i * d + k] * scale[i * 2 * d + k] + out[i * 2 * d + d + k]
                    }
                }
            }
        }
    }

    /// log q(θ | x) for each row from a finished forward pass.
    func logProbabilities(_ m: PassMemory) -> [Double] {
        let normalizer = -0.5 * Double(dimension) * log(2 * Double.pi)
        return (0..<m.batch).map { i in
            var sum = 0.0
            for j in 0..<dimension { sum += m.z[i * dimension + j] * m.z[i * dimension + j] }
            return normalizer - 0.5 * sum + m.logDet[i]
        }
    }

    /// log q(θ | x) and z for each row (x standardised).
    func forward(_ theta: Matrix, _ context: Matrix) -> (logProb: [Double], z: Matrix) {
        let w = maskedParameters()
        return withPassMemory(batch: theta.rows) { m in
            w.withUnsafeBufferPointer { forwardPass(theta, context: context, weights: $0.baseAddress!, memory: m) }
            return (logProbabilities(m), Matrix(rows: theta.rows, columns: dimension, values: Array(UnsafeBufferPointer(start: m.z, count: theta.rows * dimension))))
        }
    }

    /// Adds the gradient of −Σᵣ wᵣ log q(θᵣ | xᵣ) (`rowWeights`) to `gradient` and returns that loss. `weights` must be
    /// `maskedParameters()`.
    func accumulateLossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double], weights w: UnsafePointer<Double>,
                                   into gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        let d = dimension, b = theta.rows
        return withPassMemory(batch: b) { m in
            forwardPass(theta, context: context, weights: w, memory: m)
            let loss = -zip(logProbabilities(m), rowWeights).reduce(0) { $0 + $1.0 * $1.1 }
            // dL/dz for the base density: L = −Σ wᵢ(−½‖zᵢ‖² + log|detᵢ|) → dL/dzᵢ = wᵢ zᵢ, dL/dlog|detᵢ| = −wᵢ.
            for i in 0..<b { for j in 0..<d { m.dOut[i * d + j] = m.z[i * d + j] * rowWeights[i] } }
            let g = gradient.baseAddress!
            context.values.withUnsafeBufferPointer { c in
                for t in stride(from: transforms - 1, through: 0, by: -1) {
                    let p = permutations[t], u = m.input(t), scale = m.scale(t), sig = m.sigmoid(t)
                    let dy = m.dy, dMade = m.dMade, du = m.du
                    for i in 0..<b { for j in 0..<d { dy[i * d + p[j]] = m.dOut[i * d + j] } }
                    // Affine: y = u·scale + shift; log|det| += Σ log scale.
                    for i in 0..<b {
                        for j in 0..<d {
                            let k = i * d + j, o = i * 2 * d + j
                            dMade[o] = (dy[k] * u[k] - rowWeights[i] / scale[o]) * sig[o]
                            dMade[o + d] = dy[k]
                            du[k] = dy[k] * scale[o]
                        }
                    }
                    let l = layout(t)
                    Self.backDense(l.output, weights: w, input: m.h2(t), dOutput: dMade, batch: b, gradient: g, dInput: m.dPre2)
                    let h2 = m.h2(t), h1 = m.h1(t)
                    for k in 0..<(b * hidden) { m.dPre2[k] *= 1 - h2[k] * h2[k] }
                    Self.backDense(l.hidden2, weights: w, input: h1, dOutput: m.dPre2, batch: b, gradient: g, dInput: m.dPre1)
                    for k in 0..<(b * hidden) { m.dPre1[k] *= 1 - h1[k] * h1[k] }
                    let h0 = m.h0(t), contextTerm = m.contextTerm(t)
                    Self.backDense(l.hidden1, weights: w, input: h0, dOutput: m.dPre1, batch: b, gradient: g, dInput: m.dPre0)
                    for k in 0..<(b * hidden) { m.dPre0[k] *= 1 - h0[k] * h0[k] }
                    Self.backDense(l.input, weights: w, input: u, dOutput: m.dPre0, batch: b, gradient: g, dInput: du, accumulateInput: true)
                    let dContext = m.dPre2   // free again: the gradient at the context layer's pre-activation
                    for k in 0..<(b * hidden) { dContext[k] = m.dPre0[k] * (1 - contextTerm[k] * contextTerm[k]) }
                    Self.backDense(l.context, weights: w, input: c.baseAddress!, dOutput: dContext, batch: b, gradient: g, dInput: nil)
                    m.dOut.update(from: du, count: b * d)
                }
            }
            // Masked weights take no part in the flow: their gradient is zero.
            parameterMask.withUnsafeBufferPointer { mask in for k in 0..<gradient.count { gradient[k] *= mask[k] } }
            return loss
        }
    }

    // MARK: - Sampling

    /// θ samples (n × D) for one observation x (raw features), drawn with `generator`.
    ///
    /// Inverting a MADE takes one dimension at a time, and dimension j needs only the hidden units of degree ≤ j, which
    /// depend only on the dimensions already inverted. So each MADE's hidden units are sorted by degree (`DegreeSortedMADE`)
    /// and computed once, block by block as their inputs become known: the whole inverse costs about one forward pass
    /// per transform instead of D.
    public func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix {
        let d = dimension, h = hidden
        var z = Matrix(rows: n, columns: d)
        for k in 0..<z.values.count { z.values[k] = Self.normal(&generator) }
        let context = standardizedContext(Matrix(rows: 1, columns: contextDimension, values: x)).values
        let w = maskedParameters()
        var result = Matrix(rows: n, columns: d)
        // Scratch, unit-major (one row of n samples per hidden unit or dimension, so that a block of units and a prefix
        // of inputs are contiguous): h₀, h₁, h₂ (H × n each), this transform's output y and its inverse u (D × n each),
        // the scale and shift of one dimension (n each).
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n * (3 * h + 2 * d + 2)) { buffer in
            let h0 = buffer.baseAddress!, h1 = h0 + n * h, h2 = h1 + n * h, y = h2 + n * h, u = y + n * d, scale = u + n * d, shift = scale + n
            for i in 0..<n { for j in 0..<d { y[j * n + i] = z.values[i * d + j] } }
            w.withUnsafeBufferPointer { w in
                for t in stride(from: transforms - 1, through: 0, by: -1) {
                    let made = DegreeSortedMADE(self, transform: t, weights: w.baseAddress!)
                    made.startFirstLayer(context: context, batch: n, h0: h0)
                    for j in 0..<d {
                        made.addUnits(ofDegree: j, u: u, batch: n, h0: h0, h1: h1, h2: h2)
                        made.output(dimension: j, h2: h2, batch: n, scale: scale, shift: shift)
                        // y holds dimension j at row k where the permutation took it there (y[k] = u[p[k]]).
                        let source = y + made.inversePermutation[j] * n, target = u + j * n
                        for i in 0..<n { target[i] = (source[i] - shift[i]) / (Self.softplus(scale[i]) + 1e-3) }
                    }
                    y.update(from: u, count: n * d)
                }
            }
            for i in 0..<n { for j in 0..<d { result[i, j] = y[j * n + i] * thetaScale[j] + thetaShift[j] } }
        }
        return result
    }

    /// One transform's MADE with its hidden units reordered by degree (0 first), so that the units of degree ≤ j are a
    /// prefix of each layer: the weights are copied into that order once per `sample` call. Activations are unit-major
    /// (H × n), so a block of new units and a prefix of inputs are each one contiguous run.
    struct DegreeSortedMADE {
        let d: Int, h: Int
        /// Per degree, the end of its block of units (units of degree ≤ j are 0 ..< ends[j]).
        let ends: [Int]
        /// Where output column j of the transform comes from: y[k] = u[p[k]], so dimension j sits at column k.
        let inversePermutation: [Int]
        var contextWeights: [Double], contextBias: [Double], inputWeights: [Double], inputBias: [Double]
        var hidden1: [Double], bias1: [Double], hidden2: [Double], bias2: [Double], outputWeights: [Double], outputBias: [Double]

        init(_ maf: ConditionalMAF, transform t: Int, weights w: UnsafePointer<Double>) {
            d = maf.dimension; h = maf.hidden
            let c = maf.contextDimension, l = maf.layout(t), (d, h) = (self.d, self.h)
            let order = (0..<h).sorted { ($0 % d, $0) < ($1 % d, $1) }   // hidden degree = index mod D
            ends = (0..<d).map { j in order.filter { $0 % d <= j }.count }
            var inverse = [Int](repeating: 0, count: d)
            for (k, source) in maf.permutations[t].enumerated() { inverse[source] = k }
            inversePermutation = inverse
            func rows(_ layer: Layer, columns: Int, columnOrder: [Int]?) -> ([Double], [Double]) {
                var weights = [Double](repeating: 0, count: h * columns), bias = [Double](repeating: 0, count: h)
                for (r, unit) in order.enumerated() {
                    for k in 0..<columns { weights[r * columns + k] = w[layer.weights + unit * layer.columns + (columnOrder?[k] ?? k)] }
                    bias[r] = w[layer.bias + unit]
                }
                return (weights, bias)
            }
            (contextWeights, contextBias) = rows(l.context, columns: c, columnOrder: nil)
            (inputWeights, inputBias) = rows(l.input, columns: d, columnOrder: nil)
            (hidden1, bias1) = rows(l.hidden1, columns: h, columnOrder: order)
            (hidden2, bias2) = rows(l.hidden2, columns: h, columnOrder: order)
            outputWeights = [Double](repeating: 0, count: 2 * d * h)
            outputBias = (0..<(2 * d)).map { w[l.output.bias + $0] }
            for o in 0..<(2 * d) { for (k, unit) in order.enumerated() { outputWeights[o * h + k] = w[l.output.weights + o * h + unit] } }
        }

        /// h₀ ← tanh(W_c x + b_c) + b₀ for every unit and sample (one context for all samples; the input term is added
        /// degree by degree, then tanh).
        func startFirstLayer(context x: [Double], batch n: Int, h0: UnsafeMutablePointer<Double>) {
            let c = x.count
            for r in 0..<h {
                var term = contextBias[r]
                for k in 0..<c { term += contextWeights[r * c + k] * x[k] }
                (h0 + r * n).initialize(repeating: Foundation.tanh(term) + inputBias[r], count: n)
            }
        }

        /// Computes the units of degree j in all three layers: their inputs (dimensions < j, units of degree ≤ j) are final.
        func addUnits(ofDegree j: Int, u: UnsafePointer<Double>, batch n: Int, h0: UnsafeMutablePointer<Double>,
                      h1: UnsafeMutablePointer<Double>, h2: UnsafeMutablePointer<Double>) {
            let start = j == 0 ? 0 : ends[j - 1], end = ends[j], width = end - start
            guard width > 0 else { return }
            inputWeights.withUnsafeBufferPointer { Matrix.gemm(m: width, n: n, k: j, $0.baseAddress! + start * d, lda: d, u, ldb: n, beta: 1, h0 + start * n, ldc: n) }
            ionlink_tanh(h0 + start * n, width * n)
            for (input, output, weights, bias) in [(UnsafePointer(h0), h1, hidden1, bias1), (UnsafePointer(h1), h2, hidden2, bias2)] {
                for r in start..<end { (output + r * n).initialize(repeating: bias[r], count: n) }
                weights.withUnsafeBufferPointer { Matrix.gemm(m: width, n: n, k: end, $0.baseAddress! + start * h, lda: h, input, ldb: n, beta: 1, output + start * n, ldc: n) }
                ionlink_tanh(output + start * n, width * n)
            }
        }

        /// The unconstrained scale and the shift of dimension j for every sample, from the units of degree ≤ j.
        func output(dimension j: Int, h2: UnsafePointer<Double>, batch n: Int, scale: UnsafeMutablePointer<Double>, shift: UnsafeMutablePointer<Double>) {
            let end = ends[j]
            for (row, target) in [(j, scale), (d + j, shift)] {
                target.initialize(repeating: outputBias[row], count: n)
                outputWeights.withUnsafeBufferPointer { Matrix.gemm(m: 1, n: n, k: end, $0.baseAddress! + row * h, lda: h, h2, ldb: n, beta: 1, target, ldc: n) }
            }
        }
    }

    /// log(1 + eˢ), without overflow.
    static func softplus(_ s: Double) -> Double { s > 30 ? s : log1p(exp(s)) }

    /// A standard normal draw (Box–Muller).
    static func normal(_ g: inout Xoshiro256) -> Double {
        let u1 = 1 - g.nextUniform(), u2 = g.nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
