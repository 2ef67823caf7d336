import FuzzSupport
import IonLink

/// Axon ABF 1 and 2, as `ionlink features` and `run --recordings` read them: every sweep is read; the first and the last
/// are analysed (the analysis is the same code for each sweep, and a whole 20 000-sample sweep costs more than the read).
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "abf") { path in
        let recording = try Recording.read(path)
        for sweep in [recording.sweeps.first, recording.sweeps.count > 1 ? recording.sweeps.last : nil].compactMap({ $0 }) {
            _ = SweepAnalysis.analyse(sweep, file: path)
        }
    }
}

@_cdecl("FuzzABF_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
