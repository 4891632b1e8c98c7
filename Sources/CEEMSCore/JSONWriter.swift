#if canImport(Glibc)
    import Glibc
#endif

/// Builds JSON text the way Go's `encoding/json` prints it: `<`, `>`, `&`, U+2028 and U+2029 escaped, no spaces.
///
/// Bytes, not a `String`: appends to an array stay amortised O(1) wherever the writer is passed `inout`, and the
/// HTTP layer sends the bytes as they are.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        if capacity > 0 { bytes.reserveCapacity(capacity) }
    }

    /// The text written so far.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    public mutating func raw(_ fragment: String) {
        var fragment = fragment
        fragment.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(bytes fragment: [UInt8]) { bytes.append(contentsOf: fragment) }

    static let hexDigits = Array("0123456789abcdef".utf8)

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { source in
            var index = 0
            let count = source.count
            while index < count {
                let byte = source[index]
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), 0x00..<0x20:
                    bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                case 0xE2 where index + 2 < count && source[index + 1] == 0x80
                    && (source[index + 2] == 0xA8 || source[index + 2] == 0xA9):
                    // U+2028 and U+2029.
                    bytes.append(contentsOf: Array("\\u202".utf8))
                    bytes.append(source[index + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9"))
                    index += 2
                default: bytes.append(byte)
                }
                index += 1
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func integer(_ value: Int64) { raw(String(value)) }

    public mutating func bool(_ value: Bool) { raw(value ? "true" : "false") }

    public mutating func stringArray(_ values: [String]?) {
        guard let values else {
            raw("null")
            return
        }
        bytes.append(UInt8(ascii: "["))
        for (offset, value) in values.enumerated() {
            if offset > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Writes a JSON value; objects get their keys sorted (Go marshals maps sorted), numbers keep their text
    /// except integral top-level values when `canonicalNumbers` asks for the metric-map format.
    public mutating func value(_ value: JSONValue, sortKeys: Bool = true) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .number(_, let source): raw(source)
        case .string(let string): self.string(string)
        case .array(let items):
            raw("[")
            for (offset, item) in items.enumerated() {
                if offset > 0 { raw(",") }
                self.value(item, sortKeys: sortKeys)
            }
            raw("]")
        case .object(let members):
            raw("{")
            let ordered = sortKeys ? JSONWriter.sortedUnique(members) : members
            for (offset, member) in ordered.enumerated() {
                if offset > 0 { raw(",") }
                string(member.0)
                raw(":")
                self.value(member.1, sortKeys: sortKeys)
            }
            raw("}")
        }
    }

    /// Object members sorted by key, the last of duplicate keys winning (as when Go decodes into a map).
    package static func sortedUnique(_ members: [(String, JSONValue)]) -> [(String, JSONValue)] {
        var seen: [String: Int] = [:]
        var unique: [(String, JSONValue)] = []
        for member in members {
            if let position = seen[member.0] {
                unique[position] = member
            } else {
                seen[member.0] = unique.count
                unique.append(member)
            }
        }
        return unique.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }
}
