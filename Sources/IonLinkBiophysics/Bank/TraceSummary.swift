/// Statistics computed from each simulated trace while it is still in memory (a bank stores these, not
/// the traces). IonLinkElectrophysiology provides the paper's 23 features as one.
public protocol TraceSummary: Sendable {
    /// A short identifier kept in the bank manifest (a bank is resumed only with the same summary).
    var name: String { get }
    /// Column names, in order.
    var columns: [String] { get }
    /// The values for `count` traces stored one after another (mV, sample k at k·dt), simulated under
    /// `protocol`: `count` × `columns.count` values, row by row.
    func values(ofBlock traces: UnsafeBufferPointer<Double>, count: Int, protocol: StimulusProtocol) -> [Double]
}
