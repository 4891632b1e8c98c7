import CEEMSCore
/// Fast paths for JSON text read from the database: text already in the canonical form (what this server and
/// CEEMS write) is copied as it is; anything else goes through the parser and is re-encoded.
enum StoredJSON {
    /// Whether `text` is a canonical metric map: `{"k":n,…}` without spaces, keys strictly ascending without
    /// escapes, each number a bare integer or exactly 8 decimals.
    static func isCanonicalMetricMap(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = bytes.count
        guard count >= 2, bytes[0] == UInt8(ascii: "{"), bytes[count - 1] == UInt8(ascii: "}") else { return false }
        var index = 1
        var previousKey: UnsafeBufferPointer<UInt8>?
        if count == 2 { return true }
        while true {
            guard index < count, bytes[index] == UInt8(ascii: "\"") else { return false }
            let keyStart = index + 1
            index = keyStart
            while index < count, bytes[index] != UInt8(ascii: "\"") {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") || byte < 0x20 || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
                    || byte == UInt8(ascii: "&") || byte >= 0x80
                {
                    return false
                }
                index += 1
            }
            guard index < count else { return false }
            let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<index])
            if let previousKey, !previousKey.lexicographicallyPrecedes(key) { return false }
            previousKey = key
            index += 1
            guard index < count, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            // -?digits(.8digits)?
            if index < count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digitsStart = index
            while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            let integerDigits = index - digitsStart
            guard integerDigits > 0 else { return false }
            if integerDigits > 1 && bytes[digitsStart] == 0x30 { return false }
            if index < count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                let fractionStart = index
                while index < count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                guard index - fractionStart == 8 else { return false }
                // An integral value is printed bare, never with zero decimals (below 2^63).
                if integerDigits < 19, bytes[fractionStart..<index].allSatisfy({ $0 == 0x30 }) { return false }
            } else if integerDigits > 19 {
                return false
            }
            guard index < count else { return false }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            return bytes[index] == UInt8(ascii: "}") && index == count - 1
        }
    }

    /// Whether `text` is a JSON object with ascending unique top-level keys (escape-free) whose top-level numbers
    /// are plain integers: the canonical form of `allocation` and `tags`. Nested values are validated, not
    /// rewritten.
    static func isCanonicalGenericMap(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var parser = JSONByteParser(bytes: bytes)
        guard bytes.first == UInt8(ascii: "{") else { return false }
        parser.index = 1
        parser.skipSpaces()
        if parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "}") {
            return parser.index == bytes.count - 1
        }
        var previousKey: UnsafeBufferPointer<UInt8>?
        while true {
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "\"") else { return false }
            let keyStart = parser.index + 1
            var end = keyStart
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                if bytes[end] == UInt8(ascii: "\\") || bytes[end] < 0x20 || bytes[end] >= 0x80 || bytes[end] == UInt8(ascii: "<")
                    || bytes[end] == UInt8(ascii: ">") || bytes[end] == UInt8(ascii: "&")
                {
                    return false
                }
                end += 1
            }
            guard end < bytes.count else { return false }
            let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<end])
            if let previousKey, !previousKey.lexicographicallyPrecedes(key) { return false }
            previousKey = key
            parser.index = end + 1
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: ":") else { return false }
            parser.index += 1
            let valueStart = parser.index
            guard parser.skipValue(depth: 1) else { return false }
            // Top-level numbers must already be plain integers.
            let first = bytes[valueStart]
            if first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39) {
                for byte in bytes[valueStart..<parser.index]
                where byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                    return false
                }
            }
            guard parser.index < bytes.count else { return false }
            if bytes[parser.index] == UInt8(ascii: ",") {
                parser.index += 1
                continue
            }
            return bytes[parser.index] == UInt8(ascii: "}") && parser.index == bytes.count - 1
        }
    }
}

extension JSONByteParser {
    /// Validates one value (no spaces allowed around it, as the canonical form has none) without building it.
    /// Strings must be escape-free of the characters Go escapes, so they can be copied verbatim.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < 64, index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            index += 1
            if index < bytes.count, bytes[index] == close {
                index += 1
                return true
            }
            while true {
                if isObject {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), skipString() else { return false }
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
                    index += 1
                }
                guard skipValue(depth: depth + 1), index < bytes.count else { return false }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == close else { return false }
                index += 1
                return true
            }
        case UInt8(ascii: "\""):
            return skipString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            let saved = index
            guard parseValue(depth: depth) != nil else {
                index = saved
                return false
            }
            return true
        default:
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                guard (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                else { break }
                index += 1
            }
            guard index > start else { return false }
            return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)) != nil
        }
    }

    /// Skips a string made of bytes Go would print as they are (plain `\"`, `\\`, `\n`, `\r`, `\t` escapes
    /// allowed); anything else fails so the caller re-encodes.
    mutating func skipString() -> Bool {
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return true
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { return false }
                let next = bytes[index + 1]
                guard next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next == UInt8(ascii: "n")
                    || next == UInt8(ascii: "r") || next == UInt8(ascii: "t")
                else { return false }
                index += 2
            case 0x00..<0x20, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                return false
            case 0xE2:
                if index + 2 < bytes.count, bytes[index + 1] == 0x80, bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9 {
                    return false
                }
                index += 1
            default:
                index += 1
            }
        }
        return false
    }
}
