import FuzzSupport
import IonLink

/// Axon ABF 1 and 2, as `ionlink features` and `run --recordings` read them (then every sweep analysed).
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "abf") { path in
        let recording = try Recording.read(path)
        for sweep in recording.sweeps.prefix(4) { _ = SweepAnalysis.analyse(sweep, file: path) }
    }
}

@_cdecl("FuzzABF_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
