import Foundation
import IonLinkBiophysics
import IonLinkCore
import Testing

/// The fused C kernel against the scalar reference composed from the `IonChannel` definitions.
@Suite struct ReferenceSimulatorTests {
    /// The largest |ΔV| (mV) between the kernel and the reference over `count` prior draws (before the first
    /// step of current, and over the whole trace), and the number of those draws that spike; validity flags
    /// must agree.
    func largestDifference(_ configuration: SimulationConfiguration, count: Int = 16) -> (beforeStep: Double, difference: Double, spiking: Int) {
        let rows = Fixtures.priorRows(configuration.model, count: count)
        let kernel = BatchSimulator(configuration: configuration, threads: 2).traces(parameters: rows, rowCount: count, seed: 3)
        let reference = ReferenceSimulator(configuration: configuration)
        let free = configuration.model.parameters.count
        let n = configuration.protocol.sampleCount
        let stepOn = configuration.protocol.segments[0].end
        var largest = 0.0, beforeStep = 0.0, spiking = 0
        for i in 0..<count {
            let expected = reference.trace(parameters: Array(rows[i * free ..< (i + 1) * free]), seed: 3, index: UInt64(i))
            #expect(kernel.valid[i] == expected.valid, "draw \(i): validity")
            guard expected.valid else { continue }
            let ours = kernel.traces[i * n ..< (i + 1) * n]
            let differences = zip(ours, expected.trace).map { abs($0 - $1) }
            largest = max(largest, differences.max()!)
            beforeStep = max(beforeStep, differences[..<stepOn].max()!)
            if expected.trace.contains(where: { $0 > 0 }) { spiking += 1 }
        }
        return (beforeStep, largest, spiking)
    }

    @Test("Kernel equals the reference: the M1 model on prior draws")
    func paperModel() {
        let result = largestDifference(Fixtures.shortM1(durationMs: 120))
        #expect(result.spiking >= 3)
        #expect(result.beforeStep <= 1e-11 && result.difference <= 1e-9, "\(result)")
    }

    @Test("Kernel equals the reference with each channel switched off", arguments: Channel.allCases)
    func channelOff(_ off: Channel) {
        var configuration = Fixtures.shortM1(durationMs: 120)
        configuration.model.channels.removeAll { $0 == off }
        let result = largestDifference(configuration)
        #expect(result.beforeStep <= 1e-11 && result.difference <= 1e-9, "\(result)")
    }

    @Test("Kernel equals the reference with r_SS fixed, and on the V1 model (amplitude parameter, 34 °C)")
    func variants() {
        var fixedRSS = Fixtures.shortM1(durationMs: 120)
        fixedRSS.model.parameters.removeAll { $0.name == .r_SS }
        fixedRSS.model.fixed = ["r_SS": 1]
        var v1 = SimulationConfiguration.paperV1
        v1.protocol.durationMs = 120
        v1.protocol.steps = [.init(fromMs: 20, toMs: 100, current: .amplitudeParameter)]
        for configuration in [fixedRSS, v1] {
            let result = largestDifference(configuration)
            #expect(result.beforeStep <= 1e-11 && result.difference <= 1e-9, "\(result)")
        }
    }
}
