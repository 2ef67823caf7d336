import Foundation

/// Monotone rational-quadratic spline on [−B, B] with linear (identity) tails (Durkan et al. 2019, as nflows'
/// `unconstrained_rational_quadratic_spline`): K bins whose widths and heights come from softmaxes and whose
/// interior knot derivatives come from softplus; the derivative at ±B is 1 so the tails join smoothly. The raw
/// parameters of one spline are K width logits, K height logits and K − 1 derivative pre-activations.
enum RationalQuadraticSpline {
    static let minimumBinWidth = 1e-3, minimumBinHeight = 1e-3, minimumDerivative = 1e-3

    /// Knot positions and derivatives, with what the backward pass needs (the softmax shares, softplus slopes).
    struct Knots {
        var x: [Double], y: [Double], derivative: [Double]
        var widthShare: [Double], heightShare: [Double], derivativeSlope: [Double]
    }

    static func knots(_ raw: ArraySlice<Double>, bins k: Int, bound: Double) -> Knots {
        let base = raw.startIndex
        func shares(_ from: Int, minimum: Double) -> (share: [Double], knots: [Double]) {
            let logits = raw[(base + from) ..< (base + from + k)]
            let m = logits.max()!
            let e = logits.map { exp($0 - m) }
            let total = e.reduce(0, +)
            let share = e.map { $0 / total }
            var knots = [-bound], running = 0.0
            for i in 0..<k {
                running += minimum + (1 - minimum * Double(k)) * share[i]
                knots.append(i == k - 1 ? bound : running * 2 * bound - bound)
            }
            return (share, knots)
        }
        let (widthShare, x) = shares(0, minimum: minimumBinWidth)
        let (heightShare, y) = shares(k, minimum: minimumBinHeight)
        var derivative = [1.0], slope = [Double]()
        for j in 0..<(k - 1) {
            let c = raw[base + 2 * k + j]
            derivative.append((c > 30 ? c : log1p(exp(c))) + minimumDerivative)
            slope.append(1 / (1 + exp(-c)))
        }
        derivative.append(1)
        return Knots(x: x, y: y, derivative: derivative, widthShare: widthShare, heightShare: heightShare, derivativeSlope: slope)
    }

    static func bin(of value: Double, in knots: [Double]) -> Int {
        var bin = 0
        while bin < knots.count - 2 && value >= knots[bin + 1] { bin += 1 }
        return bin
    }

    /// The bin's rational-quadratic map: output, log derivative, and their partials with respect to
    /// (input, bin left x, bin width, bin bottom y, bin height, left derivative, right derivative).
    static func evaluate(_ input: Double, x0: Double, width: Double, y0: Double, height: Double, d0: Double, d1: Double)
        -> (output: Double, logDerivative: Double, dOutput: [Double], dLogDerivative: [Double]) {
        let s = height / width, t = (input - x0) / width, tau = t * (1 - t)
        let numerator = height * (s * t * t + d0 * tau)
        let denominator = s + (d1 + d0 - 2 * s) * tau
        let e = d1 * t * t + 2 * s * tau + d0 * (1 - t) * (1 - t)
        let output = y0 + numerator / denominator
        let logDerivative = 2 * log(s) + log(e) - 2 * log(denominator)
        // Partials in (t, s, height with s fixed, d0, d1).
        let denT = (d1 + d0 - 2 * s) * (1 - 2 * t), denS = 1 - 2 * tau
        let numT = height * (2 * s * t + d0 * (1 - 2 * t)), numS = height * t * t
        let q = 1 / (denominator * denominator)
        let yT = (numT * denominator - numerator * denT) * q
        let yS = (numS * denominator - numerator * denS) * q
        let yH = (s * t * t + d0 * tau) / denominator
        let yD0 = (height * tau * denominator - numerator * tau) * q
        let yD1 = -numerator * tau * q
        let eT = 2 * d1 * t + 2 * s * (1 - 2 * t) - 2 * d0 * (1 - t)
        let lT = eT / e - 2 * denT / denominator
        let lS = 2 / s + 2 * tau / e - 2 * denS / denominator
        let lD0 = (1 - t) * (1 - t) / e - 2 * tau / denominator
        let lD1 = t * t / e - 2 * tau / denominator
        // Chain through t = (input − x0)/width and s = height/width.
        func chain(_ gT: Double, _ gS: Double, _ gH: Double, _ gY0: Double, _ gD0: Double, _ gD1: Double) -> [Double] {
            [gT / width, -gT / width, -gT * t / width - gS * s / width, gY0, gH + gS / width, gD0, gD1]
        }
        return (output, logDerivative, chain(yT, yS, yH, 1, yD0, yD1), chain(lT, lS, 0, 0, lD0, lD1))
    }

    /// y = spline(x) and log dy/dx; identity outside [−B, B].
    static func forward(_ input: Double, raw: ArraySlice<Double>, bins k: Int, bound: Double) -> (output: Double, logDerivative: Double) {
        guard input > -bound && input < bound else { return (input, 0) }
        let kn = knots(raw, bins: k, bound: bound)
        let b = bin(of: input, in: kn.x)
        let r = evaluate(input, x0: kn.x[b], width: kn.x[b + 1] - kn.x[b], y0: kn.y[b], height: kn.y[b + 1] - kn.y[b],
                         d0: kn.derivative[b], d1: kn.derivative[b + 1])
        return (r.output, r.logDerivative)
    }

    /// Backward pass of `a·output + b·logDerivative`: adds its gradient in the raw parameters to
    /// `rawGradient[offset...]` and returns its derivative in the input.
    static func backward(_ input: Double, raw: ArraySlice<Double>, bins k: Int, bound: Double, dOutput a: Double, dLogDerivative b: Double,
                         rawGradient: inout [Double], offset: Int) -> Double {
        guard input > -bound && input < bound else { return a }
        let kn = knots(raw, bins: k, bound: bound)
        let j = bin(of: input, in: kn.x)
        let r = evaluate(input, x0: kn.x[j], width: kn.x[j + 1] - kn.x[j], y0: kn.y[j], height: kn.y[j + 1] - kn.y[j],
                         d0: kn.derivative[j], d1: kn.derivative[j + 1])
        let g = (0..<7).map { a * r.dOutput[$0] + b * r.dLogDerivative[$0] }
        // Knot positions → shares → logits. Knot i = −B + 2B Σ_{l<i} w_l, so ∂/∂w_l = 2B Σ_{i>l} ∂/∂knot_i.
        func logitGradient(_ knotGradient: [Double], share: [Double], minimum: Double, into from: Int) {
            var dShare = [Double](repeating: 0, count: k), suffix = 0.0
            for l in stride(from: k - 1, through: 0, by: -1) {
                suffix += knotGradient[l + 1]
                dShare[l] = suffix * 2 * bound * (1 - minimum * Double(k))
            }
            let mean = zip(share, dShare).reduce(0) { $0 + $1.0 * $1.1 }
            for l in 0..<k { rawGradient[offset + from + l] += share[l] * (dShare[l] - mean) }
        }
        var dX = [Double](repeating: 0, count: k + 1), dY = dX
        dX[j] += g[1] - g[2]; dX[j + 1] += g[2]
        dY[j] += g[3] - g[4]; dY[j + 1] += g[4]
        logitGradient(dX, share: kn.widthShare, minimum: minimumBinWidth, into: 0)
        logitGradient(dY, share: kn.heightShare, minimum: minimumBinHeight, into: k)
        for (knot, partial) in [(j, g[5]), (j + 1, g[6])] where knot > 0 && knot < k {
            rawGradient[offset + 2 * k + knot - 1] += partial * kn.derivativeSlope[knot - 1]
        }
        return g[0]
    }

    /// x with spline(x) = y.
    static func inverse(_ y: Double, raw: ArraySlice<Double>, bins k: Int, bound: Double) -> Double {
        guard y > -bound && y < bound else { return y }
        let kn = knots(raw, bins: k, bound: bound)
        let b = bin(of: y, in: kn.y)
        let xk = kn.x[b], yk = kn.y[b]
        let width = kn.x[b + 1] - xk, height = kn.y[b + 1] - yk
        let slope = height / width, d0 = kn.derivative[b], d1 = kn.derivative[b + 1]
        let delta = y - yk
        let a = height * (slope - d0) + delta * (d1 + d0 - 2 * slope)
        let bq = height * d0 - delta * (d1 + d0 - 2 * slope)
        let c = -slope * delta
        let discriminant = max(0, bq * bq - 4 * a * c)
        let t = (2 * c) / (-bq - discriminant.squareRoot())
        return t * width + xk
    }
}
