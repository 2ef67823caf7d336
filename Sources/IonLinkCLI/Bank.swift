import ArgumentParser
import Foundation
import IonLinkBiophysics
import IonLinkCore

struct Bank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and combine simulation banks.",
        subcommands: [Merge.self, Info.self]
    )

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Combine the shards of one bank (made with --shard I/N) into one bank.",
            discussion: "The result is byte-identical to the bank the same `ionlink simulate` command makes without --shard.\n  ionlink bank merge part0/ part1/ --out bank/"
        )
        @Argument(help: ArgumentHelp("The shard folders, all N of them, in any order.", valueName: "SHARD"))
        var shards: [String]
        @Option(help: ArgumentHelp("The folder of the merged bank.", valueName: "DIR"))
        var out: String
        @Flag(help: "Write into an existing folder that IonLink did not make (same-named files are overwritten).") var force = false

        func run() throws {
            try OutputFolder.prepare(out, for: "bank merge", ownFiles: ["manifest.json"], force: force)
            let manifest = try SimulationBank.merge(shards: shards, into: out)
            print("merged \(shards.count) shards into \(out): \(manifest.rows) samples, \(manifest.validCount ?? 0) valid")
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a bank: model, seed, size, completeness, files; verify its files against their checksums.",
            discussion: "Exits with an error naming the file if a file of a complete bank changed after it was made.")
        @Argument(help: ArgumentHelp("The bank folder.", valueName: "DIR"))
        var folder: String

        func run() throws {
            let m = try BankManifest.read(folder: folder)
            print("""
            bank:        \(folder) (format \(m.format) v\(m.formatVersion), IonLink \(m.ionlinkVersion))
            model:       \(m.configuration.model.name)
            protocol:    \(m.configuration.protocol.durationMs) ms at dt \(m.configuration.protocol.dtMs) ms, noise \(m.configuration.protocol.noisePA) pA
            seed:        \(m.seed)
            arithmetic:  \(m.simulationPrecision.rawValue)
            samples:     \(m.rows) (global \(m.firstIndex)…\(m.firstIndex + m.rows - 1) of \(m.count); shard \(m.shardIndex)/\(m.shardCount))
            complete:    \(m.complete ? "yes, \(m.validCount ?? 0) valid" : "no (rerun the simulate command to resume)")
            parameters:  \(m.parameterNames.joined(separator: ", "))
            """)
            if m.complete {
                for (file, what) in m.files.sorted(by: { $0.key < $1.key }) where FileManager.default.fileExists(atPath: folder + "/" + file) {
                    print("  \(file): \(what)")
                }
                let verified = try m.verifyChecksums(folder: folder)
                print("checksums:   " + (verified ? "every file as made (FNV-1a, \(m.checksums?.count ?? 0) files)" : "not recorded (this bank was made before IonLink recorded them)"))
            }
        }
    }
}
