import Foundation
import IonLinkCore
import Testing

@Suite struct NPYTests {
    func temporary(_ name: String) -> String { NSTemporaryDirectory() + UUID().uuidString + "-" + name }

    @Test("Round trip for every element type; header is NumPy's version 1.0 layout, 64-byte aligned",
          arguments: NPYElement.allCases)
    func roundTrip(element: NPYElement) throws {
        let path = temporary("a.npy")
        defer { unlink(path) }
        let values: [Double] = element == .bool ? [1, 0, 1, 1, 0, 0] : [1, 0, 3, 4, 5, 127]
        try NPYWriter.write(values, shape: [2, 3], element: element, to: path)
        let read = try NPYArray.read(path)
        #expect(read.shape == [2, 3])
        #expect(read.values == values)
        #expect(read.element == element)
        let data = FileManager.default.contents(atPath: path)!
        let header = try NPYHeader.decode(data, file: path)
        #expect(header.dataOffset % 64 == 0)
        #expect(String(decoding: data[10 ..< header.dataOffset], as: UTF8.self).hasSuffix("\n"))
    }

    @Test("1-d shapes are written as (n,)")
    func oneDimensional() {
        let header = NPYHeader.encode(element: .float64, shape: [7])
        #expect(String(decoding: header, as: UTF8.self).contains("'shape': (7,)"))
    }

    @Test("Truncated and foreign files give errors naming the file, never a crash")
    func malformed() throws {
        let path = temporary("b.npy")
        defer { unlink(path) }
        try NPYWriter.write([1, 2, 3, 4], shape: [4], element: .float64, to: path)
        let full = FileManager.default.contents(atPath: path)!
        for cut in [0, 5, 20, full.count - 1] {
            _ = FileManager.default.createFile(atPath: path, contents: full.prefix(cut))
            #expect { try NPYArray.read(path) } throws: { "\($0)".hasPrefix(path) }
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data("id,C\n1,2\n".utf8))
        #expect { try NPYArray.read(path) } throws: { "\($0)".contains("NumPy") }
        // Random bytes after a valid magic.
        var generator = Xoshiro256(seed: 9)
        for _ in 0..<200 {
            var bytes = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            bytes.append(contentsOf: (0..<Int(generator.next() % 200)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            _ = FileManager.default.createFile(atPath: path, contents: bytes)
            #expect(throws: InputError.self) { try NPYArray.read(path) }
        }
    }

    @Test("A shape whose byte count overflows (found by FuzzNPY: it trapped) is an error naming the header, for whole and row reads")
    func overflowingShape() throws {
        let path = temporary("huge.npy")
        defer { unlink(path) }
        for shape in ["(2583880013122808489,)", "(4294967296, 4294967296)", "(9223372036854775807, 2)"] {
            var header = Data(NPYHeader.encode(element: .int32, shape: [1]))
            let text = String(decoding: header, as: UTF8.self).replacingOccurrences(of: "(1,)", with: shape)
            header = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            let dict = String(text.drop { $0 != "{" }).trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
            header.append(contentsOf: [UInt8(dict.utf8.count & 0xff), UInt8(dict.utf8.count >> 8)])
            header.append(contentsOf: Array(dict.utf8) + [UInt8](repeating: 0, count: 64))
            _ = FileManager.default.createFile(atPath: path, contents: header)
            #expect { try NPYArray.read(path) } throws: { "\($0)".hasPrefix(path) && "\($0)".contains("too large") }
            #expect { try NPYRowReader(path: path) } throws: { "\($0)".contains("too large") }
        }
    }

    @Test("The writer leaves nothing at the destination until finish()")
    func atomic() throws {
        let path = temporary("c.npy")
        defer { unlink(path) }
        let writer = try NPYWriter(path: path, element: .float32, shape: [3])
        try writer.append([1, 2])
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(throws: InputError.self) { try writer.finish() } // only 2 of 3 values
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
