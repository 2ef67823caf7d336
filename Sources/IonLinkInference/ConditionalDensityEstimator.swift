import IonLinkCore

/// A trainable conditional density q(θ | x) over z-scored θ and x, with hand-written gradients.
public protocol ConditionalDensityEstimator: Sendable, Codable {
    /// Dimensions of θ and x.
    var dimension: Int { get }
    var contextDimension: Int { get }
    /// All trainable weights, flat.
    var parameters: [Double] { get set }
    /// z-scoring of θ and x (training-set mean and SD per dimension; see `nonZeroScale`).
    var thetaShift: [Double] { get }
    var thetaScale: [Double] { get }
    var contextShift: [Double] { get }
    var contextScale: [Double] { get }
    /// x (raw features, rows) z-scored with the training statistics.
    func standardizedContext(_ x: Matrix) -> Matrix
    /// log q(θ | x) per row (θ raw, x already standardised).
    func logProbability(_ theta: Matrix, standardizedContext: Matrix) -> [Double]
    /// Adds the gradient of the weighted negative log-likelihood −Σᵣ wᵣ log q(θᵣ | xᵣ) (θ raw, x standardised, one
    /// weight per row, of any sign) to `gradient` and returns that loss: with wᵣ = 1/B over a batch of B rows split in
    /// parts, the parts add up to the batch's mean.
    func accumulateLossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double], into gradient: UnsafeMutableBufferPointer<Double>) -> Double
    /// n samples of θ for one observation (raw features).
    func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix
}

extension ConditionalDensityEstimator {
    public func standardizedContext(_ x: Matrix) -> Matrix { zScored(x, shift: contextShift, scale: contextScale) }
    func standardizedTheta(_ theta: Matrix) -> Matrix { zScored(theta, shift: thetaShift, scale: thetaScale) }

    /// Mean negative log-likelihood over `normalizer` rows (default: the rows given) and its gradient.
    public func lossAndGradient(_ theta: Matrix, context: Matrix, normalizer: Int? = nil) -> (loss: Double, gradient: [Double]) {
        lossAndGradient(theta, context: context, rowWeights: [Double](repeating: 1 / Double(normalizer ?? theta.rows), count: theta.rows))
    }

    /// Weighted negative log-likelihood −Σᵣ wᵣ log q(θᵣ | xᵣ) and its gradient.
    public func lossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double]) -> (loss: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: parameters.count)
        let loss = gradient.withUnsafeMutableBufferPointer { accumulateLossAndGradient(theta, context: context, rowWeights: rowWeights, into: $0) }
        return (loss, gradient)
    }

    /// Adds a gradient computed as a whole array into `gradient`; returns the loss (for estimators whose
    /// backward pass fills its own array).
    func accumulate(_ part: (loss: Double, gradient: [Double]), into gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        part.gradient.withUnsafeBufferPointer { g in for k in 0..<gradient.count { gradient[k] += g[k] } }
        return part.loss
    }

    /// log q(θ | x) per row, θ and x raw.
    public func logProbability(_ theta: Matrix, given x: Matrix) -> [Double] {
        logProbability(theta, standardizedContext: standardizedContext(x))
    }
}

/// The density estimators IonLink can train (`--estimator`).
public enum EstimatorModel: Sendable, Codable {
    case maf(ConditionalMAF)
    case nsf(NeuralSplineFlow)
    case mdn(MixtureDensityNetwork)

    public var estimator: any ConditionalDensityEstimator {
        switch self {
        case .maf(let m): m
        case .nsf(let m): m
        case .mdn(let m): m
        }
    }

    public var name: String {
        switch self {
        case .maf: "maf"
        case .nsf: "nsf"
        case .mdn: "mdn"
        }
    }
}

extension ConditionalMAF: ConditionalDensityEstimator {
    public func logProbability(_ theta: Matrix, standardizedContext: Matrix) -> [Double] {
        forward(theta, standardizedContext).logProb
    }

    public func accumulateLossAndGradient(_ theta: Matrix, context: Matrix, rowWeights: [Double], into gradient: UnsafeMutableBufferPointer<Double>) -> Double {
        maskedParameters().withUnsafeBufferPointer {
            accumulateLossAndGradient(theta, context: context, rowWeights: rowWeights, weights: $0.baseAddress!, into: gradient)
        }
    }
}

extension MixtureDensityNetwork: ConditionalDensityEstimator {}
