import Foundation
import IonLinkCore

/// The density estimators IonLink can train.
public enum EstimatorKind: String, Sendable, Codable, CaseIterable {
    /// sbi's default conditional masked autoregressive flow.
    case maf
    /// Rational-quadratic neural spline flow (coupling layers).
    case nsf
    /// Full-covariance Gaussian mixture density network.
    case mdn
}

/// The architecture of an estimator (the defaults are sbi's MAF: 5 transforms of width 50).
public struct EstimatorSettings: Sendable, Codable, Equatable {
    public var kind: EstimatorKind = .maf
    /// Hidden units per layer.
    public var hidden = 50
    /// Transforms (MAF, NSF).
    public var transforms = 5
    /// Mixture components (MDN).
    public var components = 10
    public init(kind: EstimatorKind = .maf) { self.kind = kind }
}

/// A uniform prior on a box, with the parameters' names.
public struct BoxPrior: Sendable, Codable, Equatable {
    public var names: [String]
    public var low: [Double]
    public var high: [Double]

    /// Throws unless names, lows and highs have one finite entry per parameter with low < high.
    public init(names: [String], low: [Double], high: [Double]) throws {
        guard names.count == low.count, low.count == high.count, !names.isEmpty else {
            throw InputError(file: "prior", "expected as many lower and upper bounds as parameters (\(names.count)), got \(low.count) and \(high.count)")
        }
        for j in names.indices where !(low[j].isFinite && high[j].isFinite && low[j] < high[j]) {
            throw InputError(file: "prior", location: names[j], "expected finite bounds with low < high, got [\(low[j]), \(high[j])]")
        }
        self.names = names; self.low = low; self.high = high
    }

    public var dimension: Int { names.count }

    /// Whether every coordinate of `theta` lies in the box.
    public func contains(_ theta: some Collection<Double>) -> Bool {
        zip(theta, zip(low, high)).allSatisfy { $0.0 >= $0.1.0 && $0.0 <= $0.1.1 }
    }
}

/// Neural posterior estimation shaped as sbi's `NPE`: choose a prior, an estimator and how the prior box is kept,
/// append simulations, train, get a `Posterior`.
///
/// ```swift
/// var npe = NPE(prior: prior, featureNames: names)
/// npe.appendSimulations(theta: theta, x: x)
/// let (posterior, _) = npe.train()
/// ```
/// The z-scoring statistics of θ and x come from the appended data, and the prior boundary's transform (logit) is
/// applied here: callers pass raw θ and raw x.
public struct NPE: Sendable {
    public var prior: BoxPrior
    public var estimator: EstimatorSettings
    public var boundary: PriorBoundary
    public var featureNames: [String]
    /// The appended pairs (rows with every value finite and θ inside the prior box).
    public private(set) var theta: Matrix
    public private(set) var x: Matrix
    /// For the atomic loss: θ drawn from the proposal of all the simulations, the atoms the pairs are contrasted with
    /// (needed when the pairs were selected by their x, as NPE-N's are; nil: the other pairs of each batch).
    public var atomPool: Matrix?

    public init(prior: BoxPrior, estimator: EstimatorSettings = EstimatorSettings(), boundary: PriorBoundary = .rejection, featureNames: [String]) {
        self.prior = prior; self.estimator = estimator; self.boundary = boundary; self.featureNames = featureNames
        theta = Matrix(rows: 0, columns: prior.dimension, values: [])
        x = Matrix(rows: 0, columns: featureNames.count, values: [])
    }

    /// Adds simulations (rows of θ and of x); drops the rows with a non-finite value or θ outside the prior box
    /// and returns how many it dropped.
    @discardableResult
    public mutating func appendSimulations(theta newTheta: Matrix, x newX: Matrix) -> Int {
        precondition(newTheta.rows == newX.rows, "θ and x must have the same rows")
        precondition(newTheta.columns == prior.dimension && newX.columns == featureNames.count, "θ or x has the wrong number of columns")
        let keep = (0..<newTheta.rows).filter { r in
            newX.row(r).allSatisfy(\.isFinite) && newTheta.row(r).allSatisfy(\.isFinite) && prior.contains(newTheta.row(r))
        }
        theta = Matrix(rows: theta.rows + keep.count, columns: theta.columns, values: theta.values + newTheta.selectingRows(keep).values)
        x = Matrix(rows: x.rows + keep.count, columns: x.columns, values: x.values + newX.selectingRows(keep).values)
        return newTheta.rows - keep.count
    }

    /// Trains the estimator on the appended pairs with `options.loss` (maximum likelihood, or APT's atomic loss under
    /// this prior). `progress` receives one line per epoch.
    public func train(options: TrainingOptions = TrainingOptions(), progress: ((String) -> Void)? = nil) throws -> (Posterior, TrainingHistory) {
        guard theta.rows >= 2 else {
            throw InputError(file: "training set", "needs at least 2 simulations with every feature defined inside the prior box, has \(theta.rows)")
        }
        let u = Posterior.estimatorSpace(theta, low: prior.low, high: prior.high, boundary: boundary)
        let (d, c) = (u.columns, x.columns)
        let (uMean, uSD, xMean, xSD) = (u.columnMeans, u.columnStandardDeviations, x.columnMeans, x.columnStandardDeviations)
        let seed = options.seed, settings = estimator
        // log p of each row in the estimator's space, up to a constant: uniform on the box, or, under the logit
        // boundary, the uniform prior carried to u: Σⱼ log σ(uⱼ)(1 − σ(uⱼ)).
        let pool = options.loss == .maximumLikelihood ? nil : atomPool.map { Posterior.estimatorSpace($0, low: prior.low, high: prior.high, boundary: boundary) }
        let logPrior = [u, pool ?? Matrix(rows: 0, columns: d)].flatMap { m in
            (0..<m.rows).map { i in
                boundary == .logit ? -(0..<d).reduce(0.0) { s, j in let v = m[i, j]; return s + abs(v) + 2 * Foundation.log1p(Foundation.exp(-abs(v))) } : 0
            }
        }
        func fit<E: ConditionalDensityEstimator>(_ initial: E) -> (E, TrainingHistory) {
            var estimator = initial
            let article = settings.kind == .maf ? "a" : "an"
            progress?("training \(article) \(settings.kind.rawValue.uppercased()) (\(estimator.parameters.count) weights) on \(u.rows) pairs (θ \(d)-d, x \(c)-d)")
            let history = estimator.train(theta: u, x: x, options: options, logPrior: logPrior, atomPool: pool, progress: progress)
            return (estimator, history)
        }
        let model: EstimatorModel, history: TrainingHistory
        switch settings.kind {
        case .maf:
            let (maf, h) = fit(ConditionalMAF(dimension: d, contextDimension: c, hidden: settings.hidden, transforms: settings.transforms, seed: seed,
                                              thetaMean: uMean, thetaSD: uSD, contextMean: xMean, contextSD: xSD))
            (model, history) = (.maf(maf), h)
        case .nsf:
            let (nsf, h) = fit(NeuralSplineFlow(dimension: d, contextDimension: c, hidden: settings.hidden, transforms: settings.transforms, seed: seed,
                                                thetaMean: uMean, thetaSD: uSD, contextMean: xMean, contextSD: xSD))
            (model, history) = (.nsf(nsf), h)
        case .mdn:
            let (mdn, h) = fit(MixtureDensityNetwork(dimension: d, contextDimension: c, hidden: settings.hidden, components: settings.components, seed: seed,
                                                     thetaMean: uMean, thetaSD: uSD, contextMean: xMean, contextSD: xSD))
            (model, history) = (.mdn(mdn), h)
        }
        let posterior = Posterior(model: model, parameterNames: prior.names, featureNames: featureNames, low: prior.low, high: prior.high,
                                  boundary: boundary)
        return (posterior, history)
    }
}
