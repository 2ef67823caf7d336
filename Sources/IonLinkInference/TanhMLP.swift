import CMathKernel
import IonLinkCore

/// A two-hidden-layer tanh network stored in a slice of an estimator's flat parameter vector: input → tanh
/// (hidden) → tanh (hidden) → linear outputs. Used as the MDN's network and as the NSF's coupling conditioners.
struct TanhMLP: Sendable {
    let inputs: Int, hidden: Int, outputs: Int
    let w1: Int, b1: Int, w2: Int, b2: Int, wo: Int, bo: Int
    /// One past the last parameter.
    let end: Int

    init(inputs: Int, hidden: Int, outputs: Int, start: Int) {
        self.inputs = inputs; self.hidden = hidden; self.outputs = outputs
        w1 = start; b1 = w1 + hidden * inputs; w2 = b1 + hidden; b2 = w2 + hidden * hidden
        wo = b2 + hidden; bo = wo + outputs * hidden; end = bo + outputs
    }

    /// PyTorch's default initialisation (uniform ±1/√fan-in); the output layer scaled by `outputScale`.
    func initialise(_ parameters: inout [Double], outputScale: Double, using generator: inout Xoshiro256) {
        for (from, to, fanIn, scale) in [(w1, w2, inputs, 1.0), (w2, wo, hidden, 1.0), (wo, end, hidden, outputScale)] {
            let bound = scale / Double(fanIn).squareRoot()
            for k in from..<to { parameters[k] = (generator.nextUniform() * 2 - 1) * bound }
        }
    }

    private func dense(_ parameters: [Double], _ input: Matrix, weights: Int, bias: Int, rows: Int) -> Matrix {
        let w = Matrix(rows: rows, columns: input.columns, values: Array(parameters[weights ..< weights + rows * input.columns]))
        var out = Matrix.product(input, w, transposeB: true)
        for i in 0..<out.rows { for j in 0..<rows { out.values[i * rows + j] += parameters[bias + j] } }
        return out
    }

    /// Hidden activations and outputs for input rows.
    func forward(_ parameters: [Double], _ input: Matrix) -> (h1: Matrix, h2: Matrix, out: Matrix) {
        var h1 = dense(parameters, input, weights: w1, bias: b1, rows: hidden)
        h1.values.withUnsafeMutableBufferPointer { ionlink_tanh($0.baseAddress, $0.count) }
        var h2 = dense(parameters, h1, weights: w2, bias: b2, rows: hidden)
        h2.values.withUnsafeMutableBufferPointer { ionlink_tanh($0.baseAddress, $0.count) }
        return (h1, h2, dense(parameters, h2, weights: wo, bias: bo, rows: outputs))
    }

    private func back(_ parameters: [Double], _ input: Matrix, _ dOutput: Matrix, weights: Int, bias: Int, rows: Int,
                      gradient: inout [Double]) -> Matrix {
        let dW = Matrix.product(dOutput, input, transposeA: true)
        for k in 0..<dW.values.count { gradient[weights + k] += dW.values[k] }
        for i in 0..<dOutput.rows { for j in 0..<rows { gradient[bias + j] += dOutput[i, j] } }
        let w = Matrix(rows: rows, columns: input.columns, values: Array(parameters[weights ..< weights + rows * input.columns]))
        return Matrix.product(dOutput, w)
    }

    /// Adds ∂loss/∂weights to `gradient` given ∂loss/∂outputs; returns ∂loss/∂input.
    func backward(_ parameters: [Double], input: Matrix, h1: Matrix, h2: Matrix, dOutput: Matrix, gradient: inout [Double]) -> Matrix {
        var dH2 = back(parameters, h2, dOutput, weights: wo, bias: bo, rows: outputs, gradient: &gradient)
        for k in 0..<dH2.values.count { dH2.values[k] *= 1 - h2.values[k] * h2.values[k] }
        var dH1 = back(parameters, h1, dH2, weights: w2, bias: b2, rows: hidden, gradient: &gradient)
        for k in 0..<dH1.values.count { dH1.values[k] *= 1 - h1.values[k] * h1.values[k] }
        return back(parameters, input, dH1, weights: w1, bias: b1, rows: hidden, gradient: &gradient)
    }
}

/// Standard deviations usable as z-scoring scales: a constant column (SD 0) is left unscaled.
func nonZeroScale(_ sd: [Double]) -> [Double] { sd.map { $0 > 0 ? $0 : 1 } }

/// Rows of x z-scored column by column.
func zScored(_ x: Matrix, shift: [Double], scale: [Double]) -> Matrix {
    var c = x
    for i in 0..<c.rows { for j in 0..<c.columns { c[i, j] = (c[i, j] - shift[j]) / scale[j] } }
    return c
}
