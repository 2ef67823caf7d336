import FuzzSupport
import IonLink

/// NPY: the whole-array reader and the row reader (the bank and training paths).
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "npy") { path in
        _ = try? NPYArray.read(path)
        let reader = try NPYRowReader(path: path)
        _ = try reader.read(0 ..< min(reader.rows, 64))
    }
}

@_cdecl("FuzzNPY_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
