import Foundation
import IonLinkCore

/// A single-compartment model as data: which channels it has, its temperature and reversal potentials,
/// and which per-neuron parameters are free (with their uniform prior box) or fixed.
///
/// Units: mV, ms, °C, and those of `ModelParameter`.
public struct NeuronModel: Codable, Equatable, Sendable {
    /// A free parameter and its uniform prior interval [low, high].
    public struct FreeParameter: Codable, Equatable, Sendable {
        public var name: ModelParameter
        public var low: Double
        public var high: Double
        public init(_ name: ModelParameter, _ low: Double, _ high: Double) {
            self.name = name; self.low = low; self.high = high
        }
    }

    /// A human-readable name, kept in bank manifests.
    public var name: String
    /// Recording temperature, °C; sets the temperature factors with `q10`.
    public var temperatureCelsius: Double
    /// Q10 of all temperature-corrected gates (2.3 in the paper).
    public var q10: Double
    /// Sodium reversal potential, mV.
    public var eNa: Double
    /// Potassium reversal potential, mV.
    public var eK: Double
    /// Calcium reversal potential, mV.
    public var eCa: Double
    /// The active currents present; a channel not listed carries no current whatever its conductance.
    public var channels: [Channel]
    /// Free parameters in inference order.
    public var parameters: [FreeParameter]
    /// Values of the parameters that are not free (e.g. `r_SS = 1` for the ablation without r_SS).
    public var fixed: [String: Double]

    enum CodingKeys: String, CodingKey {
        case name, q10, channels, parameters, fixed
        case temperatureCelsius = "temperature_celsius"
        case eNa = "E_Na", eK = "E_K", eCa = "E_Ca"
    }

    public init(name: String, temperatureCelsius: Double, q10: Double = 2.3, eNa: Double, eK: Double, eCa: Double,
                channels: [Channel] = Channel.allCases, parameters: [FreeParameter], fixed: [String: Double] = [:]) {
        self.name = name
        self.temperatureCelsius = temperatureCelsius
        self.q10 = q10
        self.eNa = eNa; self.eK = eK; self.eCa = eCa
        self.channels = channels
        self.parameters = parameters
        self.fixed = fixed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        temperatureCelsius = try c.decode(Double.self, forKey: .temperatureCelsius)
        q10 = try c.decodeIfPresent(Double.self, forKey: .q10) ?? 2.3
        eNa = try c.decode(Double.self, forKey: .eNa)
        eK = try c.decode(Double.self, forKey: .eK)
        eCa = try c.decode(Double.self, forKey: .eCa)
        channels = try c.decodeIfPresent([Channel].self, forKey: .channels) ?? Channel.allCases
        parameters = try c.decode([FreeParameter].self, forKey: .parameters)
        fixed = try c.decodeIfPresent([String: Double].self, forKey: .fixed) ?? [:]
    }

    /// Temperature factor of the Hay et al. gates: Q10^((T − 21)/10).
    public var phiHay: Double { pow(q10, (temperatureCelsius - 21) / 10) }
    /// Temperature factor of the Pospischil gates: Q10^((T − 36)/10).
    public var phiPospischil: Double { pow(q10, (temperatureCelsius - 36) / 10) }

    /// Names of the free parameters in order.
    public var parameterNames: [String] { parameters.map(\.name.rawValue) }
    /// Lower prior bounds in order.
    public var lowerBounds: [Double] { parameters.map(\.low) }
    /// Upper prior bounds in order.
    public var upperBounds: [Double] { parameters.map(\.high) }

    /// The paper's 13 parameters with the M1 prior box (MODEL.md section 5).
    public static let paperParameters: [FreeParameter] = [
        .init(.C, 0.1, 15), .init(.R_input, 20, 1000), .init(.tau, 0.1, 70), .init(.gNat, 0, 250),
        .init(.gNa, 0, 100), .init(.gKd, 0, 30), .init(.gM, 0, 3), .init(.gKv31, 0, 250), .init(.gL, 0, 3),
        .init(.E_leak, -130, -50), .init(.tau_max, 50, 4000), .init(.VT, -90, -35), .init(.r_SS, 0.1, 3),
    ]

    /// The M1 model of Bernaerts et al. 2025 (Scala et al. 2021 data): 25 °C, E_Na 69.0, E_K −98.4, E_Ca 127.2 mV.
    public static let paperM1 = NeuronModel(
        name: "M1 (Bernaerts et al. 2025; Scala et al. 2021 recordings)", temperatureCelsius: 25,
        eNa: 69.0, eK: -98.4, eCa: 127.2, parameters: paperParameters)

    /// The V1 variant (Gouwens et al. 2020 data): 34 °C, E_Na 53.5, E_K −101.3, E_Ca 131.1 mV, and the
    /// step amplitude I ∈ [20, 870] pA as a 14th free parameter.
    public static let paperV1 = NeuronModel(
        name: "V1 (Bernaerts et al. 2025; Gouwens et al. 2020 recordings)", temperatureCelsius: 34,
        eNa: 53.5, eK: -101.3, eCa: 131.1, parameters: paperParameters + [.init(.I, 20, 870)])

    /// Checks the model: every parameter the kernel needs is free or fixed, no duplicates, sane bounds.
    /// `file` names the configuration in errors.
    public func validate(file: String, needsAmplitude: Bool) throws {
        var seen = Set<ModelParameter>()
        for (i, p) in parameters.enumerated() {
            let place = "model.parameters[\(i)] (\(p.name.rawValue))"
            guard seen.insert(p.name).inserted else { throw InputError(file: file, location: place, "parameter listed twice") }
            guard p.low.isFinite, p.high.isFinite, p.low <= p.high else {
                throw InputError(file: file, location: place, "expected finite bounds with low ≤ high, found [\(p.low), \(p.high)]")
            }
        }
        for key in fixed.keys {
            guard let parameter = ModelParameter(rawValue: key) else {
                throw InputError(file: file, location: "model.fixed.\(key)", "unknown parameter; expected one of \(ModelParameter.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if seen.contains(parameter) { throw InputError(file: file, location: "model.fixed.\(key)", "parameter is both free and fixed") }
        }
        for parameter in ModelParameter.allCases where parameter != .I || needsAmplitude {
            if !seen.contains(parameter) && fixed[parameter.rawValue] == nil {
                throw InputError(file: file, location: "model", "parameter \(parameter.rawValue) is neither in 'parameters' nor in 'fixed'")
            }
        }
        guard q10 > 0, temperatureCelsius.isFinite else { throw InputError(file: file, location: "model", "expected q10 > 0 and a finite temperature") }
    }
}
