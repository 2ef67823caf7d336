import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a neural posterior estimator q(θ | x) on simulations (NPE), or on the NPE-N selection for observed cells.",
        discussion: """
        From a simulation bank (rows with all features finite; the paper's training criterion):
          ionlink train --bank bank/ --out model.json                                   # NPE
          ionlink train --bank bank/ --observed cells.csv --neighbours 1000 --noise 0.1 --out model.json   # NPE-N
        From simulations made elsewhere (float32/float64 NPY, rows = samples):
          ionlink train --theta THETA.npy --x X.npy --prior-low 0,0 --prior-high 1,1 --out model.json

        The default estimator is sbi's default MAF (5 MADE transforms of width 50, tanh, random permutations, \
        z-scored θ and x); --estimator nsf or mdn choose the others. Samples outside the prior box are rejected \
        and log-probs corrected for leakage, unless --prior-boundary logit. Training as the paper: batch 50, Adam 5e-4, clipping at 5, 10% validation, stop after 20 epochs \
        without improvement, best weights restored. One line per epoch with train and validation log-prob.
        """
    )

    @Option(help: ArgumentHelp("A simulation bank folder (theta.npy, features.npy, valid.npy).", valueName: "DIR")) var bank: String?
    @Option(help: ArgumentHelp("Parameters of simulations made elsewhere (NPY [n, D]).", valueName: "THETA.npy")) var theta: String?
    @Option(help: ArgumentHelp("Their summary statistics (NPY [n, F]).", valueName: "X.npy")) var x: String?
    @Option(help: "With --theta: the uniform prior's lower bounds, comma-separated.") var priorLow: String?
    @Option(help: "With --theta: the uniform prior's upper bounds, comma-separated.") var priorHigh: String?
    @Option(help: ArgumentHelp("Where to write the trained estimator (JSON).", valueName: "MODEL")) var out: String
    @Option(help: ArgumentHelp("NPE-N: observed cells (header cell_id + the features in training order).", valueName: "X.csv")) var observed: String?
    @Option(help: "NPE-N: nearest simulations kept per observed cell.") var neighbours = 1000
    @Option(help: "NPE-N: feature-noise scale eps (0 = none).") var noise = 0.1
    @Option(help: "NPE-N noise convention: paper (SD √(eps·SD_j), the reference code) or standard (SD eps·SD_j).")
    var noiseConvention: NeighbourSelection.NoiseConvention = .paper
    @Option(help: "Density estimator: maf (sbi's default), nsf (rational-quadratic spline couplings, 10 bins) or mdn (full-covariance mixture).") var estimator = "maf"
    @Option(help: "How samples respect the prior box: rejection (sbi's default: reject samples outside, correct log-probs for leakage) or logit (train on the box logit of θ: no rejection, no leakage).")
    var priorBoundary = "rejection"
    @Option(help: "MDN: mixture components.") var components = 10
    @Option(help: "Training batch size (the paper: 50; sbi ≥ 0.23: 200).") var batchSize = 50
    @Option(help: "Adam learning rate.") var learningRate = 5e-4
    @Option(help: "Stop after this many epochs without validation improvement.") var stopAfter = 20
    @Option(help: "Stop after this many epochs in any case.") var maxEpochs = 100_000
    @Option(help: "MADE hidden width.") var hidden = 50
    @Option(help: "Number of MADE transforms.") var transforms = 5
    @Option(help: "Seed for initialisation, split, batches and noise.") var seed: UInt64 = 1
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard (bank == nil) != (theta == nil) else { throw ValidationError("Give --bank DIR, or --theta with --x, --prior-low and --prior-high.") }
        if theta != nil, x == nil || priorLow == nil || priorHigh == nil { throw ValidationError("--theta needs --x, --prior-low and --prior-high.") }
        guard ["maf", "nsf", "mdn"].contains(estimator) else { throw ValidationError("--estimator must be maf, nsf or mdn; got \(estimator).") }
        guard PriorBoundary(rawValue: priorBoundary) != nil else { throw ValidationError("--prior-boundary must be rejection or logit; got \(priorBoundary).") }
        guard neighbours >= 1, noise >= 0, batchSize >= 1, learningRate > 0 else { throw ValidationError("--neighbours, --batch-size ≥ 1; --noise ≥ 0; --learning-rate > 0.") }
    }

    func run() throws {
        let (rawTheta, xMatrix, names, featureNames, low, high) = try loadTrainingSet()
        let boundary = PriorBoundary(rawValue: priorBoundary)!
        let thetaMatrix = Posterior.estimatorSpace(rawTheta, low: low, high: high, boundary: boundary)
        var xTrain = xMatrix
        if observed != nil && noise > 0 { xTrain = NeighbourSelection.addNoise(xMatrix, eps: noise, convention: noiseConvention, seed: seed) }
        let outliers = extremeOutlierColumns(xMatrix)
        if !outliers.isEmpty && !quiet {
            print("note: \(outliers.map { featureNames[$0] }.joined(separator: ", ")) have extreme outliers (beyond 10 × IQR from the quartiles); "
                  + "z-scoring squeezes the rest of their values together — consider transforming them (e.g. a log) before training")
        }
        let thetaSD = thetaMatrix.columnStandardDeviations, xSD = xTrain.columnStandardDeviations
        var options = TrainingOptions()
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.stopAfterEpochs = stopAfter
        options.maxEpochs = maxEpochs
        options.seed = seed
        let log: (String) -> Void = { line in if !quiet { FileHandle.standardOutput.write(Data((line + "\n").utf8)) } }
        let (d, c) = (thetaMatrix.columns, xTrain.columns)
        let (tMean, xMean) = (thetaMatrix.columnMeans, xTrain.columnMeans)
        func fit<E: ConditionalDensityEstimator>(_ initial: E, _ label: String) -> (E, TrainingHistory) {
            var estimator = initial
            log("training \(label) (\(estimator.parameters.count) parameters) on \(thetaMatrix.rows) pairs (θ \(d)-d, x \(c)-d)")
            let history = estimator.train(theta: thetaMatrix, x: xTrain, options: options, progress: log)
            return (estimator, history)
        }
        let model: EstimatorModel
        let history: TrainingHistory
        switch estimator {
        case "nsf":
            let (nsf, h) = fit(NeuralSplineFlow(dimension: d, contextDimension: c, hidden: hidden, transforms: transforms, seed: seed,
                                                thetaMean: tMean, thetaSD: thetaSD, contextMean: xMean, contextSD: xSD), "an NSF")
            (model, history) = (.nsf(nsf), h)
        case "mdn":
            let (mdn, h) = fit(MixtureDensityNetwork(dimension: d, contextDimension: c, hidden: hidden, components: components, seed: seed,
                                                     thetaMean: tMean, thetaSD: thetaSD, contextMean: xMean, contextSD: xSD), "an MDN")
            (model, history) = (.mdn(mdn), h)
        default:
            let (maf, h) = fit(ConditionalMAF(dimension: d, contextDimension: c, hidden: hidden, transforms: transforms, seed: seed,
                                              thetaMean: tMean, thetaSD: thetaSD, contextMean: xMean, contextSD: xSD), "a MAF")
            (model, history) = (.maf(maf), h)
        }
        let posterior = Posterior(model: model, parameterNames: names, featureNames: featureNames, low: low, high: high, boundary: boundary)
        try posterior.write(to: out)
        if !quiet {
            print(String(format: "best validation log-prob %.4f at epoch %d of %d (%.1f s); wrote %@", history.validationLogProb[history.bestEpoch],
                         history.bestEpoch + 1, history.validationLogProb.count, history.seconds, out))
        }
    }

    private func loadTrainingSet() throws -> (Matrix, Matrix, [String], [String], [Double], [Double]) {
        if let theta, let x, let priorLow, let priorHigh {
            let t = try NPYArray.read(theta), f = try NPYArray.read(x)
            guard t.shape.count == 2, f.shape.count == 2, t.shape[0] == f.shape[0] else {
                throw InputError(file: x, "expected [n, D] and [n, F] arrays with the same n, found \(t.shape) and \(f.shape)")
            }
            let low = try parseList(priorLow, "--prior-low", count: t.shape[1]), high = try parseList(priorHigh, "--prior-high", count: t.shape[1])
            let tm = Matrix(rows: t.shape[0], columns: t.shape[1], values: t.values), fm = Matrix(rows: f.shape[0], columns: f.shape[1], values: f.values)
            let keep = (0..<tm.rows).filter { r in fm.row(r).allSatisfy(\.isFinite) && tm.row(r).allSatisfy(\.isFinite) }
            if keep.count < tm.rows && !quiet { print("dropped \(tm.rows - keep.count) pairs with NaN/Inf") }
            return (tm.selectingRows(keep), fm.selectingRows(keep), (1...t.shape[1]).map { "theta_\($0)" }, (1...f.shape[1]).map { "x_\($0)" }, low, high)
        }
        let folder = bank!
        let manifest = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: folder + "/manifest.json"))) as? [String: Any]
        guard let manifest, let names = manifest["parameter_names"] as? [String], let featureNames = manifest["feature_names"] as? [String],
              let configuration = manifest["configuration"] as? [String: Any], let model = configuration["model"] as? [String: Any],
              let parameters = model["parameters"] as? [[String: Any]], manifest["complete"] as? Bool == true else {
            throw InputError(file: folder + "/manifest.json", "not a complete IonLink bank with features (rerun `ionlink simulate` without --no-features)")
        }
        let low = parameters.map { ($0["low"] as? Double) ?? .nan }, high = parameters.map { ($0["high"] as? Double) ?? .nan }
        let thetaReader = try NPYRowReader(path: folder + "/theta.npy"), featureReader = try NPYRowReader(path: folder + "/features.npy")
        let validFlags = try NPYRowReader(path: folder + "/valid.npy")
        // The valid pool (finite simulation, all features finite) and its feature mean/SD, read in blocks.
        var pool: [Int] = []
        let block = 65_536
        var sum = [Double](repeating: 0, count: featureNames.count), sumSquares = sum
        for start in stride(from: 0, to: thetaReader.rows, by: block) {
            let range = start ..< min(thetaReader.rows, start + block)
            let features = try featureReader.read(range), valid = try validFlags.read(range)
            for r in 0..<range.count where valid.values[r] != 0 && features.row(r).allSatisfy(\.isFinite) {
                pool.append(range.lowerBound + r)
                for j in 0..<features.columns { let v = features[r, j]; sum[j] += v; sumSquares[j] += v * v }
            }
        }
        guard pool.count >= 10 else { throw InputError(file: folder, "only \(pool.count) simulations have all features defined; simulate more") }
        if !quiet { print("bank \(folder): \(pool.count) of \(thetaReader.rows) simulations have all \(featureNames.count) features defined") }
        var chosen = pool
        if let observed {
            let table = try CSVTable.read(observed)
            let columns = try featureNames.map { try table.column($0) }
            let x = Matrix(rows: table.rows.count, columns: columns.count, values: try (0..<table.rows.count).flatMap { r in try columns.map { try table.number(row: r, column: $0) } })
            let complete = (0..<x.rows).filter { x.row($0).allSatisfy(\.isFinite) }
            if complete.count < x.rows && !quiet { print("observed: \(x.rows - complete.count) cells with undefined features skipped") }
            let n = Double(pool.count)
            let mean = sum.map { $0 / n }, sd = zip(sumSquares, mean).map { (($0 / n) - $1 * $1).squareRoot() }
            let progress = ProgressReporter("neighbours", total: pool.count, unit: "sims", enabled: !quiet)
            let selected = try NeighbourSelection.select(observed: x.selectingRows(complete), validCount: pool.count, mean: mean, sd: sd, k: neighbours,
                                                         features: { range in try Self.rows(featureReader, Array(pool[range])) },
                                                         progress: { progress.advance(by: $0) })
            progress.finish()
            chosen = selected.map { pool[$0] }
            if !quiet { print("NPE-N: \(chosen.count) unique simulations nearest to \(complete.count) cells (k = \(neighbours)), noise eps \(noise) (\(noiseConvention.rawValue))") }
        }
        return (try Self.rows(thetaReader, chosen), try Self.rows(featureReader, chosen), names, featureNames, low, high)
    }

    /// The rows at ascending `indexes`, read in contiguous blocks.
    static func rows(_ reader: NPYRowReader, _ indexes: [Int]) throws -> Matrix {
        var values: [Double] = []
        values.reserveCapacity(indexes.count * reader.columns)
        var k = 0
        while k < indexes.count {
            var end = k
            while end + 1 < indexes.count && indexes[end + 1] - indexes[k] < 65_536 { end += 1 }
            let block = try reader.read(indexes[k] ..< indexes[end] + 1)
            for i in k...end { values += block.row(indexes[i] - indexes[k]) }
            k = end + 1
        }
        return Matrix(rows: indexes.count, columns: reader.columns, values: values)
    }

    private func parseList(_ text: String, _ flag: String, count: Int) throws -> [Double] {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == count, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(flag) expects \(count) comma-separated numbers, got '\(text)'.")
        }
        return values.map { $0! }
    }
}

extension NeighbourSelection.NoiseConvention: ExpressibleByArgument {}
