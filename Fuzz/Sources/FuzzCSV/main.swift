import FuzzSupport
import IonLink

/// CSV tables: the generic reader, and gene counts (cells × genes) read from CSV.
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "csv") { path in
        _ = try? CSVTable.read(path)
        _ = try GeneCounts.read(path)
    }
}

@_cdecl("FuzzCSV_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
