import Foundation
import FuzzSupport
import IonLink

/// A bank's `manifest.json`, read as `bank info`, `bank merge` and a resumed `simulate` read it.
func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    return FuzzInput.run(data, size, fileExtension: "json") { path in
        let folder = (path as NSString).deletingLastPathComponent + "/bank"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: folder + "/manifest.json")
        try FileManager.default.copyItem(atPath: path, toPath: folder + "/manifest.json")
        let manifest = try BankManifest.read(folder: folder)
        _ = manifest.globalRange
        _ = manifest.keptRows
    }
}

@_cdecl("FuzzBankManifest_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
