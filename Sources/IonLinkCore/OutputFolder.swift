import Foundation

/// Output folders IonLink writes into: created with a marker file (`.ionlink`), and an existing folder that holds
/// other files and no marker (a folder IonLink did not make) is refused unless forced, so that no user file is
/// overwritten by a same-named table.
public enum OutputFolder {
    public static let marker = ".ionlink"

    /// Makes `path` ready for `command`'s outputs: creates it (and the marker), accepts it when IonLink made it (a
    /// marker, or one of `ownFiles`, e.g. a bank's manifest) or when it is empty, and otherwise throws unless `force`.
    public static func prepare(_ path: String, for command: String, ownFiles: [String] = [], force: Bool = false) throws {
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw InputError(file: path, "exists and is not a folder; choose another output folder") }
            let contents = (try? fm.contentsOfDirectory(atPath: path)) ?? []
            let ours = contents.contains(marker) || ownFiles.contains { contents.contains($0) }
            if !contents.isEmpty && !ours && !force {
                throw InputError(file: path, "this folder holds \(contents.count) file(s) that IonLink did not write (e.g. \(contents.sorted().prefix(3).joined(separator: ", "))); "
                                 + "\(command) would overwrite same-named ones: choose an empty or new folder, or pass --force")
            }
        } else {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw InputError(file: path, "cannot create the output folder: \(error.localizedDescription)")
            }
        }
        if !fm.fileExists(atPath: path + "/" + marker) {
            _ = fm.createFile(atPath: path + "/" + marker, contents: Data("This folder was written by IonLink.\n".utf8))
        }
    }
}
