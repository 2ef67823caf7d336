/// Transient Na⁺ current NaTa_t of Hay et al. (2011, PLoS Comput Biol 7:e1002107), m³h; rates × φ_Hay.
///
/// α_m = 0.182 (V+38)/(1 − e^{−(V+38)/6}), β_m = −0.124 (V+38)/(1 − e^{(V+38)/6});
/// α_h = −0.015 (V+66)/(1 − e^{(V+66)/6}), β_h = 0.015 (V+66)/(1 − e^{−(V+66)/6}).
public struct HayTransientSodium: RateChannel {
    public static let name = Channel.transientSodium
    public static let ion = Ion.sodium
    public static let conductance = ModelParameter.gNat
    public static let gateNames = ["m", "h"]
    /// Temperature factor of the rates, Q10^{(T−21)/10}.
    public var phi: Double
    public var rateFactor: Double { phi }

    public init(phi: Double) { self.phi = phi }

    public func gateRates(at v: Double) -> [GateRates] {
        [GateRates(alpha: 0.182 * linoid(v + 38, 6), beta: 0.124 * linoid(-(v + 38), 6)),
         GateRates(alpha: 0.015 * linoid(-(v + 66), 6), beta: 0.015 * linoid(v + 66, 6))]
    }

    public func openFraction(_ gates: [Double]) -> Double { gates[0] * gates[0] * gates[0] * gates[1] }
}

/// Kv3.1 K⁺ current of Hay et al. (2011), v, with the +56.56 mV time-constant shift of hh_sbi; rate × φ_Hay.
///
/// v∞ = 1/(1 + e^{−(V−18.7)/9.7}), τ_v = 4/(1 + e^{−(V+56.56)/44.14}) ms.
public struct HayKv31: RelaxingChannel {
    public static let name = Channel.kv31
    public static let ion = Ion.potassium
    public static let conductance = ModelParameter.gKv31
    public static let gateNames = ["v"]
    /// Temperature factor of the rate, Q10^{(T−21)/10}.
    public var phi: Double

    public init(phi: Double) { self.phi = phi }

    public func steadyValue(at v: Double) -> Double { sigmoid(v, half: 18.7, slope: 9.7) }

    public func timeConstant(at v: Double) -> Double { 4 * sigmoid(v, half: -56.56, slope: 44.14) }
}
