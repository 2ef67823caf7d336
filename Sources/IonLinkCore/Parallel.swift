import Dispatch
import Foundation
import Synchronization

/// Runs `body(i)` for i in 0..<count on at most `threads` worker threads. Work is handed out one index
/// at a time, so results must be written to per-index slots: then the outcome never depends on `threads`.
public func parallelFor(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    let workers = max(1, min(threads, count))
    if workers == 1 {
        for i in 0..<count { body(i) }
        return
    }
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { break }
            body(i)
        }
    }
}

/// The number of cores this process may use.
public var availableCores: Int {
    // Under an MPI launcher the ranks on this node share its cores.
    let environment = ProcessInfo.processInfo.environment
    let local = ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"].lazy.compactMap { Int(environment[$0] ?? "") }.first ?? 1
    return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, local))
}

/// A value that a parallel loop's body may capture although its type is not `Sendable` (a pointer, say): the caller
/// vouches that the indexes touch disjoint elements.
public struct Unchecked<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// Threads for many short parallel loops in a row, such as a training step's gradient parts every fraction of a
/// millisecond. `parallelFor` wakes a sleeping worker for each loop, which costs tens of microseconds (a futex and, in
/// a virtual machine, an interrupt to another vCPU) — as long as the loop's share of a step, so two threads were
/// hardly faster than one. These workers spin between loops instead, and sleep only after `spinSeconds` without work.
/// Indexes are handed out as `parallelFor` does, so results written to per-index slots never depend on the threads.
/// One caller at a time.
public final class SpinningWorkers: @unchecked Sendable {
    /// The shared state: the threads hold it, not the pool, so that the pool's deinit can stop and join them.
    private final class State: @unchecked Sendable {
        let generation = Atomic<Int>(0)   // loops published so far
        let finished = Atomic<Int>(0)     // helpers done with the current loop
        let next = Atomic<Int>(0)         // the next index to hand out
        let sleepers = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        let condition = NSCondition()
        let spinNanoseconds: UInt64
        // Written by the caller before `generation` is raised (release), read by helpers after they see it (acquire).
        var body: (@Sendable (Int) -> Void)?
        var count = 0

        init(spinSeconds: Double) { spinNanoseconds = UInt64(spinSeconds * 1e9) }

        /// Hands out indexes of the current loop until none is left.
        func work() {
            guard let body else { return }
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { return }
                body(i)
            }
        }

        /// A helper's life: wait for a loop (spinning, then sleeping), work on it, report, until stopped.
        func helperLoop() {
            var seen = 0
            while true {
                var spinStart = DispatchTime.now().uptimeNanoseconds, spins = 0
                var current = generation.load(ordering: .sequentiallyConsistent)
                while current == seen {
                    if stopping.load(ordering: .relaxed) { return }
                    spins += 1
                    if spins % 4096 == 0, DispatchTime.now().uptimeNanoseconds - spinStart > spinNanoseconds {
                        condition.lock()
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping.load(ordering: .relaxed) {
                            condition.wait()
                        }
                        sleepers.subtract(1, ordering: .relaxed)
                        condition.unlock()
                        spinStart = DispatchTime.now().uptimeNanoseconds
                    }
                    current = generation.load(ordering: .sequentiallyConsistent)
                }
                if stopping.load(ordering: .relaxed) { return }
                seen = current
                work()
                finished.add(1, ordering: .releasing)
            }
        }

        /// Wakes every sleeping helper (all of them when `always`, as deinit needs, else only if one sleeps).
        func wake(always: Bool = false) {
            guard always || sleepers.load(ordering: .sequentiallyConsistent) > 0 else { return }
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }

    private let state: State
    private var threads: [pthread_t] = []
    private let busy = Atomic<Bool>(false)

    /// The calling thread and `helpers` more threads; none when `helpers` is 0 (then `run` is a plain loop).
    public init(helpers: Int, spinSeconds: Double = 0.002) {
        state = State(spinSeconds: spinSeconds)
        for _ in 0..<max(0, helpers) {
            let context = Unmanaged.passRetained(state).toOpaque()
            var thread = pthread_t()
            let created = pthread_create(&thread, nil, { context in
                let state = Unmanaged<State>.fromOpaque(context!).takeRetainedValue()
                state.helperLoop()
                return nil
            }, context)
            if created == 0 { threads.append(thread) } else { Unmanaged<State>.fromOpaque(context).release() }
        }
    }

    /// Two threads in all where this process may use two cores, else one: the pool training's gradient parts share.
    public static func pair() -> SpinningWorkers { SpinningWorkers(helpers: availableCores >= 2 ? 1 : 0) }

    /// The threads that run a loop, the caller included.
    public var threadCount: Int { threads.count + 1 }

    /// Runs `body(i)` for i in 0..<count on the caller and the helpers; returns when every index has run.
    public func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        guard !threads.isEmpty, count > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        precondition(!busy.exchange(true, ordering: .acquiring), "SpinningWorkers.run called from two threads at once")
        withoutActuallyEscaping(body) { body in
            state.body = body
            state.count = count
            state.next.store(0, ordering: .relaxed)
            state.finished.store(0, ordering: .relaxed)
            state.generation.add(1, ordering: .sequentiallyConsistent)
            state.wake()
            state.work()
            while state.finished.load(ordering: .acquiring) < threads.count {}
            state.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    deinit {
        state.stopping.store(true, ordering: .sequentiallyConsistent)
        state.wake(always: true)
        for thread in threads { pthread_join(thread, nil) }
    }
}
