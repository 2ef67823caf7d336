import Foundation
import IonLinkCore
import Testing

@Suite struct GzipTests {
    /// `text` gzipped by the system's gzip.
    static func gzipped(_ text: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    @Test("Every member of a multi-member gzip file (bgzip, cat a.gz b.gz) is read, not only the first")
    func multiMember() throws {
        let first = "gene,c1\nPvalb,1\n", second = "Sst,2\nVip,3\n"
        let joined = try Self.gzipped(first) + Self.gzipped(second)
        #expect(String(decoding: try Gzip.decompress(joined, file: "x.gz"), as: UTF8.self) == first + second)
        #expect(throws: InputError.self) { try Gzip.decompress(joined.prefix(joined.count - 5), file: "x.gz") }
    }
}
