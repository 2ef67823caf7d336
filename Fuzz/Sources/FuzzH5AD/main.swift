import FuzzSupport
import IonLink

/// h5ad gene counts (AnnData: dense and CSR), each input read in a forked child first (`ForkedRead`: a crash or hang inside libhdf5 is isolated, as
/// `ionlink` isolates it; one anywhere else is a bug and stops the fuzzer).
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "h5ad") { path in
        ForkedRead.read(path) { path in
            _ = try GeneCounts.read(path)
        }
    }
}

@_cdecl("FuzzH5AD_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
