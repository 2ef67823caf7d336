import Foundation

/// Na⁺ current of Pospischil et al. (2008, Biol Cybern 99:427), m̃³h̃, shifted by VT; rates × φ_Pos / r_SS.
///
/// With u = V − VT: α_m = −0.32 (u−13)/(e^{−(u−13)/4} − 1), β_m = 0.28 (u−40)/(e^{(u−40)/5} − 1),
/// α_h = 0.128 e^{−(u−17)/18}, β_h = 4/(1 + e^{−(u−40)/5}).
public struct PospischilSodium: RateChannel {
    public static let name = Channel.sodium
    public static let ion = Ion.sodium
    public static let conductance = ModelParameter.gNa
    public static let gateNames = ["m", "h"]
    /// Voltage shift VT, mV.
    public var vt: Double
    /// Rate factor φ_Pos / r_SS.
    public var factor: Double

    public var rateFactor: Double { factor }

    public init(vt: Double, factor: Double) { self.vt = vt; self.factor = factor }

    public func gateRates(at v: Double) -> [GateRates] {
        let u = v - vt
        return [GateRates(alpha: 0.32 * linoid(u - 13, 4), beta: 0.28 * linoid(-(u - 40), 5)),
                GateRates(alpha: 0.128 * exp(-(u - 17) / 18), beta: 4 * sigmoid(u, half: 40, slope: 5))]
    }

    public func openFraction(_ gates: [Double]) -> Double { gates[0] * gates[0] * gates[0] * gates[1] }
}

/// Delayed-rectifier K⁺ current of Pospischil et al. (2008), n⁴, shifted by VT; rates × φ_Pos / r_SS.
///
/// With u = V − VT: α_n = −0.032 (u−15)/(e^{−(u−15)/5} − 1), β_n = 0.5 e^{−(u−10)/40}.
public struct PospischilDelayedRectifier: RateChannel {
    public static let name = Channel.delayedRectifier
    public static let ion = Ion.potassium
    public static let conductance = ModelParameter.gKd
    public static let gateNames = ["n"]
    /// Voltage shift VT, mV.
    public var vt: Double
    /// Rate factor φ_Pos / r_SS.
    public var factor: Double

    public var rateFactor: Double { factor }

    public init(vt: Double, factor: Double) { self.vt = vt; self.factor = factor }

    public func gateRates(at v: Double) -> [GateRates] {
        let u = v - vt
        return [GateRates(alpha: 0.032 * linoid(u - 15, 5), beta: 0.5 * exp(-(u - 10) / 40))]
    }

    public func openFraction(_ gates: [Double]) -> Double {
        let n2 = gates[0] * gates[0]
        return n2 * n2
    }
}

/// Slow non-inactivating K⁺ (M) current of Pospischil et al. (2008), p; rate × φ_Pos.
///
/// p∞ = 1/(1 + e^{−(V+35)/10}), τ_p = τ_max / (3.3 e^{(V+35)/20} + e^{−(V+35)/20}).
public struct PospischilMCurrent: RelaxingChannel {
    public static let name = Channel.mCurrent
    public static let ion = Ion.potassium
    public static let conductance = ModelParameter.gM
    public static let gateNames = ["p"]
    /// The maximal time constant τ_max, ms.
    public var tauMax: Double
    /// Temperature factor of the rate, Q10^{(T−36)/10}.
    public var phi: Double

    public init(tauMax: Double, phi: Double) { self.tauMax = tauMax; self.phi = phi }

    public func steadyValue(at v: Double) -> Double { sigmoid(v, half: -35, slope: 10) }

    public func timeConstant(at v: Double) -> Double { tauMax / (3.3 * exp((v + 35) / 20) + exp(-(v + 35) / 20)) }
}

/// High-threshold L-type Ca²⁺ current of Reuveni et al. (1993, J Neurosci 13:4609) in Pospischil et al.'s
/// form, q²r; no temperature factor.
///
/// α_q = −0.055 (27+V)/(e^{−(27+V)/3.8} − 1), β_q = 0.94 e^{−(75+V)/17};
/// α_r = 0.000457 e^{−(13+V)/50}, β_r = 0.0065/(1 + e^{−(15+V)/28}).
public struct ReuveniLTypeCalcium: RateChannel {
    public static let name = Channel.lTypeCalcium
    public static let ion = Ion.calcium
    public static let conductance = ModelParameter.gL
    public static let gateNames = ["q", "r"]

    public let rateFactor = 1.0

    public init() {}

    public func gateRates(at v: Double) -> [GateRates] {
        [GateRates(alpha: 0.055 * linoid(v + 27, 3.8), beta: 0.94 * exp(-(75 + v) / 17)),
         GateRates(alpha: 0.000457 * exp(-(13 + v) / 50), beta: 0.0065 * sigmoid(v, half: -15, slope: 28))]
    }

    public func openFraction(_ gates: [Double]) -> Double { gates[0] * gates[0] * gates[1] }
}
