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
    /// Mean negative log-likelihood over `normalizer` rows (default: the rows given) and its gradient.
    func lossAndGradient(_ theta: Matrix, context: Matrix, normalizer: Int?) -> (loss: Double, gradient: [Double])
    /// n samples of θ for one observation (raw features).
    func sample(_ n: Int, given x: [Double], using generator: inout Xoshiro256) -> Matrix
}

extension ConditionalDensityEstimator {
    public func standardizedContext(_ x: Matrix) -> Matrix { zScored(x, shift: contextShift, scale: contextScale) }
    func standardizedTheta(_ theta: Matrix) -> Matrix { zScored(theta, shift: thetaShift, scale: thetaScale) }

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
        forward(theta, standardizedContext, keepCache: false).logProb
    }
}

extension MixtureDensityNetwork: ConditionalDensityEstimator {}
