import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference
import IonLinkPipeline

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

        Under MPI (mpirun -n R ionlink train …) the NPE-N neighbour search splits the bank's blocks over the ranks and \
        merges their nearest exactly, and each batch's gradient is split into --gradient-parts fixed parts shared out \
        over the ranks and added in part order: the model equals one process's, byte for byte. Rank 0 writes it.
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
    @Option(help: "Density estimator: maf (sbi's default), nsf (rational-quadratic spline couplings, 10 bins) or mdn (full-covariance mixture).")
    var estimator: EstimatorKind = .maf
    @Option(help: "How samples respect the prior box: rejection (sbi's default: reject samples outside, correct log-probs for leakage) or logit (train on the box logit of θ: no rejection, no leakage).")
    var priorBoundary: PriorBoundary = .rejection
    @Option(help: "MDN: mixture components.") var components = 10
    @Option(help: "Training batch size (the paper: 50; sbi ≥ 0.23: 200).") var batchSize = 50
    @Option(help: "Adam learning rate.") var learningRate = 5e-4
    @Option(help: "Stop after this many epochs without validation improvement.") var stopAfter = 20
    @Option(help: "Stop after this many epochs in any case.") var maxEpochs = 100_000
    @Option(help: "MADE hidden width.") var hidden = 50
    @Option(help: "Number of MADE transforms.") var transforms = 5
    @Option(help: "Seed for initialisation, split, batches and noise.") var seed: UInt64 = 1
    @Option(help: "Fixed parts each batch's gradient is summed from; threads and MPI ranks share them, so the model is the same on any number of either (use at least the rank count; another value rounds differently).")
    var gradientParts = 2
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard (bank == nil) != (theta == nil) else { throw ValidationError("Give --bank DIR, or --theta with --x, --prior-low and --prior-high.") }
        if theta != nil, x == nil || priorLow == nil || priorHigh == nil { throw ValidationError("--theta needs --x, --prior-low and --prior-high.") }
        guard neighbours >= 1, noise >= 0, batchSize >= 1, learningRate > 0, hidden >= 1, transforms >= 1, components >= 1, gradientParts >= 1 else {
            throw ValidationError("--neighbours, --batch-size, --hidden, --transforms, --components, --gradient-parts ≥ 1; --noise ≥ 0; --learning-rate > 0.")
        }
    }

    func run() throws {
        let ranks = Ranks.world
        // Every rank trains the same model on its share of each batch; only rank 0 speaks and writes.
        let quiet = self.quiet || !ranks.isRoot
        let (theta, xMatrix, prior, featureNames) = try loadTrainingSet(ranks: ranks, quiet: quiet)
        var xTrain = xMatrix
        if observed != nil && noise > 0 { xTrain = NeighbourSelection.addNoise(xMatrix, eps: noise, convention: noiseConvention, seed: seed) }
        let outliers = extremeOutlierColumns(xMatrix)
        if !outliers.isEmpty && !quiet {
            print("note: \(outliers.map { featureNames[$0] }.joined(separator: ", ")) have extreme outliers (beyond 10 × IQR from the quartiles); "
                  + "z-scoring squeezes the rest of their values together — consider transforming them (e.g. a log) before training")
        }
        var settings = EstimatorSettings(kind: estimator)
        settings.hidden = hidden
        settings.transforms = transforms
        settings.components = components
        var npe = NPE(prior: prior, estimator: settings, boundary: priorBoundary, featureNames: featureNames)
        let dropped = npe.appendSimulations(theta: theta, x: xTrain)
        if dropped > 0 && !quiet { print("dropped \(dropped) pairs with NaN/Inf or θ outside the prior box") }
        var options = TrainingOptions()
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.stopAfterEpochs = stopAfter
        options.maxEpochs = maxEpochs
        options.seed = seed
        options.gradientParts = gradientParts
        options.ranks = ranks
        let (posterior, history) = try npe.train(options: options) { line in if !quiet { FileHandle.standardOutput.write(Data((line + "\n").utf8)) } }
        if ranks.isRoot { try posterior.write(to: out) }
        ranks.barrier()
        if !quiet {
            print(String(format: "best validation log-prob %.4f at epoch %d of %d (%.1f s); wrote %@", history.validationLogProb[history.bestEpoch],
                         history.bestEpoch + 1, history.validationLogProb.count, history.seconds, out))
        }
    }

    private func loadTrainingSet(ranks: Ranks, quiet: Bool) throws -> (Matrix, Matrix, BoxPrior, [String]) {
        if let theta, let x, let priorLow, let priorHigh {
            let t = try NPYArray.read(theta), f = try NPYArray.read(x)
            guard t.shape.count == 2, f.shape.count == 2, t.shape[0] == f.shape[0] else {
                throw InputError(file: x, "expected [n, D] and [n, F] arrays with the same n, found \(t.shape) and \(f.shape)")
            }
            let low = try parseList(priorLow, "--prior-low", count: t.shape[1]), high = try parseList(priorHigh, "--prior-high", count: t.shape[1])
            let prior: BoxPrior
            do { prior = try BoxPrior(names: (1...t.shape[1]).map { "theta_\($0)" }, low: low, high: high) } catch let error as InputError {
                throw ValidationError("--prior-low/--prior-high: \(error.location.isEmpty ? "" : error.location + ": ")\(error.message)")
            }
            return (Matrix(rows: t.shape[0], columns: t.shape[1], values: t.values), Matrix(rows: f.shape[0], columns: f.shape[1], values: f.values),
                    prior, (1...f.shape[1]).map { "x_\($0)" })
        }
        let pool = try BankPool(folders: [bank!])
        let model = pool.configuration.model
        let prior = try BoxPrior(names: model.parameterNames, low: model.lowerBounds, high: model.upperBounds)
        if !quiet { print("bank \(bank!): \(pool.count) of \(pool.members[0].manifest.rows) simulations have all \(pool.featureNames.count) features defined") }
        var chosen = Array(0..<pool.count)
        if let observed {
            let cells = try ObservedCells.read(observed, featureNames: pool.featureNames)
            let complete = cells.completeRows
            guard !complete.isEmpty else { throw InputError(file: observed, "no cell has every feature defined; NPE-N needs at least one") }
            if complete.count < cells.count && !quiet { print("observed: \(cells.count - complete.count) cells with undefined features skipped") }
            let progress = ProgressReporter("neighbours", total: pool.count, unit: "sims", enabled: !quiet)
            chosen = try pool.nearest(to: cells.features.selectingRows(complete), k: neighbours, ranks: ranks) { progress.advance(by: $0) }
            progress.finish()
            if !quiet { print("NPE-N: \(chosen.count) unique simulations nearest to \(complete.count) cells (k = \(neighbours)), noise eps \(noise) (\(noiseConvention.rawValue))") }
        }
        return (try pool.theta(chosen), try pool.features(chosen), prior, pool.featureNames)
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
extension EstimatorKind: ExpressibleByArgument {}
extension PriorBoundary: ExpressibleByArgument {}
