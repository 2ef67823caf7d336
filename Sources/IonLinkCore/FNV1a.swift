import Foundation

/// The 64-bit FNV-1a hash: a stable digest of bytes (stage keys, file contents, argument lists), the same on every
/// machine and run (unlike Swift's seeded `Hasher`).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    /// The digest of `text`'s UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var h = FNV1a()
        h.update(text.utf8)
        return h.value
    }

    /// Adds the bytes of `buffer`.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        var h = value
        for byte in buffer { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        value = h
    }

    /// The digest of the contents of the file at `path`, as 16 hexadecimal digits.
    public static func digest(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw InputError(file: path, "cannot read this file") }
        defer { try? handle.close() }
        var hash = FNV1a()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { hash.update($0) } }
        let hex = String(hash.value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
