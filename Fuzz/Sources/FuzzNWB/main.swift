import Foundation
import FuzzSupport
import IonLink

/// NWB through the path `ionlink` takes: libhdf5 can crash on a damaged file, so when IONLINK_BINARY names an `ionlink`
/// executable each input is first read in a child process (crash isolation), then, if that survived, in this process.
/// Without it the input is read in this process only (crashes inside libhdf5 then show up here).
private let isolation: Void = {
    if let binary = ProcessInfo.processInfo.environment["IONLINK_BINARY"] {
        CrashIsolation.probe = [binary, "probe-file"]
        CrashIsolation.timeout = 10
    }
}()

func fuzz(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    isolation
    return FuzzInput.run(data, size, fileExtension: "nwb") { path in
        let recording = try Recording.read(path)
        for sweep in recording.sweeps.prefix(4) { _ = SweepAnalysis.analyse(sweep, file: path) }
    }
}

@_cdecl("FuzzNWB_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    FuzzInput.drive(argc, argv, fuzz)
}
