import Foundation
import IonLink
@testable import IonLinkPipeline
import IonLinkTestSupport
import Testing

/// A lab's own recordings: the NWB layout fixtures (golden theta1 and theta2 at 300 pA, 20 and 16 spikes).
@Suite struct RecordedCellsTests {
    static let layouts = Golden.repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/layouts"
    static let broken = Golden.repository + "/Tests/IonLinkElectrophysiologyTests/Fixtures/latest.nwb"

    @Test("Every NWB layout gives its cell (id from session_id), the same 23 features; a bad file is left out with its error")
    func extract() throws {
        let files = try RecordedCells.files(in: [Self.layouts, Self.broken])
        #expect(files.count == 6)
        let recorded = RecordedCells.extract(files, settings: RecordedCells.Settings(), threads: 2)
        #expect(recorded.cells.ids == ["cell-conversion", "cell-dandi000008", "cell-icephys", "cell-icephys_crossed", "cell-mies"])
        #expect(recorded.leftOut.count == 1 && recorded.leftOut[0].file == Self.broken && recorded.leftOut[0].reason.hasPrefix("unreadable"))
        // The first 300 pA sweep of each is theta1: the same features whatever the layout.
        let first = recorded.cells.features.row(0)
        #expect(first.filter(\.isFinite).count == 23)
        for r in 1..<recorded.cells.count {
            let row = recorded.cells.features.row(r)
            let close = zip(row, first).filter { abs($0 - $1) <= 1e-3 * max(1, abs($1)) }.count
            #expect(close == 23, "\(recorded.cells.ids[r]): \(row) vs \(first)")
        }
        #expect(recorded.notes.contains { $0.contains("dandi000008.nwb") && $0.contains("millivolts") })
        // Written as run reads them.
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try recorded.write(to: folder)
        let back = try ObservedCells.read(folder + "/observed.csv", featureNames: PaperFeatures.names)
        #expect(back.ids == recorded.cells.ids && back.features.values == recorded.cells.features.values)
        #expect(try String(contentsOfFile: folder + "/left_out.csv", encoding: .utf8).contains("latest.nwb"))
    }

    @Test("Cells without a step at the target, or with too few spikes there, are left out with the reason")
    func reasons() throws {
        let files = try RecordedCells.files(in: [Self.layouts + "/mies.nwb"])
        var settings = RecordedCells.Settings()
        settings.targetPA = 50
        let noStep = RecordedCells.extract(files, settings: settings)
        #expect(noStep.cells.count == 0 && noStep.leftOut.first?.reason == "no step within 15 pA of 50 pA (steps: 300)")
        settings = RecordedCells.Settings()
        settings.minimumSpikes = 25
        let fewSpikes = RecordedCells.extract(files, settings: settings)
        #expect(fewSpikes.leftOut.first?.reason == "20 spikes at 300 pA (fewer than 25)")
        #expect(throws: InputError.self) { try RecordedCells.files(in: [Self.layouts + "/missing"]) }
    }

    @Test("A run on recordings refuses a model simulated under another current than the target")
    func protocolMustMatchTarget() throws {
        var settings = RecordedCells.Settings()
        settings.targetPA = 100
        #expect { try RunInputs.recorded([], counts: "x", metadata: nil, configuration: .paperM1, configurationName: "m1",
                                         settings: settings, folder: temporaryFolder()) } throws: { error in
            "\(error)".contains("100.0 pA")
        }
    }

    @Test("The V1 rule takes the highest-current step that fires; sweeps.csv names it; a fixed-current model refuses the rule")
    func highestRule() throws {
        let files = try RecordedCells.files(in: [Self.layouts + "/mies.nwb"])
        var settings = RecordedCells.Settings()
        settings.sweep = .highest
        let highest = RecordedCells.extract(files, settings: settings)
        let target = RecordedCells.extract(files, settings: RecordedCells.Settings())
        #expect(highest.sweeps == [RecordedCells.Chosen(sweep: 0, currentPA: 300, spikes: 20)])
        #expect(highest.cells.features.values.map { String(describing: $0) } == target.cells.features.values.map { String(describing: $0) })
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try highest.write(to: folder)
        #expect(try String(contentsOfFile: folder + "/sweeps.csv", encoding: .utf8).contains("cell-mies,"))
        #expect { try RunInputs.recorded(files, counts: "x", metadata: nil, configuration: .paperM1, configurationName: "m1",
                                         settings: settings, folder: folder) } throws: { "\($0)".contains("current as a parameter") }
        // The V1 model takes the current as its 14th parameter: the rule passes the protocol check (and stops at the
        // missing counts file).
        #expect { try RunInputs.recorded(files, counts: folder + "/missing.csv", metadata: nil, configuration: .paperV1, configurationName: "v1",
                                         settings: settings, folder: folder) } throws: { "\($0)".contains("missing.csv") }
    }
}
