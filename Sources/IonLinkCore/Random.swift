/// SplitMix64 (Steele, Lea & Flood 2014): a fast 64-bit generator, used here to seed and to hash keys.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256++ (Blackman & Vigna 2018), seeded by SplitMix64: IonLink's seedable generator.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
    }

    public mutating func next() -> UInt64 {
        let result = ((s0 &+ s3) << 23 | (s0 &+ s3) >> 41) &+ s0
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

/// Independent random streams addressed by (seed, stream, index): the draws for sample `index` never
/// depend on how many samples are made, in which order, on how many threads, or in which shard.
public struct StreamKey: Sendable {
    /// What a stream is used for; each purpose has its own streams.
    public enum Purpose: UInt64, Sendable {
        case priorDraw = 1
        case currentNoise = 2
        case dataSplit = 3
        case network = 4
    }

    /// The 64-bit key of the stream for `index` under `seed` and `purpose`.
    public static func key(seed: UInt64, purpose: Purpose, index: UInt64) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ (purpose.rawValue &* 0xD6E8_FEB8_6659_FD93))
        let base = mixer.next()
        var second = SplitMix64(seed: base ^ (index &* 0x9E37_79B9_7F4A_7C15))
        return second.next()
    }

    /// A generator for the stream for `index`.
    public static func generator(seed: UInt64, purpose: Purpose, index: UInt64) -> Xoshiro256 {
        Xoshiro256(seed: key(seed: seed, purpose: purpose, index: index))
    }
}
