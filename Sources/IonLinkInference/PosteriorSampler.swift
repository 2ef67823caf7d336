import IonLinkCore

/// Samples the posteriors of many observations (cells) in parallel, a chunk of cells at a time, and hands each
/// cell's draws to the caller in cell order: memory holds one chunk's samples, whatever the number of cells.
/// Cell i's draws depend only on (seed, i), so results do not depend on the thread count, nor on how the cells are split
/// over processes (`firstIndex`).
public struct PosteriorSampler: Sendable {
    public var posterior: Posterior
    /// Samples per cell.
    public var samples: Int
    public var seed: UInt64
    public var threads: Int
    /// Also refine each MAP by gradient ascent inside the box (`Posterior.refinedMAP(from:given:)`).
    public var refineMAP = false
    /// Cells sampled before their draws are handed on.
    public var chunkCells = 64
    /// The index of the first row of `x` among all cells (its seed stream), when `x` is one part of them.
    public var firstIndex = 0

    /// One cell's draws, its MAP (the best draw by log-probability) and, if asked, the MAP refined.
    public struct Cell: Sendable {
        public var draws: Posterior.Draws
        public var map: [Double]
        public var refinedMAP: [Double]?
        /// Whether the cell got all its samples.
        public var complete: Bool

        public init(draws: Posterior.Draws, map: [Double], refinedMAP: [Double]?, complete: Bool) {
            self.draws = draws; self.map = map; self.refinedMAP = refinedMAP; self.complete = complete
        }
    }

    public init(posterior: Posterior, samples: Int, seed: UInt64, threads: Int = availableCores) {
        self.posterior = posterior; self.samples = samples; self.seed = seed; self.threads = threads
    }

    /// Samples each row of `x` (raw features). `body(i, cell)` gets nil when a feature of row i is undefined; an
    /// incomplete cell (NaN MAP) when too few flow samples landed inside the prior box.
    public func run(_ x: Matrix, progress: (@Sendable (Int) -> Void)? = nil, body: (Int, Cell?) throws -> Void) rethrows {
        for start in stride(from: 0, to: x.rows, by: chunkCells) {
            let cells = start ..< min(x.rows, start + chunkCells)
            let slots = SlotBuffer<Cell?>(count: cells.count, repeating: nil)
            let (posterior, n, seed, refine, offset) = (posterior, samples, seed, refineMAP, firstIndex)
            parallelFor(cells.count, threads: threads) { k in
                let i = cells.lowerBound + k
                let row = x.row(i)
                if row.allSatisfy(\.isFinite) {
                    let draws = posterior.sample(n, given: row, seed: seed, index: UInt64(offset + i))
                    let complete = draws.samples.rows == n
                    let map = complete ? posterior.map(from: draws) : [Double](repeating: .nan, count: posterior.density.dimension)
                    let refined = refine && complete ? posterior.refinedMAP(from: map, given: row) : nil
                    slots[k] = Cell(draws: draws, map: map, refinedMAP: refined, complete: complete)
                }
                progress?(1)
            }
            for k in 0..<cells.count { try body(cells.lowerBound + k, slots[k]) }
        }
    }
}
