import FuzzSupport
import IonLink

/// Gzip (single and multi-member) under a CSV table, as the shipped `.csv.gz` tables are read.
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "csv.gz") { path in _ = try CSVTable.read(path) }
}

@_cdecl("FuzzGzip_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
