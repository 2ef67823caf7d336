import FuzzSupport
import IonLink

/// A trained estimator's JSON (`model.json`): loaded, then asked for a sample and a log-prob, as `infer` does.
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "json") { path in
        let posterior = try Posterior.read(path)
        let x = [Double](repeating: 0.5, count: posterior.featureNames.count)
        let draws = posterior.sample(4, given: x, seed: 1, maxTries: 64)
        _ = posterior.logProbability(draws.samples, given: Matrix(repeatingRow: x, count: draws.samples.rows))
    }
}

@_cdecl("FuzzEstimator_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
