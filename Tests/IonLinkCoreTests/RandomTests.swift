import IonLinkCore
import Testing

@Suite struct RandomTests {
    @Test("SplitMix64 matches the reference sequence for seed 0")
    func splitMixReference() {
        var g = SplitMix64(seed: 0)
        // First outputs of the reference implementation (Vigna's splitmix64.c) for x = 0.
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test("Streams depend only on (seed, purpose, index), and differ between them")
    func streams() {
        let a = StreamKey.key(seed: 1, purpose: .priorDraw, index: 5)
        #expect(a == StreamKey.key(seed: 1, purpose: .priorDraw, index: 5))
        #expect(a != StreamKey.key(seed: 1, purpose: .priorDraw, index: 6))
        #expect(a != StreamKey.key(seed: 2, purpose: .priorDraw, index: 5))
        #expect(a != StreamKey.key(seed: 1, purpose: .currentNoise, index: 5))
    }

    @Test("Uniform draws cover [0, 1) evenly")
    func uniform() {
        var g = Xoshiro256(seed: 42)
        var bins = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 {
            let u = g.nextUniform()
            #expect(u >= 0 && u < 1)
            bins[Int(u * 10)] += 1
        }
        #expect(bins.allSatisfy { abs($0 - 10_000) < 500 })
    }
}
