import Foundation
import IonLinkCore

/// Streaming operations on the `.npy` files of banks (never the whole bank in memory).
enum BankFiles {
    /// Writes the rows of `parts` (each a `.npy` of `element`) one after another into `destination`,
    /// checking that they add up to `shape`. Copies raw bytes in blocks.
    static func concatenate(_ parts: [String], into destination: String, element: NPYElement, shape: [Int]) throws {
        let writer = try NPYWriter(path: destination, element: element, shape: shape)
        do {
            for part in parts {
                guard let handle = FileHandle(forReadingAtPath: part) else { throw InputError(file: part, "cannot read the file") }
                defer { try? handle.close() }
                let head = try handle.read(upToCount: 4096) ?? Data()
                let header = try NPYHeader.decode(head, file: part)
                guard header.element == element, Array(header.shape.dropFirst()) == Array(shape.dropFirst()) else {
                    throw InputError(file: part, "expected \(element.rawValue) rows of shape \(Array(shape.dropFirst())), found \(header.element.rawValue) \(header.shape)")
                }
                try handle.seek(toOffset: UInt64(header.dataOffset))
                var remaining = header.count * element.size
                while remaining > 0 {
                    guard let block = try handle.read(upToCount: min(remaining, 1 << 24)), !block.isEmpty else {
                        throw InputError(file: part, "truncated: \(remaining) data bytes missing")
                    }
                    try writer.appendRaw(block)
                    remaining -= block.count
                }
            }
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
    }

    /// Number of non-zero elements of a 1-byte `.npy` file.
    static func countNonZero(_ path: String) throws -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError(file: path, "cannot read the file") }
        let header = try NPYHeader.decode(data, file: path)
        return data.dropFirst(header.dataOffset).reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }
}
