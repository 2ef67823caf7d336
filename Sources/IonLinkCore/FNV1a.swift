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
}
