import IonLinkBiophysics
import IonLinkCore

/// Simulates given parameter sets and keeps only their 23 features: traces live one kernel block at a time, the
/// rows are simulated in chunks on every thread, so memory stays bounded however many rows there are.
public struct ParameterSimulation: Sendable {
    public var configuration: SimulationConfiguration
    public var threads: Int
    /// The kernel's arithmetic (float64, the reference, unless asked).
    public var precision: BatchSimulator.Precision
    /// Rows handed to the simulator at once (bounds the memory of the parameter vectors).
    public var chunkRows = 16_384

    public init(configuration: SimulationConfiguration, precision: BatchSimulator.Precision = .float64, threads: Int = availableCores) {
        self.configuration = configuration
        self.precision = precision
        self.threads = threads
    }

    /// Features (rows × 23, NaN where undefined or where the simulation became non-finite) of each row of `theta`
    /// (free parameters in the model's order). Row r uses the current-noise stream (seed, firstIndex + r), as row r
    /// of `ionlink simulate --params` and sample firstIndex + r of a bank with that seed.
    public func features(of theta: Matrix, seed: UInt64, firstIndex: UInt64 = 0, progress: ((Int) -> Void)? = nil) -> Matrix {
        precondition(theta.columns == configuration.model.parameters.count, "expected \(configuration.model.parameters.count) parameters per row")
        let summary = PaperFeatureSummary(precision: precision), columns = summary.columns.count
        let output = SlotBuffer<Double>(count: theta.rows * columns, repeating: .nan)
        let simulator = BatchSimulator(configuration: configuration, precision: precision, threads: threads)
        let stimulus = configuration.protocol
        for start in stride(from: 0, to: theta.rows, by: chunkRows) {
            let rows = start ..< min(theta.rows, start + chunkRows)
            let parameters = Array(theta.values[rows.lowerBound * theta.columns ..< rows.upperBound * theta.columns])
            simulator.simulate(parameters: parameters, rowCount: rows.count, seed: seed, firstIndex: firstIndex + UInt64(start)) { block in
                let values = summary.values(ofBlock: block.traces, count: block.rows.count, protocol: stimulus)
                for (j, valid) in block.valid.enumerated() where valid {
                    let row = start + block.rows.lowerBound + j
                    output.write(values[j * columns ..< (j + 1) * columns], at: row * columns)
                }
            }
            progress?(rows.count)
        }
        return Matrix(rows: theta.rows, columns: columns, values: output.array)
    }
}
