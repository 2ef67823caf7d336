import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkElectrophysiology
import Testing

@Suite struct PrecisionComparisonTests {
    @Test("float32 against float64 on 192 noisy prior draws of the paper protocol: spike counts equal on ≥ 99%, every feature's distribution the same")
    func float32MatchesFloat64() {
        let model = SimulationConfiguration.paperM1.model
        let rows = 192
        let theta = Matrix(rows: rows, columns: model.parameters.count,
                           values: (0..<rows).flatMap { model.priorDraw(seed: 2, index: UInt64($0)) })
        let comparison = PrecisionComparison.measure(configuration: .paperM1, theta: theta, seed: 2, threads: 2)
        #expect(comparison.samples == rows)
        #expect(comparison.equalSpikeCountFraction >= 0.99, "\(comparison.equalSpikeCounts) of \(rows)")
        #expect(comparison.validityDiffers == 0)
        #expect(comparison.features.count == PaperFeatures.count)
        for feature in comparison.features {
            #expect(feature.pValue > 0.5, "\(feature.name): KS D = \(feature.ksStatistic), p = \(feature.pValue)")
            #expect(abs(feature.defined.float64 - feature.defined.float32) <= 2, "\(feature.name)")
            #expect(feature.medianDifference < 1e-3, "\(feature.name): median |Δ| = \(feature.medianDifference) SD")
        }
    }

    @Test("A sample whose spike count differs, or that is valid in one arithmetic only, is counted; identical matrices agree fully")
    func counting() {
        let rows = 4, columns = PaperFeatures.count
        var values = [Double]()
        for i in 0..<rows { values += (0..<columns).map { Double(i * columns + $0) / 100 } }
        let apCount = PaperFeatures.Index.apCount.rawValue, rest = PaperFeatures.Index.restMean.rawValue
        for i in 0..<rows { values[i * columns + apCount] = log(Double(3 + i)) }
        let reference = Matrix(rows: rows, columns: columns, values: values)
        var changed = values
        changed[1 * columns + apCount] = log(5.0)   // 1 spike → 2
        for j in 0..<columns { changed[3 * columns + j] = .nan }   // sample 3 non-finite in float32
        let same = PrecisionComparison(reference: reference, single: reference, seconds: (1, 1))
        #expect(same.equalSpikeCounts == rows && same.validityDiffers == 0)
        #expect(same.features.allSatisfy { $0.ksStatistic == 0 && $0.medianDifference == 0 })
        let different = PrecisionComparison(reference: reference, single: Matrix(rows: rows, columns: columns, values: changed), seconds: (1, 1))
        #expect(different.equalSpikeCounts == 2)
        #expect(different.validityDiffers == 1)
        #expect(different.features[rest].defined == (float64: 4, float32: 3))
    }
}
