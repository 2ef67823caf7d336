import IonLinkBiophysics

/// The paper's 23 features as the per-sample summary of a simulation bank (`ionlink simulate --features`).
/// The analysis window is the protocol's stimulus (first step start to last step end).
public struct PaperFeatureSummary: TraceSummary {
    public var detector = SpikeDetector()
    /// The arithmetic of the traces summarised: float32 ones get their derivatives the cheaper way
    /// (`FeatureExtractor.Derivatives.fast`); float64 ones get the reference's features bit for bit.
    public var precision: BatchSimulator.Precision
    public init(precision: BatchSimulator.Precision = .float64) { self.precision = precision }
    public var name: String { "paper23" }
    public var columns: [String] { PaperFeatures.names }

    public func values(ofBlock traces: UnsafeBufferPointer<Double>, count: Int, protocol stimulus: StimulusProtocol) -> [Double] {
        let window = stimulus.stimulusWindowMs
        let extractor = FeatureExtractor(dtMs: stimulus.dtMs, startMs: window.start, endMs: window.end, detector: detector,
                                         derivatives: .init(for: precision))
        return extractor.features(ofBlock: traces, count: count)
    }
}
