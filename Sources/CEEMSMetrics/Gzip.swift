import CZlib

/// gzip compression of scrape bodies (zlib, best speed: a scrape is compressed once and read once).
public enum Gzip {
    public enum Error: Swift.Error {
        case zlib(Int32)
    }

    /// The container around the deflate stream: a gzip member (`Content-Encoding: gzip`) or a zlib stream
    /// (`Content-Encoding: deflate`, RFC 1950).
    public enum Format: Sendable {
        case gzip
        case zlib

        var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }
    }

    /// Compresses `input` into a gzip member (or a zlib stream).
    public static func compress(_ input: [UInt8], level: Int32 = 1, format: Format = .gzip) throws(Gzip.Error)
        -> [UInt8]
    {
        var stream = z_stream()
        let initStatus = deflateInit2_(
            &stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw .zlib(initStatus) }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count)))
        var output = [UInt8](repeating: 0, count: bound + 32)
        var status: Int32 = Z_OK
        var produced = 0
        input.withUnsafeBufferPointer { inputBuffer in
            output.withUnsafeMutableBufferPointer { outputBuffer in
                stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
                stream.avail_in = UInt32(inputBuffer.count)
                stream.next_out = outputBuffer.baseAddress
                stream.avail_out = UInt32(outputBuffer.count)
                status = deflate(&stream, Z_FINISH)
                produced = outputBuffer.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else { throw .zlib(status) }
        output.removeSubrange(produced...)
        return output
    }

    /// Decompresses a gzip member or a zlib stream (tests and clients).
    public static func decompress(_ input: [UInt8], limit: Int = 256 << 20, format: Format = .gzip) throws(Gzip.Error)
        -> [UInt8]
    {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, format.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw .zlib(initStatus) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { inputBuffer in
            stream.next_in = UnsafeMutablePointer(mutating: inputBuffer.baseAddress)
            stream.avail_in = UInt32(inputBuffer.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { chunkBuffer in
                    stream.next_out = chunkBuffer.baseAddress
                    stream.avail_out = UInt32(chunkBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunkBuffer.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[..<produced])
            } while status == Z_OK && output.count < limit
        }
        guard status == Z_STREAM_END else { throw .zlib(status) }
        return output
    }
}
