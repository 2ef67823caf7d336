import Foundation

/// Writes files so that a reader never sees a half-written one: data go to a temporary file in the same
/// folder, which is renamed over the destination only once complete.
public enum AtomicFile {
    /// The temporary path used while `path` is being written (same folder, so the rename is atomic).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let name = ".\(url.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        try write(to: path) { temporary in
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw InputError(file: path, "cannot create the file (does its folder exist and is it writable?)")
            }
        }
    }

    /// Calls `body` with a temporary path to fill, then renames it to `path`; on error the temporary is removed.
    public static func write(to path: String, _ body: (String) throws -> Void) throws {
        let temporary = temporaryPath(for: path)
        do {
            try body(temporary)
            if rename(temporary, path) != 0 {
                throw InputError(file: path, "cannot move the finished file into place (\(String(cString: strerror(errno))))")
            }
        } catch {
            unlink(temporary)
            throw error
        }
    }
}
