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
        /// Resampling of sequential-round proposals.
        case proposal = 5
        /// Noise seeds of the fit checks (selection and scoring re-simulations).
        case fitNoise = 6
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

/// The Mersenne Twister MT19937 with NumPy's legacy `RandomState` seeding and permutation, so that
/// cross-validation folds drawn "after np.random.seed(s)" are exactly the reference's.
public struct LegacyNumPyRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    /// `np.random.seed(seed)` for an integer seed.
    public init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output (genrand_int32).
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for i in 0..<624 {
                let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
                state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// A uniform integer in 0…max by masked rejection (NumPy's legacy `random_interval`), max < 2³².
    public mutating func interval(_ max: UInt32) -> UInt32 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16
        while true {
            let value = nextUInt32() & mask
            if value <= max { return value }
        }
    }

    /// `np.random.permutation(n)`: Fisher–Yates from the end.
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        var i = n - 1
        while i >= 1 {
            let j = Int(interval(UInt32(i)))
            a.swapAt(i, j)
            i -= 1
        }
        return a
    }
}
