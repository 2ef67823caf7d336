import Foundation
import IonLinkCore

/// A model and the protocol it is simulated under: everything a simulation bank depends on besides seeds.
/// Stored as JSON (see configs/ in the repository); `ionlink simulate --config FILE` reads one.
public struct SimulationConfiguration: Codable, Equatable, Sendable {
    public var model: NeuronModel
    public var `protocol`: StimulusProtocol

    public init(model: NeuronModel, protocol: StimulusProtocol) {
        self.model = model
        self.protocol = `protocol`
    }

    /// The paper's main setting: M1 model, 300 pA step, 800 ms.
    public static let paperM1 = SimulationConfiguration(model: .paperM1, protocol: .paperM1)
    /// The paper's V1 variant: 34 °C, step amplitude inferred, 1200 ms.
    public static let paperV1 = SimulationConfiguration(model: .paperV1, protocol: .paperV1)

    /// Built-in configurations by name (`--config m1`).
    public static let presets: [String: SimulationConfiguration] = ["m1": .paperM1, "v1": .paperV1]

    /// Checks model and protocol together; `file` names the configuration in errors.
    public func validate(file: String) throws {
        try self.protocol.validate(file: file)
        try model.validate(file: file, needsAmplitude: self.protocol.usesAmplitude)
    }

    /// Reads a configuration from a JSON file, or a preset name (`m1`, `v1`).
    public static func load(_ pathOrPreset: String) throws -> SimulationConfiguration {
        if let preset = presets[pathOrPreset.lowercased()] { return preset }
        guard let data = FileManager.default.contents(atPath: pathOrPreset) else {
            throw InputError(file: pathOrPreset, "cannot read the configuration (expected a JSON file or one of: \(presets.keys.sorted().joined(separator: ", ")))")
        }
        return try decode(data, file: pathOrPreset)
    }

    /// Decodes and validates JSON; errors name `file` and the offending field.
    public static func decode(_ data: Data, file: String) throws -> SimulationConfiguration {
        let configuration: SimulationConfiguration
        do {
            configuration = try JSONDecoder().decode(SimulationConfiguration.self, from: data)
        } catch let error as DecodingError {
            throw InputError(file: file, location: Self.path(of: error), Self.reason(of: error))
        }
        try configuration.validate(file: file)
        return configuration
    }

    /// Pretty, stable JSON (sorted keys), as written into bank manifests.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try! encoder.encode(self)
    }

    private static func path(of error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): context = c
        case .keyNotFound(let key, let c):
            return (c.codingPath + [key]).map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
        @unknown default: return ""
        }
        return context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }

    private static func reason(of error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let c): "expected \(type): \(c.debugDescription)"
        case .valueNotFound(let type, _): "expected a value of type \(type), found null"
        case .keyNotFound(let key, _): "missing required field '\(key.stringValue)'"
        case .dataCorrupted(let c): c.debugDescription
        @unknown default: "invalid JSON"
        }
    }
}
