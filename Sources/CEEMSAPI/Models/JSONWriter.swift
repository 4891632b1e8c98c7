#if canImport(Glibc)
    import Glibc
#endif

/// Builds JSON text the way Go's `encoding/json` prints it: `<`, `>`, `&`, U+2028 and U+2029 escaped, no spaces.
public struct JSONWriter: Sendable {
    public private(set) var text: String = ""

    public init(capacity: Int = 256) {
        text.reserveCapacity(capacity)
    }

    public mutating func raw(_ fragment: String) { text += fragment }

    public mutating func string(_ value: String) {
        text += "\""
        var pendingStart = value.unicodeScalars.startIndex
        var index = pendingStart
        let scalars = value.unicodeScalars
        while index != scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "<": escape = "\\u003c"
            case ">": escape = "\\u003e"
            case "&": escape = "\\u0026"
            case "\u{2028}": escape = "\\u2028"
            case "\u{2029}": escape = "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    escape = nil
                }
            }
            if let escape {
                text.unicodeScalars.append(contentsOf: scalars[pendingStart..<index])
                text += escape
                pendingStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        text.unicodeScalars.append(contentsOf: scalars[pendingStart..<scalars.endIndex])
        text += "\""
    }

    public mutating func integer(_ value: Int64) { text += String(value) }

    public mutating func bool(_ value: Bool) { text += value ? "true" : "false" }

    public mutating func stringArray(_ values: [String]?) {
        guard let values else {
            text += "null"
            return
        }
        text += "["
        for (offset, value) in values.enumerated() {
            if offset > 0 { text += "," }
            string(value)
        }
        text += "]"
    }

    /// Writes a JSON value; objects get their keys sorted (Go marshals maps sorted), numbers keep their text
    /// except integral top-level values when `canonicalNumbers` asks for the metric-map format.
    public mutating func value(_ value: JSONValue, sortKeys: Bool = true) {
        switch value {
        case .null: text += "null"
        case .bool(let flag): bool(flag)
        case .number(_, let source): text += source
        case .string(let string): self.string(string)
        case .array(let items):
            text += "["
            for (offset, item) in items.enumerated() {
                if offset > 0 { text += "," }
                self.value(item, sortKeys: sortKeys)
            }
            text += "]"
        case .object(let members):
            text += "{"
            let ordered = sortKeys ? JSONWriter.sortedUnique(members) : members
            for (offset, member) in ordered.enumerated() {
                if offset > 0 { text += "," }
                string(member.0)
                text += ":"
                self.value(member.1, sortKeys: sortKeys)
            }
            text += "}"
        }
    }

    /// Object members sorted by key, the last of duplicate keys winning (as when Go decodes into a map).
    static func sortedUnique(_ members: [(String, JSONValue)]) -> [(String, JSONValue)] {
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
