import Foundation
import Synchronization
import Testing
@testable import IonLinkCore

@Suite("Spinning workers")
struct SpinningWorkersTests {
    /// Runs `loops` loops of `count` indexes on `workers` and checks that every index ran exactly once in each.
    func checkEveryIndexOnce(_ workers: SpinningWorkers, loops: Int, count: Int) {
        for loop in 0..<loops {
            let slots = SlotBuffer<Int>(count: count, repeating: 0)
            let calls = Atomic<Int>(0)
            workers.run(count) { i in
                slots[i] += loop + 1
                calls.add(1, ordering: .relaxed)
            }
            #expect(calls.load(ordering: .relaxed) == count, "loop \(loop)")
            #expect(slots.array == [Int](repeating: loop + 1, count: count), "loop \(loop)")
        }
    }

    @Test("SpinningWorkers runs every index exactly once, loop after loop, with 0, 1 or 3 helpers, for any count")
    func everyIndexOnce() {
        for helpers in [0, 1, 3] {
            let workers = SpinningWorkers(helpers: helpers)
            #expect(workers.threadCount == helpers + 1)
            for count in [0, 1, 2, 5, 64] { checkEveryIndexOnce(workers, loops: 200, count: count) }
        }
    }

    @Test("SpinningWorkers' helpers sleep after spinning without work and wake for the next loop; dropping a pool stops its threads")
    func sleepAndWake() {
        let workers = SpinningWorkers(helpers: 2, spinSeconds: 0.001)
        for _ in 0..<5 {
            checkEveryIndexOnce(workers, loops: 3, count: 16)
            Thread.sleep(forTimeInterval: 0.01)   // long enough for the helpers to go to sleep
        }
        // Pools made and dropped in a row: each deinit stops and joins its helpers (a leak or a hang fails here).
        for _ in 0..<50 { checkEveryIndexOnce(SpinningWorkers(helpers: 1), loops: 2, count: 4) }
    }

    @Test("A sum split into parts on SpinningWorkers equals the serial loop's, whatever the helpers")
    func sameResultAsSerial() {
        let values = (0..<10_000).map { sin(Double($0)) * 1e3 }
        let parts = 7, n = values.count
        func partSums(_ workers: SpinningWorkers) -> [Double] {
            let sums = SlotBuffer<Double>(count: parts, repeating: 0)
            workers.run(parts) { p in
                var s = 0.0
                for i in (p * n / parts) ..< ((p + 1) * n / parts) { s += values[i] }
                sums[p] = s
            }
            return sums.array
        }
        let serial = partSums(SpinningWorkers(helpers: 0))
        for helpers in [1, 2, 4] { #expect(partSums(SpinningWorkers(helpers: helpers)) == serial) }
    }
}
