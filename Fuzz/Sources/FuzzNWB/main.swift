import FuzzSupport
import IonLink

/// NWB, each input read in a forked child first (`ForkedRead`: a crash or hang inside libhdf5 is isolated, as
/// `ionlink` isolates it; one anywhere else is a bug and stops the fuzzer).
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "nwb") { path in
        ForkedRead.read(path) { path in
            let recording = try Recording.read(path)
            for sweep in recording.sweeps.prefix(4) { _ = SweepAnalysis.analyse(sweep, file: path) }
        }
    }
}

@_cdecl("FuzzNWB_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
