import CMPI
import Foundation

/// The processes of one command: this process alone, or the ranks of an MPI launch (`mpirun`, `srun`). MPI is
/// initialised only when a launcher's environment says the process is one of several, so a plain `ionlink` never
/// touches MPI. Work is split by rank; every result is the same as one process's for the same seed.
public final class Ranks: @unchecked Sendable {
    /// This process's rank, 0-based, and the number of ranks.
    public let rank: Int
    public let size: Int
    private let usesMPI: Bool

    /// The ranks of this launch (MPI initialised on first use when launched by an MPI launcher).
    public static let world = Ranks()

    private init() {
        guard Self.launchedByMPI(ProcessInfo.processInfo.environment) else {
            rank = 0; size = 1; usesMPI = false
            return
        }
        var initialised: Int32 = 0
        MPI_Initialized(&initialised)
        if initialised == 0 { MPI_Init(nil, nil) }
        var r: Int32 = 0, s: Int32 = 1
        MPI_Comm_rank(ionlink_mpi_comm_world(), &r)
        MPI_Comm_size(ionlink_mpi_comm_world(), &s)
        rank = Int(r); size = Int(s); usesMPI = true
    }

    /// Whether an MPI launcher started this process as one of several ranks: Open MPI's mpirun
    /// (`OMPI_COMM_WORLD_SIZE`), Hydra/PMI-2 and srun with PMI-2 (`PMI_SIZE`), or srun with PMIx (`PMIX_RANK` and
    /// `SLURM_NTASKS` > 1).
    static func launchedByMPI(_ environment: [String: String]) -> Bool {
        func count(_ key: String) -> Int { Int(environment[key] ?? "") ?? 0 }
        return count("OMPI_COMM_WORLD_SIZE") > 1 || count("PMI_SIZE") > 1
            || (environment["PMIX_RANK"] != nil && count("SLURM_NTASKS") > 1)
    }

    public var isParallel: Bool { size > 1 }
    public var isRoot: Bool { rank == 0 }

    /// Waits until every rank gets here, asleep once the wait passes 1 ms (ranks wait on rank 0's serial stages).
    public func barrier() {
        guard usesMPI else { return }
        _ = ionlink_mpi_patient_barrier()
    }

    /// Whether every rank holds the same `text` (compared by a 64-bit digest).
    public func allAgree(on text: String) -> Bool {
        guard usesMPI else { return true }
        let hash = FNV1a.hash(text)
        var low = hash, high = hash, mine = hash
        MPI_Allreduce(&mine, &low, 1, ionlink_mpi_unsigned_long_long(), ionlink_mpi_min(), ionlink_mpi_comm_world())
        MPI_Allreduce(&mine, &high, 1, ionlink_mpi_unsigned_long_long(), ionlink_mpi_max(), ionlink_mpi_comm_world())
        return low == high
    }

    /// Whether every rank's `ok` is true (a failure on any rank is everyone's, so no rank waits forever).
    public func all(_ ok: Bool) -> Bool {
        guard usesMPI else { return ok }
        barrier()   // asleep while a rank still works
        var mine: Int32 = ok ? 1 : 0, least: Int32 = 0
        MPI_Allreduce(&mine, &least, 1, ionlink_mpi_int(), ionlink_mpi_min(), ionlink_mpi_comm_world())
        return least == 1
    }

    /// Every rank's `values`, in rank order (ranks may hold different counts); a single process gets its own back.
    public func allGather(_ values: [Double]) -> [[Double]] {
        guard usesMPI else { return [values] }
        var count = Int32(values.count)
        var counts = [Int32](repeating: 0, count: size)
        MPI_Allgather(&count, 1, ionlink_mpi_int(), &counts, 1, ionlink_mpi_int(), ionlink_mpi_comm_world())
        var offsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { offsets[r] = offsets[r - 1] + counts[r - 1] }
        var all = [Double](repeating: 0, count: Int(counts.reduce(0, +)))
        values.withUnsafeBufferPointer { mine in
            _ = MPI_Allgatherv(mine.baseAddress, count, ionlink_mpi_double(), &all, counts, offsets, ionlink_mpi_double(), ionlink_mpi_comm_world())
        }
        return (0..<size).map { r in Array(all[Int(offsets[r]) ..< Int(offsets[r] + counts[r])]) }
    }

    /// The contiguous slice of `count` items that this rank handles (the first `count % size` ranks take one more).
    public func slice(of count: Int) -> Range<Int> { Self.part(rank, of: size, count: count) }

    /// Part `index` of `count` items cut into `parts` contiguous parts, the first `count % parts` one longer.
    public static func part(_ index: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let start = index * base + min(index, extra)
        return start ..< start + base + (index < extra ? 1 : 0)
    }

    /// Ends MPI (after every rank's work); a no-op for a single process.
    public func finish() {
        guard usesMPI else { return }
        var finalised: Int32 = 0
        MPI_Finalized(&finalised)
        if finalised == 0 { MPI_Finalize() }
    }

    /// Ends every rank at once after an error on this one (MPI_Abort); a single process just exits.
    public func abort(code: Int32) -> Never {
        if usesMPI { MPI_Abort(ionlink_mpi_comm_world(), code) }
        exit(code)
    }
}
