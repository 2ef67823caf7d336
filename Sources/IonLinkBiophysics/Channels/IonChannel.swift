import Foundation

/// One voltage-gated current of the model, written out for reading and as the reference the fused C kernel
/// (`hh_kernel.c`) is tested against.
///
/// A channel holds its gates' kinetics for one neuron (temperature factor, voltage shift and rate divisors
/// already applied). The membrane current is `ḡ · openFraction(gates) · (V − E)`, with ḡ the channel's
/// `conductance` parameter and E the reversal potential of its `ion`.
public protocol IonChannel: Sendable {
    /// The current's name in configurations and tables.
    static var name: Channel { get }
    /// The permeant ion (selects the reversal potential).
    static var ion: Ion { get }
    /// The parameter holding the maximal conductance density, mS/cm².
    static var conductance: ModelParameter { get }
    /// Names of the gating variables, in the order of the gate arrays.
    static var gateNames: [String] { get }
    /// The gates at steady state at membrane potential `v` (mV).
    func steadyState(at v: Double) -> [Double]
    /// The gates after one exponential-Euler step of `dt` ms with the rates at `v` (mV).
    func advance(_ gates: [Double], at v: Double, dt: Double) -> [Double]
    /// The open fraction of the maximal conductance, e.g. m³h.
    func openFraction(_ gates: [Double]) -> Double
}

/// The ion a current carries.
public enum Ion: Sendable {
    case sodium, potassium, calcium

    /// The reversal potential of this ion in `model`, mV.
    public func reversal(in model: NeuronModel) -> Double {
        switch self {
        case .sodium: model.eNa
        case .potassium: model.eK
        case .calcium: model.eCa
        }
    }
}

/// Opening and closing rates of a two-state gate, 1/ms.
public struct GateRates: Sendable {
    public var alpha: Double
    public var beta: Double

    public init(alpha: Double, beta: Double) { self.alpha = alpha; self.beta = beta }

    /// x∞ = α / (α + β).
    public var steadyState: Double { alpha / (alpha + beta) }

    /// The gate after `dt` ms with its rates multiplied by `factor`: x∞ + (x − x∞)·e^{−(α+β)·factor·dt}
    /// (exact for constant rates, and Brian2's exponential Euler).
    public func advance(_ x: Double, factor: Double, dt: Double) -> Double {
        relax(x, toward: steadyState, rate: (alpha + beta) * factor, dt: dt)
    }
}

/// x∞ + (x − x∞)·e^{−rate·dt}: a gate relaxing toward `steady` at `rate` (1/ms) for `dt` ms.
public func relax(_ x: Double, toward steady: Double, rate: Double, dt: Double) -> Double {
    steady + (x - steady) * exp(-rate * dt)
}

/// x / (1 − e^{−x/s}), with its series s·(1 + y/2 + y²/12), y = x/s, at the removable singularity x = 0.
public func linoid(_ x: Double, _ s: Double) -> Double {
    let y = x / s
    return abs(y) < 1e-6 ? s * (1 + y * (0.5 + y / 12)) : x / (1 - exp(-y))
}

/// A channel whose gates all follow α/β kinetics, every rate multiplied by one factor (temperature, r_SS): its steady
/// state and exponential-Euler step follow from `gateRates(at:)`.
public protocol RateChannel: IonChannel {
    /// Each gate's opening and closing rates at `v` (mV), in `gateNames` order.
    func gateRates(at v: Double) -> [GateRates]
    /// The factor multiplying every rate.
    var rateFactor: Double { get }
}

extension RateChannel {
    public func steadyState(at v: Double) -> [Double] { gateRates(at: v).map(\.steadyState) }

    public func advance(_ gates: [Double], at v: Double, dt: Double) -> [Double] {
        zip(gateRates(at: v), gates).map { $0.advance($1, factor: rateFactor, dt: dt) }
    }
}

/// A one-gate channel given by its steady state x∞(V) and time constant τ(V), the rate φ/τ: the gate relaxes toward x∞,
/// and the open fraction is the gate itself.
public protocol RelaxingChannel: IonChannel {
    /// x∞ at `v` (mV).
    func steadyValue(at v: Double) -> Double
    /// τ at `v`, ms (before the temperature factor).
    func timeConstant(at v: Double) -> Double
    /// The temperature factor φ dividing τ.
    var phi: Double { get }
}

extension RelaxingChannel {
    public func steadyState(at v: Double) -> [Double] { [steadyValue(at: v)] }

    public func advance(_ gates: [Double], at v: Double, dt: Double) -> [Double] {
        [relax(gates[0], toward: steadyValue(at: v), rate: phi / timeConstant(at: v), dt: dt)]
    }

    public func openFraction(_ gates: [Double]) -> Double { gates[0] }
}

/// 1 / (1 + e^{−(v − half)/slope}).
func sigmoid(_ v: Double, half: Double, slope: Double) -> Double {
    1 / (1 + exp(-(v - half) / slope))
}

extension Channel {
    /// This current's definition for one neuron of `model` whose 14 kernel parameters are `parameters`
    /// (indexed by `ModelParameter.slot`).
    public func definition(model: NeuronModel, parameters: [Double]) -> any IonChannel {
        func value(_ p: ModelParameter) -> Double { parameters[p.slot] }
        switch self {
        case .transientSodium: return HayTransientSodium(phi: model.phiHay)
        case .sodium: return PospischilSodium(vt: value(.VT), factor: model.phiPospischil / value(.r_SS))
        case .delayedRectifier: return PospischilDelayedRectifier(vt: value(.VT), factor: model.phiPospischil / value(.r_SS))
        case .mCurrent: return PospischilMCurrent(tauMax: value(.tau_max), phi: model.phiPospischil)
        case .kv31: return HayKv31(phi: model.phiHay)
        case .lTypeCalcium: return ReuveniLTypeCalcium()
        }
    }
}
