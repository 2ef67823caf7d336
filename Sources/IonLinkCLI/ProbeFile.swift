import ArgumentParser
import IonLinkElectrophysiology
import IonLinkPatchSeq

/// Reads one HDF5 file in a child process for `CrashIsolation` (not shown in the help): exits 0 when it reads, 1 with
/// the error when it does not; a crash of libhdf5 ends only this process.
struct ProbeFile: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe-file", shouldDisplay: false)

    @Argument var kind: String
    @Argument var path: String

    func run() throws {
        switch kind {
        case "nwb": _ = try NWBReader.read(path, units: .si)
        case "h5ad": _ = try AnnData.read(path)
        default: throw ValidationError("probe-file reads nwb or h5ad, not '\(kind)'")
        }
    }
}
