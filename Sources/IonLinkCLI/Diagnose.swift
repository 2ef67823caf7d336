import ArgumentParser
import Foundation
import IonLinkCore
import IonLinkInference

struct Diagnose: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a trained posterior on held-out simulations: log-prob, SBC ranks and expected coverage.",
        discussion: """
          ionlink diagnose --estimator model.json --bank heldout-bank/ [--cases 200] [--samples 1000]
          ionlink diagnose --estimator model.json --theta THETA.npy --x X.npy

        Use simulations the estimator was not trained on (e.g. a bank made with another --seed). Prints the mean \
        held-out log q(θ|x) (without the prior-leakage correction, as sbi reports it), per parameter the \
        simulation-based-calibration χ² uniformity p-value over 10 rank bins, and the fraction of true θ inside \
        the 50/80/95% highest-density regions (calibrated: the same fractions).
        """
    )
    @Option(name: [.customLong("estimator"), .customLong("model")], help: ArgumentHelp("A trained estimator; --model is the old name.", valueName: "ESTIMATOR.json"))
    var estimator: String
    @Option(help: ArgumentHelp("Held-out bank.", valueName: "DIR")) var bank: String?
    @Option(help: ArgumentHelp("Held-out parameters (NPY).", valueName: "THETA.npy")) var theta: String?
    @Option(help: ArgumentHelp("Held-out features (NPY).", valueName: "X.npy")) var x: String?
    @Option(help: "Held-out cases for SBC and coverage.") var cases = 200
    @Option(help: "Posterior samples per case.") var samples = 1000
    @Option(help: "Seed.") var seed: UInt64 = 1
    @OptionGroup var workers: WorkerOptions

    func validate() throws {
        guard (bank == nil) != (theta == nil || x == nil) else { throw ValidationError("Give --bank DIR, or --theta and --x.") }
    }

    func run() throws {
        let posterior = try Posterior.read(estimator)
        var (thetaMatrix, xMatrix) = try load()
        let keep = (0..<thetaMatrix.rows).filter { xMatrix.row($0).allSatisfy(\.isFinite) && posterior.inside(thetaMatrix.row($0)) }
        thetaMatrix = thetaMatrix.selectingRows(keep); xMatrix = xMatrix.selectingRows(keep)
        guard thetaMatrix.rows > 0 else { throw InputError(file: bank ?? x!, "no held-out case with all features defined inside the prior box") }
        let n = min(cases, thetaMatrix.rows)
        let subset = Array(0..<n)
        let progress = ProgressReporter("calibration", total: n, unit: "cases", enabled: !workers.quiet)
        let calibration = Diagnostics.calibrate(posterior: posterior, theta: thetaMatrix.selectingRows(subset), x: xMatrix.selectingRows(subset),
                                                samplesPerCase: samples, seed: seed, threads: workers.threads) { progress.advance(by: 1) }
        progress.finish()
        print(String(format: "held-out log q(θ|x): %.4f (mean over %d pairs)", calibration.meanLogProbability, n))
        print("SBC (\(calibration.ranks.count) cases, \(samples) samples each), χ² uniformity p-value per parameter:")
        for (name, p) in zip(posterior.parameterNames, calibration.pValues) {
            print(String(format: "  %-10@ %.4f%@", name, p, p < 0.01 ? "  (miscalibrated)" : ""))
        }
        print("expected coverage: " + zip(calibration.levels, calibration.coverage).map { String(format: "%.0f%% HDR → %.3f", $0.0 * 100, $0.1) }
            .joined(separator: ", "))
    }

    private func load() throws -> (Matrix, Matrix) {
        if let theta, let x {
            let t = try NPYArray.read(theta), f = try NPYArray.read(x)
            return (Matrix(rows: t.shape[0], columns: t.shape[1], values: t.values), Matrix(rows: f.shape[0], columns: f.shape[1], values: f.values))
        }
        let t = try NPYRowReader(path: bank! + "/theta.npy"), f = try NPYRowReader(path: bank! + "/features.npy")
        let rows = min(t.rows, max(cases * 5, 2000))
        return (try t.read(0 ..< rows), try f.read(0 ..< rows))
    }
}
