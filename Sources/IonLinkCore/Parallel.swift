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
