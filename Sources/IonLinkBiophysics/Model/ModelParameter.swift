/// The per-neuron quantities of the model: the 13 parameters of Bernaerts et al. (2025) in paper order,
/// then the amplitude of an inferred current step (the V1 variant's 14th parameter).
///
/// Raw values are the names used in files and on the command line.
public enum ModelParameter: String, CaseIterable, Codable, Sendable {
    /// Specific membrane capacitance, µF/cm².
    case C
    /// Input resistance, MΩ.
    case R_input
    /// Membrane time constant, ms.
    case tau
    /// Transient Na (Hay kinetics) maximal conductance density, mS/cm².
    case gNat
    /// Na (Pospischil kinetics) maximal conductance density, mS/cm².
    case gNa
    /// Delayed-rectifier K maximal conductance density, mS/cm².
    case gKd
    /// M-current maximal conductance density, mS/cm².
    case gM
    /// Kv3.1 maximal conductance density, mS/cm².
    case gKv31
    /// L-type Ca maximal conductance density, mS/cm².
    case gL
    /// Leak reversal potential, mV.
    case E_leak
    /// Maximal time constant of the M-current gate, ms.
    case tau_max
    /// Voltage shift of the Pospischil Na and Kd gates, mV.
    case VT
    /// Rate-to-steady-state factor dividing the Na/Kd rates (unitless).
    case r_SS
    /// Amplitude of protocol steps whose current is `"I"`, pA.
    case I

    /// The unit, as written in tables.
    public var unit: String {
        switch self {
        case .C: "µF/cm²"
        case .R_input: "MΩ"
        case .tau, .tau_max: "ms"
        case .gNat, .gNa, .gKd, .gM, .gKv31, .gL: "mS/cm²"
        case .E_leak, .VT: "mV"
        case .r_SS: "1"
        case .I: "pA"
        }
    }

    /// Position in the kernel's parameter vector.
    public var slot: Int { ModelParameter.allCases.firstIndex(of: self)! }
}

/// An ionic current of the model (its conductance parameter switches it on; see docs/reference/model.md).
public enum Channel: String, CaseIterable, Codable, Sendable {
    /// Transient Na, Hay et al. 2011 (NaTa_t), m³h, E_Na.
    case transientSodium = "Nat"
    /// Na, Pospischil et al. 2008, m̃³h̃, E_Na; VT shift, rates ÷ r_SS.
    case sodium = "Na"
    /// Delayed-rectifier K, Pospischil, n⁴, E_K; VT shift, rates ÷ r_SS.
    case delayedRectifier = "Kd"
    /// Slow non-inactivating K (M-current), Pospischil, p, E_K, τ_max.
    case mCurrent = "M"
    /// Kv3.1, Hay et al. 2011 with the hh_sbi +56.56 mV τ shift, v, E_K.
    case kv31 = "Kv31"
    /// High-threshold L-type Ca, Pospischil (Reuveni et al. 1993), q²r, E_Ca.
    case lTypeCalcium = "L"

    /// The index of this current's switch in the kernel's `channel_enabled` (the order of `hh_kernel.h`).
    var kernelSlot: Int {
        switch self {
        case .transientSodium: 0
        case .sodium: 1
        case .delayedRectifier: 2
        case .mCurrent: 3
        case .kv31: 4
        case .lTypeCalcium: 5
        }
    }
}
