import Foundation
import IonLink
@testable import IonLinkPipeline
import IonLinkTestSupport
import Testing

@Suite struct RunSeedsTests {
    @Test("The check's noise seed differs from every seed used for selection and from every round's bank seed")
    func checkSeedIsFresh() {
        for seed: UInt64 in [0, 1, 2, 42, 12_345, .max] {
            let seeds = RunSeeds(seed: seed)
            let used = Set(seeds.selection + (1...10).map { seeds.bank(round: $0) })
            #expect(!used.contains(seeds.check))
            #expect(Set(seeds.selection).count == seeds.selection.count)
            #expect(seeds.bank(round: 1) == seed)
        }
    }
}

@Suite struct FitScoreTests {
    @Test("The paper's scored cells and families come from the metadata file: 955 of the 1033 shipped M1 cells")
    func scoredCellsFromMetadata() throws {
        let data = Golden.repository + "/data/m1"
        let cells = try ObservedCells.read(data + "/M1_features_X_o.csv.gz", featureNames: PaperFeatures.names)
        let families = try CellFamilies.read(data + "/m1_patchseq_meta_data.tsv.gz")
        let scored = families.scoredRows(cells.ids)
        #expect(cells.count == 1033 && scored.count == 955)
        let counts = Dictionary(grouping: scored.map { families.family(of: cells.ids[$0]) }, by: { $0 }).mapValues(\.count)
        for (family, paper) in PaperResults.mapByFamily { #expect(counts[family] == paper.cells, "\(family)") }
    }

    @Test("Scored cells and families follow any metadata file, not a fixed list")
    func scoredCellsFromOtherMetadata() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "cell_id,RNA family\nc1,Vip\nc2,low quality\nc4,Sst\n".write(toFile: folder + "/meta.csv", atomically: true, encoding: .utf8)
        let families = try CellFamilies.read(folder + "/meta.csv")
        #expect(families.scoredRows(["c1", "c2", "c3", "c4"]) == [0, 3])
        #expect(families.family(of: "c3") == "unknown")
    }

    @Test("Distances z-score by the scored cells' SD (ddof 0); an undefined simulated feature is a failure")
    func distances() {
        let observed = Matrix(rows: 4, columns: 2, values: [0, 0, 2, 2, 0, 2, 100, -100])
        let score = FitScore(observed: observed, scoredRows: [0, 1, 2])
        // SD of {0, 2, 0} = √(8/9); of {0, 2, 2} = √(8/9).
        #expect(abs(score.scale[0] - (8.0 / 9).squareRoot()) < 1e-15 && abs(score.scale[1] - (8.0 / 9).squareRoot()) < 1e-15)
        #expect(abs(score.distance(simulated: [1, 0], observed: [0, 0])! - 1 / (8.0 / 9).squareRoot()) < 1e-12)
        #expect(score.distance(simulated: [.nan, 0], observed: [0, 0]) == nil)
        let summary = FitSummary([1, nil, 3, 2])
        #expect(summary.failed == 1 && summary.mean == 2 && summary.median == 2 && abs(summary.failedPercent - 25) < 1e-12)
        let byFamily = familySummaries(families: ["Vip", "Pvalb", "Vip", "Zeta"], distances: [1, 2, nil, 4])
        #expect(byFamily.map(\.family) == ["Pvalb", "Vip", "Zeta"] && byFamily[1].summary.failed == 1)
    }
}

/// A standard normal draw (Box–Muller).
func standardNormal(_ generator: inout Xoshiro256) -> Double {
    let u = max(generator.nextUniform(), 1e-300), v = generator.nextUniform()
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
}

@Suite struct TruncatedProposalTests {
    /// Draws of a standard normal "posterior" with their exact (normalised) log-densities.
    func normalDraws(_ n: Int, dimension: Int = 1) -> Posterior.Draws {
        var generator = Xoshiro256(seed: 3)
        let values = (0..<n * dimension).map { _ in standardNormal(&generator) }
        let logProbs: [Double] = (0..<n).map { i in
            var sum = 0.0
            for v in values[i * dimension ..< (i + 1) * dimension] { sum += v * v }
            return -0.5 * sum - 0.5 * Double(dimension) * log(2 * Double.pi)
        }
        return Posterior.Draws(samples: Matrix(rows: n, columns: dimension, values: values), logProbs: logProbs, acceptance: 1)
    }

    /// The exact log-density of a standard normal, as `normalDraws` gives it.
    func normalLogDensity(_ theta: Matrix) -> [Double] {
        (0..<theta.rows).map { i in -0.5 * theta.row(i).reduce(0) { $0 + $1 * $1 } - 0.5 * Double(theta.columns) * log(2 * Double.pi) }
    }

    @Test("SIR from the posterior draws plus a wide Gaussian gives the uniform prior truncated to the high-density region")
    func uniformInsideTheRegion() {
        let draws = normalDraws(100_000)
        let threshold = draws.logProbs.sorted()[10] // the 1e-4 quantile
        let edge = (-2 * threshold - log(2 * Double.pi)).squareRoot()
        let drawn = TruncatedProposal.draw(draws, count: 50_000, quantile: 1e-4, seed: 1, index: 0, logPosterior: normalLogDensity)
        #expect(drawn.theta.values.allSatisfy { abs($0) <= edge + 1e-12 })
        // Uniform on [−edge, edge]: a quarter of the width holds a quarter of the draws (the posterior would put 38% there).
        let inner = Double(drawn.theta.values.filter { abs($0) < edge / 4 }.count) / 50_000
        #expect(abs(inner - 0.25) < 0.03, "fraction in the inner quarter: \(inner)")
        // Reproducible from (seed, index).
        let again = TruncatedProposal.draw(draws, count: 50_000, quantile: 1e-4, seed: 1, index: 0, logPosterior: normalLogDensity)
        let other = TruncatedProposal.draw(draws, count: 50_000, quantile: 1e-4, seed: 1, index: 1, logPosterior: normalLogDensity)
        #expect(drawn.theta == again.theta && drawn.theta != other.theta)
    }

    @Test("In 6 dimensions the wide Gaussian spreads the weight over many distinct draws, uniformly over the region")
    func manyDistinctDrawsInSixDimensions() {
        let d = 6
        let draws = normalDraws(2000, dimension: d)
        let threshold = draws.logProbs.sorted()[0]
        let radius = (-2 * threshold - Double(d) * log(2 * Double.pi)).squareRoot()
        let drawn = TruncatedProposal.draw(draws, count: 20_000, quantile: 1e-4, seed: 4, index: 0, logPosterior: normalLogDensity)
        // Weights 1/q on the posterior draws alone rest on a handful of rim samples.
        let rim = draws.logProbs.map { exp(threshold - $0) }
        let posteriorOnlyESS = pow(rim.reduce(0, +), 2) / rim.reduce(0) { $0 + $1 * $1 }
        #expect(drawn.effectiveSampleSize > 100 && drawn.effectiveSampleSize > 5 * posteriorOnlyESS,
                "ESS \(drawn.effectiveSampleSize) vs posterior draws alone \(posteriorOnlyESS)")
        // Uniform in the ball: the inner ball of 0.8 × the radius holds 0.8⁶ = 26% of the draws (the posterior: ~97%).
        let radii = (0..<drawn.theta.rows).map { drawn.theta.row($0).reduce(0) { $0 + $1 * $1 }.squareRoot() }
        #expect(radii.allSatisfy { $0 <= radius + 1e-9 })
        let inner = Double(radii.filter { $0 < 0.8 * radius }.count) / Double(radii.count)
        #expect(abs(inner - pow(0.8, 6)) < 0.08, "fraction inside 0.8 × the radius: \(inner)")
    }

    @Test("A second round drawn from the truncated posteriors brings the NPE-N training set nearer the observations")
    func sequentialRoundsImproveTheNeighbours() {
        // θ ~ U[−5, 5]², x = θ + N(0, 0.1²); observations at a few points; posterior of x_o ≈ N(x_o, 0.1²).
        var generator = Xoshiro256(seed: 9)
        func simulate(_ theta: Matrix) -> Matrix {
            Matrix(rows: theta.rows, columns: 2, values: theta.values.map { $0 + 0.1 * standardNormal(&generator) })
        }
        let observed = Matrix([[1, 2], [-3, 0.5], [4, -4]])
        let prior = Matrix(rows: 4000, columns: 2, values: (0..<8000).map { _ in -5 + 10 * generator.nextUniform() })
        func meanNearest(_ x: Matrix, k: Int) -> Double {
            let chosen = NeighbourSelection.select(observed: observed, validCount: x.rows, mean: [0, 0], sd: [1, 1], k: k,
                                                   features: { x.selectingRows(Array($0)) })
            let pool = x.selectingRows(chosen)
            return (0..<observed.rows).map { c in
                (0..<pool.rows).map { r in zip(pool.row(r), observed.row(c)).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot() }
                    .sorted().prefix(k).reduce(0, +) / Double(k)
            }.reduce(0, +) / Double(observed.rows)
        }
        // One round of 8000 prior simulations against 4000 prior + 4000 from the truncated posteriors.
        let oneRound = simulate(Matrix(rows: 8000, columns: 2, values: (0..<16000).map { _ in -5 + 10 * generator.nextUniform() }))
        var proposal: [Double] = []
        for c in 0..<observed.rows {
            let n = 20_000
            let values = (0..<n * 2).map { observed.values[c * 2 + $0 % 2] + 0.1 * standardNormal(&generator) }
            let logProbs: [Double] = (0..<n).map { i in
                let a = (values[2 * i] - observed[c, 0]) / 0.1, b = (values[2 * i + 1] - observed[c, 1]) / 0.1
                return -0.5 * (a * a + b * b) - log(2 * Double.pi * 0.01)
            }
            let draws = Posterior.Draws(samples: Matrix(rows: n, columns: 2, values: values), logProbs: logProbs, acceptance: 1)
            let count = 4000 / observed.rows + (c == 0 ? 4000 % observed.rows : 0)
            proposal += TruncatedProposal.draw(draws, count: count, seed: 2, index: UInt64(c)) { theta in
                (0..<theta.rows).map { i in
                    let a = (theta[i, 0] - observed[c, 0]) / 0.1, b = (theta[i, 1] - observed[c, 1]) / 0.1
                    return -0.5 * (a * a + b * b) - log(2 * Double.pi * 0.01)
                }
            }.theta.values
        }
        let secondRound = simulate(Matrix(rows: 4000, columns: 2, values: proposal))
        let twoRounds = Matrix(rows: 8000, columns: 2, values: simulate(prior).values + secondRound.values)
        let before = meanNearest(oneRound, k: 20), after = meanNearest(twoRounds, k: 20)
        #expect(after < 0.5 * before, "mean distance of the 20 nearest: one round \(before), two rounds \(after)")
    }
}

@Suite struct NPEBuilderTests {
    @Test("appendSimulations drops rows with non-finite values or θ outside the prior box and says how many")
    func dropsInvalidRows() throws {
        var npe = NPE(prior: try BoxPrior(names: ["a", "b"], low: [0, 0], high: [1, 1]), featureNames: ["x"])
        let theta = Matrix([[0.5, 0.5], [2, 0.5], [0.1, .nan], [0.2, 0.3]])
        let x = Matrix([[1], [2], [3], [.infinity]])
        #expect(npe.appendSimulations(theta: theta, x: x) == 3)
        #expect(npe.theta.rows == 1 && npe.x.rows == 1)
        #expect(throws: InputError.self) { try npe.train() }
        #expect(throws: InputError.self) { try BoxPrior(names: ["a"], low: [1], high: [0]) }
    }
}

@Suite struct StageLedgerTests {
    @Test("A stage is current only with the same key and all its outputs; keys follow settings and upstream keys")
    func ledger() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = StageLedger.key(["samples": 1000], after: ["bank"])
        #expect(key == StageLedger.key(["samples": 1000], after: ["bank"]))
        #expect(key != StageLedger.key(["samples": 2000], after: ["bank"]) && key != StageLedger.key(["samples": 1000], after: ["other"]))
        var ledger = try StageLedger(folder: folder)
        try ledger.record("posteriors", key: key)
        try "x".write(toFile: folder + "/out.csv", atomically: true, encoding: .utf8)
        let reread = try StageLedger(folder: folder)
        #expect(reread.isCurrent("posteriors", key: key, outputs: [folder + "/out.csv"]))
        #expect(!reread.isCurrent("posteriors", key: key, outputs: [folder + "/missing.csv"]))
        #expect(!reread.isCurrent("posteriors", key: StageLedger.key(["samples": 2000], after: ["bank"]), outputs: []))
    }
}

@Suite struct BestFitSelectionTests {
    /// Three cells observed from known parameter sets; each gets its true θ among perturbed candidates.
    static func setUp(_ folder: String) -> (Pipeline, ObservedCells, CandidateSet) {
        let model = SimulationConfiguration.paperM1.model
        let truths = (0..<3).map { model.priorDraw(seed: 11, index: UInt64($0)) }
        let simulation = ParameterSimulation(configuration: .paperM1, threads: 2)
        let observed = simulation.features(of: Matrix(rows: 3, columns: 13, values: truths.flatMap { $0 }), seed: 99)
        let cells = ObservedCells(file: "cells", ids: ["a", "b", "c"], featureNames: PaperFeatures.names, features: observed)
        var candidates = CandidateSet(cells: 3, perCell: 3, dimension: 13)
        for i in 0..<3 {
            let others = (0..<3).map { k in model.priorDraw(seed: 12, index: UInt64(10 * i + k)) }
            candidates.set(cell: i, map: others[0], refinedMAP: others[1],
                           samples: Matrix(rows: 3, columns: 13, values: others[2] + truths[i] + others[0]))
        }
        let inputs = RunInputs(observed: "cells", counts: "counts", metadata: nil)
        return (Pipeline(folder: folder, inputs: inputs, settings: RunSettings()), cells, candidates)
    }

    @Test("Best-fit selection is reproducible from the seed, and scored on the check seed")
    func reproducible() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (pipeline, cells, candidates) = Self.setUp(folder)
        pipeline.showProgress = false
        let score = FitScore(observed: cells.features, scoredRows: [0, 1, 2])
        for sub in ["one", "two"] { try FileManager.default.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true) }
        let checks = FitChecks(pipeline: pipeline, cells: cells, families: ["x", "x", "x"], scored: [0, 1, 2], score: score)
        let first = try checks.bestFits(candidates, to: folder + "/one")
        let second = try checks.bestFits(candidates, to: folder + "/two")
        for name in ["best_fit.csv", "best_fit_check.csv", "predictive.csv"] {
            #expect(FileManager.default.contentsEqual(atPath: folder + "/one/" + name, andPath: folder + "/two/" + name), "\(name) differs")
        }
        #expect(first.distances.map { String(describing: $0) } == second.distances.map { String(describing: $0) })
        let table = try CSVTable.read(folder + "/one/best_fit_check.csv")
        #expect(table.header.contains("candidate") && table.rows.count == 3)
    }
}

@Suite struct PosteriorFitsWriterTests {
    @Test("Cells whose flow samples mostly fell outside the prior box get advice naming the worst; cells without features do not")
    func lowAcceptance() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = try PosteriorFitsWriter(folder: folder, ids: ["fine", "leaky", "undefined"], parameterNames: ["a"], samples: 2)
        func cell(_ acceptance: Double) -> PosteriorSampler.Cell {
            PosteriorSampler.Cell(draws: Posterior.Draws(samples: Matrix(rows: 2, columns: 1, values: [0.1, 0.2]), logProbs: [0, 0], acceptance: acceptance),
                                  map: [0.1], refinedMAP: nil, complete: true)
        }
        try writer.add(0, cell(0.4))
        try writer.add(1, cell(0.002))
        try writer.add(2, nil)
        try writer.finish()
        let advice = try #require(writer.lowAcceptanceAdvice)
        #expect(advice.contains("1 of 3 cells") && advice.contains("leaky") && advice.contains("0.2%") && advice.contains("logit"), "\(advice)")
    }
}

