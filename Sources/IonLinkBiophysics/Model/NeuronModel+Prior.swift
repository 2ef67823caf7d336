import IonLinkCore

extension NeuronModel {
    /// Draw `index` from the uniform prior box under `seed`: the free parameters in order. The draw depends
    /// only on (seed, index), so banks made in shards or on any number of threads agree row by row.
    public func priorDraw(seed: UInt64, index: UInt64) -> [Double] {
        var generator = StreamKey.generator(seed: seed, purpose: .priorDraw, index: index)
        return parameters.map { p in p.low + (p.high - p.low) * generator.nextUniform() }
    }

    /// Checks that `row` (free parameters in order) lies in the prior box; the error names `file`, the row
    /// (1-based, as a user counts data rows) and the parameter.
    public func checkInsidePrior(_ row: [Double], rowNumber: Int, file: String, id: String? = nil) throws {
        precondition(row.count == parameters.count, "row has \(row.count) values for \(parameters.count) parameters")
        for (value, p) in zip(row, parameters) {
            let place = "row \(rowNumber)\(id.map { " (id \($0))" } ?? ""), column \(p.name.rawValue)"
            guard value.isFinite else { throw InputError(file: file, location: place, "expected a finite number, found \(value)") }
            guard value >= p.low && value <= p.high else {
                throw InputError(file: file, location: place, "\(value) \(p.name.unit) is outside the prior box [\(p.low), \(p.high)]")
            }
        }
    }

    /// The kernel's 14-slot parameter vector for free-parameter values `row`.
    func kernelVector(_ row: ArraySlice<Double>) -> [Double] {
        var vector = [Double](repeating: 0, count: ModelParameter.allCases.count)
        for (name, value) in fixed { if let p = ModelParameter(rawValue: name) { vector[p.slot] = value } }
        for (value, p) in zip(row, parameters) { vector[p.name.slot] = value }
        return vector
    }
}
