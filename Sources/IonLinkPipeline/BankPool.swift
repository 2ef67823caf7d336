import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkInference

/// The valid simulations of one or more complete banks with features, read from disk in blocks: the pool the NPE-N
/// training set is chosen from. A simulation is valid when it stayed finite and every feature is defined (the paper's
/// training criterion).
public struct BankPool {
    public struct Member {
        public var folder: String
        public var manifest: BankManifest
        /// Rows of this bank in the pool, ascending.
        public var validRows: [Int]
    }

    public private(set) var members: [Member] = []
    public let parameterNames: [String]
    public let featureNames: [String]
    public let configuration: SimulationConfiguration
    /// Mean and SD (ddof 0) of each feature over the first bank's valid simulations: the NPE-N z-scoring.
    public private(set) var featureMean: [Double] = []
    public private(set) var featureSD: [Double] = []

    /// Opens the banks (all complete, with features, of the same model and protocol).
    public init(folders: [String]) throws {
        guard let first = folders.first else { throw InputError(file: "bank pool", "no bank given") }
        let manifests = try folders.map { try BankManifest.read(folder: $0) }
        let reference = manifests[0]
        guard let names = reference.featureNames else {
            throw InputError(file: first + "/manifest.json", "the bank has no features (rerun `ionlink simulate` without --no-features)")
        }
        parameterNames = reference.parameterNames
        featureNames = names
        configuration = reference.configuration
        for (folder, manifest) in zip(folders, manifests) {
            guard manifest.complete else {
                throw InputError(file: folder + "/manifest.json", "the bank is not complete; rerun its `ionlink simulate` command to finish it")
            }
            guard manifest.featureNames == names, manifest.configuration == reference.configuration else {
                throw InputError(file: folder + "/manifest.json", "the bank's model, protocol or features differ from those of \(first)")
            }
            let scan = try Self.scan(folder)
            members.append(Member(folder: folder, manifest: manifest, validRows: scan.rows))
            if members.count == 1 { (featureMean, featureSD) = (scan.mean, scan.sd) }
        }
        guard members[0].validRows.count >= 10 else {
            throw InputError(file: first, "only \(members[0].validRows.count) simulations have all features defined; simulate more")
        }
    }

    /// Valid simulations in the pool.
    public var count: Int { members.reduce(0) { $0 + $1.validRows.count } }

    /// One pass over a bank: its valid rows (finite simulation, all features finite) and the mean and SD (ddof 0) of
    /// each feature over them.
    static func scan(_ folder: String) throws -> (rows: [Int], mean: [Double], sd: [Double]) {
        let features = try NPYRowReader(path: folder + "/features.npy"), valid = try NPYRowReader(path: folder + "/valid.npy")
        var rows: [Int] = []
        var sum = [Double](repeating: 0, count: features.columns), squares = sum
        for start in stride(from: 0, to: features.rows, by: 65_536) {
            let range = start ..< min(features.rows, start + 65_536)
            let f = try features.read(range), v = try valid.read(range)
            for r in 0..<range.count where v.values[r] != 0 && f.row(r).allSatisfy(\.isFinite) {
                rows.append(range.lowerBound + r)
                for j in 0..<f.columns { let x = f[r, j]; sum[j] += x; squares[j] += x * x }
            }
        }
        let n = Double(rows.count)
        let mean = sum.map { $0 / n }
        return (rows, mean, zip(squares, mean).map { max(0, $0 / n - $1 * $1).squareRoot() })
    }

    /// (member, row in that bank) of each pool index in `range`, grouped by member.
    private func locate(_ indexes: [Int]) -> [(member: Int, rows: [Int], positions: [Int])] {
        var groups: [(Int, [Int], [Int])] = []
        var offset = 0, m = 0, k = 0
        let order = indexes.enumerated().sorted { $0.element < $1.element }
        while k < order.count {
            while order[k].element >= offset + members[m].validRows.count { offset += members[m].validRows.count; m += 1 }
            var rows: [Int] = [], positions: [Int] = []
            while k < order.count && order[k].element < offset + members[m].validRows.count {
                rows.append(members[m].validRows[order[k].element - offset]); positions.append(order[k].offset); k += 1
            }
            groups.append((m, rows, positions))
        }
        return groups
    }

    /// The features of pool entries `indexes` (rows × features, in the order given).
    public func features(_ indexes: [Int]) throws -> Matrix { try gather(indexes, file: "features.npy", columns: featureNames.count) }

    /// The parameters of pool entries `indexes`.
    public func theta(_ indexes: [Int]) throws -> Matrix { try gather(indexes, file: "theta.npy", columns: parameterNames.count) }

    private func gather(_ indexes: [Int], file: String, columns: Int) throws -> Matrix {
        var out = Matrix(rows: indexes.count, columns: columns)
        for group in locate(indexes) {
            let block = try Self.rows(try NPYRowReader(path: members[group.member].folder + "/" + file), group.rows)
            for (i, position) in group.positions.enumerated() {
                for j in 0..<columns { out[position, j] = block[i, j] }
            }
        }
        return out
    }

    /// θ of `count` simulations drawn uniformly, with replacement, from every row of every bank (valid or not): draws
    /// from the proposal of the rounds together, which APT's atoms must follow. In ascending order of bank and row.
    public func proposalDraws(_ count: Int, seed: UInt64) throws -> Matrix {
        let readers = try members.map { try NPYRowReader(path: $0.folder + "/theta.npy") }
        let total = readers.reduce(0) { $0 + $1.rows }
        var generator = StreamKey.generator(seed: seed, purpose: .proposal, index: 0)
        let picks = (0..<count).map { _ in Int(generator.next() % UInt64(total)) }.sorted()
        var values: [Double] = [], offset = 0, k = 0
        for reader in readers {
            var rows: [Int] = []
            while k < picks.count && picks[k] < offset + reader.rows { rows.append(picks[k] - offset); k += 1 }
            values += try Self.rows(reader, rows).values
            offset += reader.rows
        }
        return Matrix(rows: count, columns: parameterNames.count, values: values)
    }

    /// The NPE-N training set: the k nearest pool simulations of each observed row (features z-scored by the first
    /// bank's valid simulations), de-duplicated; returns pool indexes, ascending.
    /// Under MPI (`ranks`) each rank scans its share of the blocks and every rank gets the same, exact result.
    public func nearest(to observed: Matrix, k: Int, ranks: Ranks? = nil, progress: ((Int) -> Void)? = nil) throws -> [Int] {
        try NeighbourSelection.select(observed: observed, validCount: count, mean: featureMean, sd: featureSD.map { $0 > 0 ? $0 : 1 }, k: k,
                                      ranks: ranks, features: { (range: Range<Int>) in try self.features(Array(range)) }, progress: progress)
    }

    /// The rows at ascending `indexes`, read in contiguous blocks.
    static func rows(_ reader: NPYRowReader, _ indexes: [Int]) throws -> Matrix {
        var values: [Double] = []
        values.reserveCapacity(indexes.count * reader.columns)
        var k = 0
        while k < indexes.count {
            var end = k
            while end + 1 < indexes.count && indexes[end + 1] - indexes[k] < 65_536 { end += 1 }
            let block = try reader.read(indexes[k] ..< indexes[end] + 1)
            for i in k...end { values += block.row(indexes[i] - indexes[k]) }
            k = end + 1
        }
        return Matrix(rows: indexes.count, columns: reader.columns, values: values)
    }
}
