import Foundation
import IonLinkBiophysics
import IonLinkCore
import Testing

@Suite struct SimulationBankTests {
    static let files = ["manifest.json", "theta.npy", "valid.npy", "spike_count.npy", "traces.npy"]
    let configuration = Fixtures.shortM1(durationMs: 50)

    func bytes(_ folder: String) -> [String: Data] {
        Dictionary(uniqueKeysWithValues: Self.files.compactMap { f in FileManager.default.contents(atPath: folder + "/" + f).map { (f, $0) } })
    }

    /// The test bank (45 samples, seed 3, chunks of 10, 12 traces kept) in `folder`, not yet made.
    func bank(_ folder: String, threads: Int = 2, shard: Int = 0, of shards: Int = 1) throws -> SimulationBank {
        try SimulationBank(folder: folder, configuration: configuration, count: 45, seed: 3, shard: shard, of: shards,
                           chunkSize: 10, keptTraces: 12, threads: threads, showProgress: false)
    }

    func make(_ folder: String, threads: Int, shard: Int = 0, of shards: Int = 1) throws -> BankManifest {
        try bank(folder, threads: threads, shard: shard, of: shards).make()
    }

    @Test("A bank is the same on 1 and 2 threads, and its files are what the manifest says")
    func threadsAndLayout() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manifest = try make(root + "/one", threads: 1)
        _ = try make(root + "/two", threads: 2)
        #expect(bytes(root + "/one") == bytes(root + "/two"))
        #expect(bytes(root + "/one").count == 5)
        #expect(manifest.complete && manifest.rows == 45)
        #expect(!FileManager.default.fileExists(atPath: root + "/one/chunks"))
        let theta = try NPYArray.read(root + "/one/theta.npy")
        #expect(theta.shape == [45, 13])
        #expect(Array(theta.values[13 ..< 26]) == configuration.model.priorDraw(seed: 3, index: 1))
        #expect(try NPYArray.read(root + "/one/traces.npy").shape == [12, 1250])
        #expect(try NPYArray.read(root + "/one/valid.npy").values.allSatisfy { $0 == 1 })
        // Kept traces are the simulations of the first rows.
        let direct = BatchSimulator(configuration: configuration, threads: 2).traces(parameters: Array(theta.values[0 ..< 13 * 12]), rowCount: 12, seed: 3)
        let kept = try NPYArray.read(root + "/one/traces.npy").values
        #expect(zip(kept, direct.traces).allSatisfy { Float($0.1) == Float($0.0) })
    }

    @Test("Shards merged are byte-identical to the unsharded bank")
    func shardsMerge() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/whole", threads: 2)
        for i in 0..<3 { _ = try make(root + "/part\(i)", threads: 1, shard: i, of: 3) }
        try SimulationBank.merge(shards: [root + "/part2", root + "/part0", root + "/part1"], into: root + "/merged")
        #expect(bytes(root + "/merged") == bytes(root + "/whole"))
        #expect { try SimulationBank.merge(shards: [root + "/part0", root + "/part1"], into: root + "/bad") } throws: {
            "\($0)".contains("expected shards 0…2")
        }
    }

    @Test("An interrupted bank resumes from its complete chunks and ends identical; leftovers are ignored")
    func resume() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/whole", threads: 2)
        let partial = try bank(root + "/resumed").make(maxChunks: 2)
        #expect(!partial.complete)
        // Debris of a chunk killed while being written.
        try FileManager.default.createDirectory(atPath: root + "/resumed/chunks/000003.partial-999", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: root + "/resumed/chunks/000003.partial-999/theta.npy", contents: Data([1, 2, 3]))
        #expect(BankManifestProbe.completeFiles(root + "/resumed") == false)
        _ = try make(root + "/resumed", threads: 1)
        #expect(bytes(root + "/resumed") == bytes(root + "/whole"))
    }

    @Test("A chunk truncated after it was written is made again; a second writer and a merge into a shard are refused")
    func damagedChunkAndWriters() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/whole", threads: 2)
        let open = { try bank(root + "/bank") }
        _ = try open().make(maxChunks: 2)
        let theta = root + "/bank/chunks/000001/theta.npy"
        let data = try #require(FileManager.default.contents(atPath: theta))
        _ = FileManager.default.createFile(atPath: theta, contents: data.prefix(data.count - 40))
        // A second writer while the first holds the bank.
        let holder = try WriterLockProbe.hold(root + "/bank")
        #expect { try open().make() } throws: { "\($0)".contains("another ionlink process is writing this bank") }
        holder.release()
        _ = try open().make()
        #expect(bytes(root + "/bank") == bytes(root + "/whole"))
        for i in 0..<2 { _ = try make(root + "/part\(i)", threads: 1, shard: i, of: 2) }
        #expect { try SimulationBank.merge(shards: [root + "/part0", root + "/part1"], into: root + "/part1/") } throws: {
            "\($0)".contains("cannot be written into one of its shards")
        }
    }

    @Test("A byte flipped in a finished chunk fails its checksum and the chunk is made again; one flipped in a complete shard is named, and refused by merge")
    func checksums() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/whole", threads: 2)
        let open = { try bank(root + "/bank") }
        _ = try open().make(maxChunks: 3)
        func flip(_ path: String) throws {
            var data = try #require(FileManager.default.contents(atPath: path))
            data[data.count - 5] ^= 0x10    // a byte of the last value: the shape and size stay right
            _ = FileManager.default.createFile(atPath: path, contents: data)
        }
        try flip(root + "/bank/chunks/000001/theta.npy")
        _ = try open().make()
        #expect(bytes(root + "/bank") == bytes(root + "/whole"), "the damaged chunk was used")
        let manifest = try BankManifest.read(folder: root + "/whole")
        #expect(try manifest.verifyChecksums(folder: root + "/whole"))
        #expect(manifest.checksums?.keys.sorted() == ["spike_count.npy", "theta.npy", "traces.npy", "valid.npy"])
        for i in 0..<2 { _ = try make(root + "/part\(i)", threads: 1, shard: i, of: 2) }
        try flip(root + "/part1/valid.npy")
        #expect { try BankManifest.read(folder: root + "/part1").verifyChecksums(folder: root + "/part1") } throws: {
            "\($0)".contains("part1/valid.npy") && "\($0)".contains("checksum mismatch")
        }
        #expect { try SimulationBank.merge(shards: [root + "/part0", root + "/part1"], into: root + "/merged") } throws: {
            "\($0)".contains("checksum mismatch")
        }
    }

    @Test("A manifest whose sizes do not hang together is refused, naming the field (no trap on huge or negative values)",
          arguments: [("\"rows\" : 45", "\"rows\" : 9223372036854775807", "rows"), ("\"first_index\" : 0", "\"first_index\" : -3", "rows"),
                      ("\"chunk_size\" : 10", "\"chunk_size\" : 0", "chunk_size"), ("\"shard_index\" : 0", "\"shard_index\" : 7", "shard_index")])
    func damagedManifest(original: String, damaged: String, field: String) throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/bank", threads: 1)
        let path = root + "/bank/manifest.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(original))
        try text.replacingOccurrences(of: original, with: damaged).write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try BankManifest.read(folder: root + "/bank") } throws: { "\($0)".contains("manifest.json") && "\($0)".contains(field) }
    }

    @Test("Rerunning with other settings into a bank folder is refused with a clear message")
    func mismatch() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        _ = try make(root + "/bank", threads: 1)
        #expect {
            try SimulationBank(folder: root + "/bank", configuration: configuration, count: 45, seed: 4, chunkSize: 10,
                               keptTraces: 12, showProgress: false)
        } throws: { "\($0)".contains("other settings") && "\($0)".contains("manifest.json") }
    }

    @Test("A float32 bank records its arithmetic, holds the float32 kernel's traces, and is not resumed as float64")
    func float32Bank() throws {
        let root = Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manifest = try SimulationBank(folder: root + "/bank", configuration: configuration, count: 20, seed: 3, chunkSize: 10,
                                          keptTraces: 4, precision: .float32, threads: 2, showProgress: false).make()
        #expect(manifest.simulationPrecision == .float32)
        #expect(try BankManifest.read(folder: root + "/bank").precision == .float32)
        #expect(try String(contentsOfFile: root + "/bank/manifest.json", encoding: .utf8).contains("\"precision\" : \"float32\""))
        let theta = try NPYArray.read(root + "/bank/theta.npy")
        let direct = BatchSimulator(configuration: configuration, precision: .float32, threads: 1)
            .traces(parameters: Array(theta.values[0 ..< 13 * 4]), rowCount: 4, seed: 3)
        #expect(try NPYArray.read(root + "/bank/traces.npy").values.elementsEqual(direct.traces.map { Double(Float($0)) }))
        #expect {
            try SimulationBank(folder: root + "/bank", configuration: configuration, count: 20, seed: 3, chunkSize: 10,
                               keptTraces: 4, showProgress: false)
        } throws: { "\($0)".contains("other settings") && "\($0)".contains("float32") }
        // A float64 bank's manifest has no precision field: banks made before float32 existed read the same.
        _ = try make(root + "/reference", threads: 1)
        #expect(try !String(contentsOfFile: root + "/reference/manifest.json", encoding: .utf8).contains("precision"))
    }
}

enum BankManifestProbe {
    /// Whether the consolidated files of a bank exist.
    static func completeFiles(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/theta.npy")
    }
}

/// Holds a bank's writer lock as another process would (flock on `.writer.lock`, from another file description).
enum WriterLockProbe {
    final class Held {
        let descriptor: Int32
        init(_ descriptor: Int32) { self.descriptor = descriptor }
        func release() { flock(descriptor, LOCK_UN); close(descriptor) }
    }

    static func hold(_ folder: String) throws -> Held {
        let descriptor = open(folder + "/.writer.lock", O_CREAT | O_RDWR, 0o644)
        try #require(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        return Held(descriptor)
    }
}
