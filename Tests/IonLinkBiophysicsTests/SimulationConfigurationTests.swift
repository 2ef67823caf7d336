import Foundation
import IonLinkBiophysics
import IonLinkCore
import Testing

@Suite struct SimulationConfigurationTests {
    @Test("configs/m1.json and configs/v1.json are the paper's M1 and V1 settings")
    func shippedConfigurations() throws {
        #expect(try SimulationConfiguration.load(Fixtures.repository + "/configs/m1.json") == .paperM1)
        #expect(try SimulationConfiguration.load(Fixtures.repository + "/configs/v1.json") == .paperV1)
        let v1 = SimulationConfiguration.paperV1
        #expect(abs(v1.model.phiHay - 2.9529) < 1e-4)
        #expect(abs(v1.model.phiPospischil - 0.8466) < 1e-4)
        #expect(abs(SimulationConfiguration.paperM1.model.phiHay - 1.3954) < 1e-4)
        #expect(abs(SimulationConfiguration.paperM1.model.phiPospischil - 0.4000) < 1e-4)
        #expect(v1.protocol.sampleCount == 30_000)
        #expect(v1.model.parameterNames.last == "I")
    }

    @Test("The V1 variant's amplitude parameter drives its step: a passive cell's deflection scales with I")
    func v1AmplitudeParameter() throws {
        var v1 = try SimulationConfiguration.load(Fixtures.repository + "/configs/v1.json")
        v1.model.channels = []
        v1.protocol.noisePA = 0
        v1.protocol.durationMs = 200
        let simulator = BatchSimulator(configuration: v1, threads: 1)
        let base: [Double] = [1, 200, 10, 0, 0, 0, 0, 0, 0, -70, 500, -60, 1]
        let result = simulator.traces(parameters: base + [100] + base + [400], rowCount: 2, seed: 1)
        let n = simulator.sampleCount
        let end = n - 1 // t = 199.96 ms: the step (from 100 ms) has settled (τ = 10 ms)
        let small: Double = result.traces[end] + 70, large: Double = result.traces[n + end] + 70
        // I·R_input·(1 − e^(−t/τ)): 100 pA · 200 MΩ = 20 mV, 400 pA → 80 mV.
        let t = Double(end - v1.protocol.sampleIndex(atMs: 100)) * v1.protocol.dtMs
        let settled: Double = 1 - exp(-t / 10)
        #expect(abs(small - 20 * settled) < 1e-9)
        #expect(abs(large - 80 * settled) < 1e-9)
        #expect(result.traces[simulator.configuration.protocol.sampleIndex(atMs: 100)] == -70)
    }

    @Test("A fixed parameter (the ablation without r_SS) is taken from 'fixed'")
    func fixedParameter() throws {
        let json = """
        {"model": {"name": "M1 without r_SS", "temperature_celsius": 25, "E_Na": 69.0, "E_K": -98.4, "E_Ca": 127.2,
          "parameters": [{"name": "C", "low": 0.1, "high": 15}, {"name": "R_input", "low": 20, "high": 1000},
            {"name": "tau", "low": 0.1, "high": 70}, {"name": "gNat", "low": 0, "high": 250}, {"name": "gNa", "low": 0, "high": 100},
            {"name": "gKd", "low": 0, "high": 30}, {"name": "gM", "low": 0, "high": 3}, {"name": "gKv31", "low": 0, "high": 250},
            {"name": "gL", "low": 0, "high": 3}, {"name": "E_leak", "low": -130, "high": -50}, {"name": "tau_max", "low": 50, "high": 4000},
            {"name": "VT", "low": -90, "high": -35}],
          "fixed": {"r_SS": 1}},
         "protocol": {"dt_ms": 0.04, "duration_ms": 60, "noise_pa": 0, "steps": [{"from_ms": 20, "to_ms": 40, "current_pa": 300}]}}
        """
        let ablation = try SimulationConfiguration.decode(Data(json.utf8), file: "ablation.json")
        #expect(ablation.model.parameters.count == 12)
        let theta: [Double] = [1, 200, 10, 100, 50, 10, 1, 50, 1, -70, 500, -60]
        let withFixed = BatchSimulator(configuration: ablation, threads: 1).traces(parameters: theta, rowCount: 1, seed: 1)
        var full = Fixtures.shortM1(durationMs: 60, noisePA: 0)
        full.protocol = ablation.protocol
        let explicit = BatchSimulator(configuration: full, threads: 1).traces(parameters: theta + [1], rowCount: 1, seed: 1)
        #expect(withFixed.traces == explicit.traces)
    }

    @Test("Configuration errors name the file and the field",
          arguments: [
            (#"{"model": 3}"#, "model"),
            (#"{"model": {"name": "x", "temperature_celsius": 25, "E_Na": 69, "E_K": -98, "E_Ca": 127, "parameters": []}, "protocol": {"dt_ms": 0.04, "duration_ms": 10, "noise_pa": 0, "steps": []}}"#, "parameter C is neither"),
            (#"{"model": {"name": "x", "temperature_celsius": 25, "E_Na": 69, "E_K": -98, "E_Ca": 127, "parameters": [], "fixed": {"Cm": 1}}, "protocol": {"dt_ms": 0.04, "duration_ms": 10, "noise_pa": 0, "steps": []}}"#, "model.fixed.Cm"),
            (#"{"model": {"name": "x", "temperature_celsius": 25, "E_Na": 69, "E_K": -98, "E_Ca": 127, "parameters": []}, "protocol": {"dt_ms": -1, "duration_ms": 10, "noise_pa": 0, "steps": []}}"#, "protocol.dt_ms"),
            (#"{"model": {"name": "x", "temperature_celsius": 25, "E_Na": 69, "E_K": -98, "E_Ca": 127, "parameters": []}, "protocol": {"dt_ms": 0.04, "duration_ms": 10, "noise_pa": 0, "steps": [{"from_ms": 1, "to_ms": 5, "current_pa": "J"}]}}"#, "protocol.steps[0].current_pa"),
          ])
    func configurationErrors(json: String, expected: String) {
        do {
            _ = try SimulationConfiguration.decode(Data(json.utf8), file: "my-model.json")
            Issue.record("expected an error")
        } catch let error as InputError {
            #expect(error.description.hasPrefix("my-model.json"))
            #expect(error.description.contains(expected), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("Protocol steps land on the sample grid as in the golden traces (300 pA for k = 2500 … 17499)")
    func stepSegments() {
        let segments = StimulusProtocol.paperM1.segments
        #expect(segments.map(\.end) == [2500, 17500, 20000])
        #expect(segments.map(\.fixedPA) == [0, 300, 0])
        #expect(StimulusProtocol.paperM1.stimulusWindow == 2500..<17500)
    }
}
