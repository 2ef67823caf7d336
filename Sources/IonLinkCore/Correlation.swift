/// Pearson's correlation of two equally long samples; NaN when either is constant (or empty).
public func pearsonCorrelation(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "samples of different lengths")
    guard !a.isEmpty else { return .nan }
    let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : .nan
}
