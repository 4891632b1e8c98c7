/// Small, bounds-safe helpers to parse kernel text files as bytes (no `String` per line).
public enum ByteParsing {
    @inline(__always) public static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    /// Splits `bytes` into lines (without the newline); a final line without newline is included.
    public static func lines(_ bytes: ArraySlice<UInt8>) -> ByteLines {
        ByteLines(rest: bytes)
    }

    /// Whitespace-separated fields of a line.
    public static func fields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(whereSeparator: isSpace)
    }

    /// The slice without leading and trailing whitespace and NUL bytes (sysfs pads some files with NUL).
    public static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isSpace(bytes[start]) || bytes[start] == 0 { start += 1 }
        while end > start, isSpace(bytes[end - 1]) || bytes[end - 1] == 0 { end -= 1 }
        return bytes[start..<end]
    }

    /// Parses an unsigned decimal integer; nil on any other byte or overflow.
    public static func uint64(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// Parses a signed decimal integer.
    public static func int64(_ bytes: ArraySlice<UInt8>) -> Int64? {
        guard let first = bytes.first else { return nil }
        if first == UInt8(ascii: "-") {
            guard let magnitude = uint64(bytes.dropFirst()), magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard let magnitude = uint64(first == UInt8(ascii: "+") ? bytes.dropFirst() : bytes),
            magnitude <= UInt64(Int64.max)
        else { return nil }
        return Int64(magnitude)
    }

    /// Parses a decimal floating-point number (`12`, `-1.5`, `3e9`).
    public static func double(_ bytes: ArraySlice<UInt8>) -> Double? {
        if let integer = uint64(bytes) { return Double(integer) }
        guard !bytes.isEmpty, bytes.count < 64 else { return nil }
        for byte in bytes {
            switch byte {
            case 0x30...0x39, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "e"),
                UInt8(ascii: "E"):
                continue
            default:
                return nil
            }
        }
        return Double(String(decoding: bytes, as: UTF8.self))
    }

    /// The bytes as a string.
    @inline(__always) public static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `bytes` starts with the ASCII `prefix`.
    public static func hasPrefix(_ bytes: ArraySlice<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return prefix.withUTF8Buffer { buffer in
            var index = bytes.startIndex
            for byte in buffer {
                if bytes[index] != byte { return false }
                index += 1
            }
            return true
        }
    }
}

/// The non-empty lines of a byte slice, found as they are iterated (no array is built: a parser that wants two
/// keys of a 50-line `memory.stat` stops after the lines it needs).
public struct ByteLines: Sequence, IteratorProtocol {
    var rest: ArraySlice<UInt8>

    public mutating func next() -> ArraySlice<UInt8>? {
        while !rest.isEmpty {
            guard let newline = rest.firstIndex(of: 0x0A) else {
                defer { rest = rest[rest.endIndex...] }
                return rest
            }
            let line = rest[..<newline]
            rest = rest[(newline + 1)...]
            if !line.isEmpty { return line }
        }
        return nil
    }
}
