import CSignalKernel
import Foundation

/// The 4-pole digital Bessel low-pass filter used for dV/dt, designed and applied exactly as SciPy does
/// (`scipy.signal.bessel(4, Wn, 'low')` with `norm='phase'`, bilinear transform with pre-warping;
/// `filtfilt` with odd padding of 15 samples and steady-state initial conditions), so that spike
/// detection at its margins agrees with the reference extractor. The filtering itself runs in the C
/// kernel `ionlink_filtered_derivative` (several traces at once).
public struct BesselFilter: Sendable {
    /// Odd-extension length of SciPy's filtfilt: 3 · max(len(a), len(b)).
    public static let padding = 15

    /// Numerator b[0…4] and denominator a[0…4] (a[0] = 1).
    public let b: [Double]
    public let a: [Double]
    /// Steady-state initial conditions for a unit step (`scipy.signal.lfilter_zi`).
    public let zi: [Double]
    /// The largest modulus of the digital poles: a start-up transient decays by this factor per sample.
    public let poleRadius: Double

    /// Samples after which a start-up transient (an edge of filtfilt's passes) has decayed below `tolerance` of its size.
    public func settlingSamples(tolerance: Double) -> Int {
        Int((log(tolerance) / log(poleRadius)).rounded(.up))
    }

    /// Poles of the 4th-order analog Bessel prototype normalised by phase (scipy `besselap(4, norm='phase')`),
    /// in SciPy's order.
    static let prototypePoles: [(re: Double, im: Double)] = [
        (-0.6572111716718827, 0.830161435004873), (-0.9047587967882447, 0.27091873300387465),
        (-0.9047587967882447, -0.27091873300387465), (-0.6572111716718827, -0.830161435004873),
    ]

    /// Designs the filter for a normalised cutoff `wn` = cutoff / Nyquist, 0 < wn < 1.
    public init(normalizedCutoff wn: Double) {
        precondition(wn > 0 && wn < 1, "normalised cutoff \(wn) outside (0, 1)")
        let fs = 2.0
        let warped = 2 * fs * tan(Double.pi * wn / fs)
        let fs2 = 2 * fs
        // Analog poles scaled to the warped cutoff, then mapped by the bilinear transform.
        var gain = pow(warped, 4) // k · wo^degree with k = 1
        var numeratorProduct = Complex(1, 0), denominatorProduct = Complex(1, 0)
        var digitalPoles: [Complex] = []
        for pole in Self.prototypePoles {
            let p = Complex(pole.re * warped, pole.im * warped)
            digitalPoles.append((Complex(fs2, 0) + p) / (Complex(fs2, 0) - p))
            denominatorProduct = denominatorProduct * (Complex(fs2, 0) - p)
        }
        numeratorProduct = Complex(1, 0)
        gain = gain * (numeratorProduct / denominatorProduct).re
        // b = k · poly([-1, -1, -1, -1]); a = real(poly(poles)), expanded in SciPy's order.
        b = [1, 4, 6, 4, 1].map { gain * $0 }
        var polynomial: [Complex] = [Complex(1, 0)]
        for root in digitalPoles {
            var next = [Complex](repeating: Complex(0, 0), count: polynomial.count + 1)
            for (i, c) in polynomial.enumerated() {
                next[i] = next[i] + c
                next[i + 1] = next[i + 1] - c * root
            }
            polynomial = next
        }
        a = polynomial.map(\.re)
        zi = Self.steadyState(b: b, a: a)
        poleRadius = digitalPoles.map { ($0.re * $0.re + $0.im * $0.im).squareRoot() }.max()!
    }

    /// The filter of the reference extractor for a sampling interval `dt` (s) and cutoff in kHz:
    /// Wn = (cutoff·1e3) / ((1/dt) / 2).
    public init?(cutoffKHz: Double, dt: Double) {
        let wn = (cutoffKHz * 1e3) / ((1.0 / dt) / 2.0)
        guard wn > 0 && wn < 1 else { return nil }
        self.init(normalizedCutoff: wn)
    }

    /// Whether every coefficient of `other` equals this filter's within `relativeTolerance` (e.g. two designs for sampling
    /// intervals that differ only by the rounding of a time grid).
    public func agrees(with other: BesselFilter, relativeTolerance: Double) -> Bool {
        func close(_ x: [Double], _ y: [Double]) -> Bool {
            x.count == y.count && zip(x, y).allSatisfy { abs($0 - $1) <= relativeTolerance * max(abs($0), abs($1)) }
        }
        return close(b, other.b) && close(a, other.a)
    }

    /// The filtered dV/dt (mV/ms; `filtfilt`, then the difference quotient) of n samples at each of `inputs`, written
    /// as n − 1 values to `output + i·(n − 1)`; `time` (s) holds the n sample times. Signals are filtered 16 at a time
    /// (the same values as one by one); n must exceed `padding`.
    public func differentiate(_ inputs: [UnsafePointer<Double>], samples n: Int, time: UnsafePointer<Double>,
                              into output: UnsafeMutablePointer<Double>) {
        precondition(n > Self.padding, "\(n) samples cannot be filtered (padding \(Self.padding))")
        let lanes = Int(IONLINK_SIGNAL_LANES)
        for first in stride(from: 0, to: inputs.count, by: lanes) {
            let group = min(lanes, inputs.count - first)
            let sources = inputs[first ..< first + group].map { Optional($0) }
            let outputs = (first ..< first + group).map { Optional(output + $0 * (n - 1)) }
            let status = ionlink_filtered_derivative(b, a, zi, Int32(Self.padding), sources, time, n, Int32(group), outputs)
            precondition(status == 0, "the signal kernel refused \(group) signals of \(n) samples")
        }
    }

    /// The first `needed[i]` values of the filtered dV/dt of each of `inputs` (`valid[i]` samples each, at `time`), as
    /// `differentiate` computes them but for start-up transients below ~1e-16 relative: filtered in time chunks of
    /// `chunk` values, each with `warm` samples of signal on both sides (the first chunk behind the reference's odd
    /// padding, led by copies of its first value), so that a lane of the kernel holds a chunk rather than a whole
    /// signal and a few signals, or short needs, still fill its vectors. Row i goes to `output + i·rowStride` (at least
    /// `needed[i]` values, and up to a chunk more). False, with nothing written, where a signal is too short for its
    /// needed values and their warm-up.
    public func differentiateInChunks(_ inputs: [UnsafePointer<Double>], valid: [Int], needed: [Int], time: UnsafePointer<Double>,
                                      into output: UnsafeMutablePointer<Double>, rowStride: Int, chunk: Int = 2048) -> Bool {
        let warm = chunkWarmUp, pad = Self.padding, span = chunk + 2 * warm + 1
        guard chunk > warm, zip(needed, valid).allSatisfy({ $0.0 >= 1 && max($0.0, chunk + warm) + warm + 1 <= $0.1 })
        else { return false }
        let heads = UnsafeMutablePointer<Double>.allocate(capacity: inputs.count * span), headTime = UnsafeMutablePointer<Double>.allocate(capacity: span)
        defer { heads.deallocate(); headTime.deallocate() }
        let dt = time[1] - time[0]
        for k in 0..<span { headTime[k] = k < warm ? time[0] - Double(warm - k) * dt : time[k - warm] }
        var sources: [UnsafePointer<Double>?] = [], times: [UnsafePointer<Double>?] = [], outputs: [UnsafeMutablePointer<Double>?] = []
        for (i, x) in inputs.enumerated() {
            let head = heads + i * span
            for k in 0..<span {
                let padded = k - (warm - pad) // index into the odd-padded signal
                head[k] = padded < pad ? 2 * x[0] - x[pad - max(padded, 0)] : x[padded - pad]
            }
            // Chunks from 0, every `chunk` values, and a last one ending at or after needed[i] (overlapping the one before).
            let last = needed[i] <= chunk ? 0 : max(needed[i] - chunk, warm)
            for start in Array(stride(from: 0, to: last, by: chunk)) + [last] {
                sources.append(start == 0 ? UnsafePointer(head) : x + start - warm)
                times.append(start == 0 ? UnsafePointer(headTime) : time + start - warm)
                outputs.append(output + i * rowStride + start)
            }
        }
        let status = ionlink_filtered_derivative_segments(b, a, zi, sources, times, span, warm, warm + chunk, Int32(sources.count), outputs)
        precondition(status == 0, "the signal kernel refused \(sources.count) segments of \(span) samples")
        return true
    }

    /// The warm-up of `differentiateInChunks` on each side of a chunk: the samples over which a start-up transient decays
    /// below 1e-16 (at least the padding).
    public var chunkWarmUp: Int { max(Self.padding, settlingSamples(tolerance: 1e-16)) }

    /// Solves (I − Aᵀ) zi = b[1:] − a[1:]·b[0] with A the companion matrix of a (as `lfilter_zi`).
    static func steadyState(b: [Double], a: [Double]) -> [Double] {
        let n = a.count - 1
        // companion(a): first row −a[1:]/a[0], subdiagonal ones. IminusA = I − companion(a)ᵀ.
        var m = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0..<n {
                let companionTransposed: Double = j == 0 ? -a[i + 1] / a[0] : (i == j - 1 ? 1 : 0)
                m[i][j] = (i == j ? 1 : 0) - companionTransposed
            }
        }
        var rhs = (0..<n).map { b[$0 + 1] - a[$0 + 1] * b[0] }
        // Gaussian elimination with partial pivoting (LAPACK gesv's choice of pivots).
        for column in 0..<n {
            let pivot = (column..<n).max { abs(m[$0][column]) < abs(m[$1][column]) }!
            if pivot != column { m.swapAt(pivot, column); rhs.swapAt(pivot, column) }
            for row in (column + 1)..<n {
                let factor = m[row][column] / m[column][column]
                for k in column..<n { m[row][k] -= factor * m[column][k] }
                rhs[row] -= factor * rhs[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var s = rhs[row]
            for k in (row + 1)..<n { s -= m[row][k] * x[k] }
            x[row] = s / m[row][row]
        }
        return x
    }
}

/// Minimal complex arithmetic for the filter design (NumPy's formulas).
struct Complex {
    var re, im: Double
    init(_ re: Double, _ im: Double) { self.re = re; self.im = im }
    static func + (l: Complex, r: Complex) -> Complex { Complex(l.re + r.re, l.im + r.im) }
    static func - (l: Complex, r: Complex) -> Complex { Complex(l.re - r.re, l.im - r.im) }
    static func * (l: Complex, r: Complex) -> Complex { Complex(l.re * r.re - l.im * r.im, l.re * r.im + l.im * r.re) }
    /// Smith's algorithm with NumPy's scaling, as NumPy divides complex numbers.
    static func / (l: Complex, r: Complex) -> Complex {
        if abs(r.re) >= abs(r.im) {
            if r.re == 0 && r.im == 0 { return Complex(l.re / abs(r.re), l.im / abs(r.re)) }
            let ratio = r.im / r.re
            let scale = 1.0 / (r.re + r.im * ratio)
            return Complex((l.re + l.im * ratio) * scale, (l.im - l.re * ratio) * scale)
        } else {
            let ratio = r.re / r.im
            let scale = 1.0 / (r.im + r.re * ratio)
            return Complex((l.re * ratio + l.im) * scale, (l.im * ratio - l.re) * scale)
        }
    }
}
