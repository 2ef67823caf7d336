import Foundation

/// Element types IonLink reads and writes in NumPy `.npy` files (little-endian, C order).
public enum NPYElement: String, Sendable, CaseIterable {
    case float64 = "<f8"
    case float32 = "<f4"
    case int64 = "<i8"
    case int32 = "<i4"
    case uint8 = "|u1"
    case bool = "|b1"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .uint8, .bool: 1
        }
    }
}

/// The header of a `.npy` file (format version 1.0 or 2.0).
public struct NPYHeader: Equatable, Sendable {
    public var element: NPYElement
    public var shape: [Int]
    /// Offset of the first data byte.
    public var dataOffset: Int
    /// Whether the values are stored column-major (NumPy `fortran_order`).
    public var fortranOrder = false

    public var count: Int { shape.reduce(1, *) }

    /// The header bytes for `element` and `shape`, padded to a multiple of 64 bytes (version 1.0).
    public static func encode(element: NPYElement, shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(element.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(dict.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(dict.utf8))
        return data
    }

    /// Parses the header at the start of `bytes`; `file` names the file in errors.
    public static func decode(_ bytes: Data, file: String) throws -> NPYHeader {
        let b = [UInt8](bytes.prefix(12))
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else {
            throw InputError(file: file, location: "header", "expected a NumPy .npy file (magic \\x93NUMPY), found something else")
        }
        let major = b[6]
        let headerLength: Int
        let start: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8
            start = 10
        case 2, 3:
            guard b.count >= 12 else { throw InputError(file: file, location: "header", "file ends inside the header") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        default:
            throw InputError(file: file, location: "header", "unsupported .npy format version \(major)")
        }
        guard bytes.count >= start + headerLength else {
            throw InputError(file: file, location: "header", "file ends inside the header (needs \(start + headerLength) bytes, has \(bytes.count))")
        }
        let text = String(decoding: bytes[bytes.startIndex + start ..< bytes.startIndex + start + headerLength], as: UTF8.self)
        func value(of key: String) -> String? {
            guard let range = text.range(of: "'\(key)':") else { return nil }
            return String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrPart = value(of: "descr"), let quote = descrPart.first, quote == "'" || quote == "\"" else {
            throw InputError(file: file, location: "header", "no 'descr' entry")
        }
        let descr = String(descrPart.dropFirst().prefix { $0 != quote })
        let normalised = descr == "<b1" ? "|b1" : (descr == "<u1" ? "|u1" : descr)
        guard let element = NPYElement(rawValue: normalised) else {
            throw InputError(file: file, location: "header", "unsupported element type '\(descr)' (expected one of \(NPYElement.allCases.map(\.rawValue).joined(separator: ", ")), little-endian)")
        }
        let fortranOrder = value(of: "fortran_order")?.hasPrefix("True") ?? false
        guard let shapePart = value(of: "shape"), shapePart.first == "(", let close = shapePart.firstIndex(of: ")") else {
            throw InputError(file: file, location: "header", "no 'shape' entry")
        }
        let inner = shapePart[shapePart.index(after: shapePart.startIndex)..<close]
        var shape: [Int] = []
        for piece in inner.split(separator: ",") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else {
                throw InputError(file: file, location: "header", "shape entry '\(trimmed)' is not a non-negative integer")
            }
            shape.append(n)
        }
        // The data's size in bytes must be a number at all: a damaged shape such as (2583880013122808489,) of int32
        // overflows it (FuzzNPY found the trap).
        var bytesNeeded = element.size
        for n in shape {
            let (product, overflow) = bytesNeeded.multipliedReportingOverflow(by: n)
            guard !overflow else {
                throw InputError(file: file, location: "header", "shape \(shape) of \(element.rawValue) is too large to be a file's data (damaged header?)")
            }
            bytesNeeded = product
        }
        guard bytesNeeded <= Int.max / 2 else {
            throw InputError(file: file, location: "header", "shape \(shape) of \(element.rawValue) is too large to be a file's data (damaged header?)")
        }
        return NPYHeader(element: element, shape: shape, dataOffset: start + headerLength, fortranOrder: fortranOrder)
    }
}

/// An array read from a `.npy` file, converted to `Double`.
public struct NPYArray: Sendable {
    public var shape: [Int]
    /// The element type stored in the file.
    public var element: NPYElement
    /// The values in C order.
    public var values: [Double]

    public init(shape: [Int], element: NPYElement, values: [Double]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.element = element
        self.values = values
    }

    /// Reads the whole file at `path`.
    public static func read(_ path: String) throws -> NPYArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the file (does it exist?)")
        }
        let header = try NPYHeader.decode(data, file: path)
        let needed = header.count * header.element.size
        guard data.count - header.dataOffset >= needed else {
            throw InputError(file: path, "truncated: shape \(header.shape) needs \(needed) data bytes, the file has \(data.count - header.dataOffset)")
        }
        let values: [Double] = data.withUnsafeBytes { raw in
            let base = raw.baseAddress!.advanced(by: header.dataOffset)
            return (0..<header.count).map { i in
                let p = base.advanced(by: i * header.element.size)
                switch header.element {
                case .float64: return Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
                case .float32: return Double(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))))
                case .int64: return Double(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                case .int32: return Double(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                case .uint8, .bool: return Double(p.load(as: UInt8.self))
                }
            }
        }
        guard header.fortranOrder, header.shape.count > 1 else {
            return NPYArray(shape: header.shape, element: header.element, values: values)
        }
        // Column-major on disk: reorder to C order.
        let shape = header.shape
        var strides = [Int](repeating: 1, count: shape.count)
        for d in 1..<shape.count { strides[d] = strides[d - 1] * shape[d - 1] }
        var reordered = [Double](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in 0..<values.count {
            var offset = 0
            for d in 0..<shape.count { offset += index[d] * strides[d] }
            reordered[position] = values[offset]
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return NPYArray(shape: shape, element: header.element, values: reordered)
    }
}

/// Streams rows into a `.npy` file whose row count is known in advance; the file appears at its path
/// only after `finish()` (written to a temporary file, then renamed).
public final class NPYWriter {
    public let path: String
    public let element: NPYElement
    public let shape: [Int]
    private let temporary: String
    private let handle: FileHandle
    private var written = 0
    private var buffer = Data()

    /// Opens a writer for an array of `shape` (first dimension = rows).
    public init(path: String, element: NPYElement, shape: [Int]) throws {
        self.path = path
        self.element = element
        self.shape = shape
        temporary = AtomicFile.temporaryPath(for: path)
        guard FileManager.default.createFile(atPath: temporary, contents: NPYHeader.encode(element: element, shape: shape)),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw InputError(file: path, "cannot create the file (does its folder exist and is it writable?)")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Appends values (C order), converting to the file's element type.
    public func append(_ values: some Collection<Double>) throws {
        buffer.reserveCapacity(buffer.count + values.count * element.size)
        for v in values {
            switch element {
            case .float64: withUnsafeBytes(of: v.bitPattern.littleEndian) { buffer.append(contentsOf: $0) }
            case .float32: withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { buffer.append(contentsOf: $0) }
            case .int64: withUnsafeBytes(of: Int64(v).littleEndian) { buffer.append(contentsOf: $0) }
            case .int32: withUnsafeBytes(of: Int32(v).littleEndian) { buffer.append(contentsOf: $0) }
            case .uint8, .bool: buffer.append(UInt8(v))
            }
        }
        written += values.count
        if buffer.count >= 1 << 22 { try flush() }
    }

    /// Appends raw little-endian bytes already in the file's element type (e.g. copied from another .npy).
    public func appendRaw(_ bytes: Data) throws {
        precondition(bytes.count % element.size == 0, "raw bytes are not whole elements")
        try flush()
        try handle.write(contentsOf: bytes)
        written += bytes.count / element.size
    }

    private func flush() throws {
        if !buffer.isEmpty { try handle.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
    }

    /// Checks the element count, closes the file and moves it into place.
    public func finish() throws {
        try flush()
        try handle.close()
        let expected = shape.reduce(1, *)
        guard written == expected else {
            unlink(temporary)
            throw InputError(file: path, "internal: wrote \(written) values for shape \(shape) (\(expected))")
        }
        guard rename(temporary, path) == 0 else {
            throw InputError(file: path, "cannot move the finished file into place")
        }
    }

    /// Abandons the file (removes the temporary).
    public func cancel() {
        try? handle.close()
        unlink(temporary)
    }

    /// Writes a whole array in one go.
    public static func write(_ values: [Double], shape: [Int], element: NPYElement, to path: String) throws {
        let writer = try NPYWriter(path: path, element: element, shape: shape)
        do { try writer.append(values); try writer.finish() } catch { writer.cancel(); throw error }
    }
}

/// Reads rows of a 2-d (or 1-d) `.npy` file without loading it whole.
public final class NPYRowReader {
    public let path: String
    public let header: NPYHeader
    private let handle: FileHandle

    public init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else { throw InputError(file: path, "cannot read the file (does it exist?)") }
        self.handle = handle
        let head = try handle.read(upToCount: 65_536) ?? Data()
        header = try NPYHeader.decode(head, file: path)
        guard !header.fortranOrder else { throw InputError(file: path, "Fortran-ordered arrays cannot be read in rows; save with np.ascontiguousarray") }
        let size = try handle.seekToEnd()
        let needed = UInt64(header.dataOffset + header.count * header.element.size)
        guard size >= needed else { throw InputError(file: path, "truncated: shape \(header.shape) needs \(needed) bytes, the file has \(size)") }
    }

    deinit { try? handle.close() }

    public var rows: Int { header.shape.first ?? 1 }
    public var columns: Int { header.shape.count > 1 ? header.shape.dropFirst().reduce(1, *) : 1 }

    /// Rows `range` as a matrix of doubles.
    public func read(_ range: Range<Int>) throws -> Matrix {
        let c = columns, size = header.element.size
        try handle.seek(toOffset: UInt64(header.dataOffset + range.lowerBound * c * size))
        guard let data = try handle.read(upToCount: range.count * c * size), data.count == range.count * c * size else {
            throw InputError(file: path, "truncated while reading rows \(range)")
        }
        let values: [Double] = data.withUnsafeBytes { raw in
            (0..<(range.count * c)).map { i in
                switch header.element {
                case .float64: return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
                case .float32: return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
                case .int64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
                case .int32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
                case .uint8, .bool: return Double(raw[i])
                }
            }
        }
        return Matrix(rows: range.count, columns: c, values: values)
    }
}

extension NPYWriter {
    /// Writes the rows of `parts` (each a `.npy` of `element`) one after another into `destination`,
    /// checking that they add up to `shape`. Copies raw bytes in blocks.
    public static func concatenate(_ parts: [String], into destination: String, element: NPYElement, shape: [Int]) throws {
        let writer = try NPYWriter(path: destination, element: element, shape: shape)
        do {
            for part in parts {
                guard let handle = FileHandle(forReadingAtPath: part) else { throw InputError(file: part, "cannot read the file") }
                defer { try? handle.close() }
                let head = try handle.read(upToCount: 4096) ?? Data()
                let header = try NPYHeader.decode(head, file: part)
                guard header.element == element, Array(header.shape.dropFirst()) == Array(shape.dropFirst()) else {
                    throw InputError(file: part, "expected \(element.rawValue) rows of shape \(Array(shape.dropFirst())), found \(header.element.rawValue) \(header.shape)")
                }
                try handle.seek(toOffset: UInt64(header.dataOffset))
                var remaining = header.count * element.size
                while remaining > 0 {
                    guard let block = try handle.read(upToCount: min(remaining, 1 << 24)), !block.isEmpty else {
                        throw InputError(file: part, "truncated: \(remaining) data bytes missing")
                    }
                    try writer.appendRaw(block)
                    remaining -= block.count
                }
            }
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
    }
}
