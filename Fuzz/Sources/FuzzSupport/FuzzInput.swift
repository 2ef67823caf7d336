import CFuzzerDriver
import Foundation

/// Hands a fuzzer's input to a reader of files: the bytes are written to one temporary file per process (with the
/// extension the reader dispatches on), and `read` is called with its path. Errors are the expected outcome of most
/// inputs and are ignored; a crash, a sanitizer report or a hang is what the fuzzer looks for.
public enum FuzzInput {
    private static let folder: String = {
        let path = NSTemporaryDirectory() + "ionlink-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    public static func run(_ data: UnsafePointer<UInt8>, _ size: Int, fileExtension: String, _ read: (String) throws -> Void) -> CInt {
        let path = folder + "/input." + fileExtension
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
        _ = try? read(path)
        return 0
    }

    /// Runs libFuzzer on `callback` with the program's arguments (what `main` of a fuzz target returns).
    public static func drive(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                             _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
        var count = argc
        var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        return LLVMFuzzerRunDriver(&count, &arguments, callback)
    }
}
