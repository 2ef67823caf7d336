import Foundation
import IonLinkBiophysics
import IonLinkCore
import IonLinkTestSupport

/// Paths of the test fixtures and of repository files.
enum Fixtures {
    static var golden: String { Golden.folder }
    static var repository: String { Golden.repository }
    static func temporaryFolder() -> String { IonLinkTestSupport.temporaryFolder() }

    /// The M1 configuration with a shorter protocol (fast in debug builds): `duration` ms, step 20 ms → end − 20 ms.
    static func shortM1(durationMs: Double = 60, noisePA: Double = 10) -> SimulationConfiguration {
        var c = SimulationConfiguration.paperM1
        c.protocol.durationMs = durationMs
        c.protocol.steps = [.init(fromMs: 20, toMs: durationMs - 20, current: .picoamperes(300))]
        c.protocol.noisePA = noisePA
        return c
    }

    /// `n` prior draws of `model`, row-major.
    static func priorRows(_ model: NeuronModel, count n: Int, seed: UInt64 = 7) -> [Double] {
        (0..<n).flatMap { model.priorDraw(seed: seed, index: UInt64($0)) }
    }
}
