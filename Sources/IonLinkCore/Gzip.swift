import CZlib
import Foundation

/// gzip (and zlib) decompression, so that tables can be read as `NAME.csv.gz`.
public enum Gzip {
    /// Whether `data` starts with the gzip magic bytes.
    public static func isCompressed(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B }

    /// The decompressed bytes of a gzip (or zlib) stream, every member of a multi-member file (bgzip) one after
    /// another; `file` names the source in errors.
    public static func decompress(_ data: Data, file: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw InputError(file: file, "cannot start gzip decompression")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let status: Int32 = data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Int32 in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            var result: Int32 = Z_OK
            while true {
                repeat {
                    result = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                        stream.next_out = buffer.baseAddress
                        stream.avail_out = uInt(buffer.count)
                        let r = inflate(&stream, Z_NO_FLUSH)
                        output.append(buffer.baseAddress!, count: buffer.count - Int(stream.avail_out))
                        return r
                    }
                } while result == Z_OK
                // Multi-member gzip (bgzip, concatenated .gz files): the next member starts where this one ended.
                guard result == Z_STREAM_END, stream.avail_in > 0, let next = stream.next_in, next[0] == 0x1F else { return result }
                guard inflateReset(&stream) == Z_OK else { return Z_STREAM_ERROR }
            }
        }
        guard status == Z_STREAM_END else {
            throw InputError(file: file, status == Z_BUF_ERROR ? "truncated gzip data" : "damaged gzip data (zlib status \(status))")
        }
        return output
    }

    /// The contents of a file, decompressed if it is gzip.
    public static func contents(of path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, "cannot read the file (does it exist?)")
        }
        return isCompressed(data) ? try decompress(data, file: path) : data
    }
}
