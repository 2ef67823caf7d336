import Foundation
import IonLinkCore

/// Streaming operations on the `.npy` files of banks (never the whole bank in memory).
enum BankFiles {
    /// Number of non-zero elements of a 1-byte `.npy` file.
    static func countNonZero(_ path: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot read the file") }
        let header = try NPYHeader.decode(data, file: path)
        return data.dropFirst(header.dataOffset).reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }
}
