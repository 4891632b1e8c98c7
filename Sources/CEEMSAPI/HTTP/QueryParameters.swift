/// A URL query string as a multi-map, decoded like Go's `url.ParseQuery` (`+` is a space, `%XX` escapes).
public struct QueryParameters: Sendable {
    public private(set) var pairs: [(String, String)] = []

    public init(_ query: String) {
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(pieces[0]) else { continue }
            // Like Go's url.ParseQuery, a pair that does not decode is dropped.
            guard let value = pieces.count > 1 ? Self.decode(pieces[1]) : "" else { continue }
            pairs.append((key, value))
        }
    }

    /// All values of `key`, in order.
    public func values(_ key: String) -> [String] { pairs.filter { $0.0 == key }.map(\.1) }

    /// Non-empty values of `key`, trimmed.
    public func nonEmpty(_ key: String) -> [String] {
        values(key).map { $0.trimmed(of: " \t") }.filter { !$0.isEmpty }
    }

    public func first(_ key: String) -> String? { pairs.first { $0.0 == key }?.1 }

    /// A flag parameter: present at all, whatever its value.
    public func has(_ key: String) -> Bool { pairs.contains { $0.0 == key } }

    public mutating func set(_ key: String, _ values: [String]) {
        pairs.removeAll { $0.0 == key }
        pairs += values.map { (key, $0) }
    }

    /// Re-encoded with keys sorted (values in their order), like Go's `url.Values.Encode`.
    public var encoded: String {
        var grouped: [String: [String]] = [:]
        for (key, value) in pairs { grouped[key, default: []].append(value) }
        return grouped.keys.sorted().flatMap { key in
            grouped[key, default: []].map { Self.encode(key) + "=" + Self.encode($0) }
        }.joined(separator: "&")
    }

    static func decode<S: StringProtocol>(_ text: S) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self) ?? String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x20: out += "+"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

extension String {
    func trimmed(of set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
