#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `$VAR` / `${VAR}` expansion of configuration files, enabled by the `…expand-env-vars` flags.
///
/// The syntax is Go's `os.Expand` with CEEMS' mapping: `$$` is a literal `$`, unknown variables expand to the
/// empty string, a `$` that is not followed by a name is kept, malformed `${…` is dropped.
public enum EnvironmentExpansion {
    public static func expand(_ text: String, lookup: (String) -> String? = EnvironmentExpansion.processValue) -> String
    {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "$"), i + 1 < bytes.count else {
                out.append(bytes[i])
                i += 1
                continue
            }
            let (name, width) = shellName(bytes, from: i + 1)
            if let name {
                let value = name == "$" ? "$" : (lookup(name) ?? "")
                out.append(contentsOf: value.utf8)
            } else if width == 0 {
                out.append(bytes[i])
            }
            i += 1 + width
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of an environment variable of this process.
    @Sendable public static func processValue(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        return String(cString: raw)
    }

    /// Returns the variable name that starts at `start` (just after a `$`) and how many bytes it spans; a nil
    /// name with a non-zero width is invalid syntax, whose bytes are dropped.
    private static func shellName(_ s: [UInt8], from start: Int) -> (String?, Int) {
        let first = s[start]
        if first == UInt8(ascii: "{") {
            if s.count - start > 2, isSpecial(s[start + 1]), s[start + 2] == UInt8(ascii: "}") {
                return (String(decoding: s[(start + 1)...(start + 1)], as: UTF8.self), 3)
            }
            var j = start + 1
            while j < s.count {
                if s[j] == UInt8(ascii: "}") {
                    if j == start + 1 { return (nil, 2) }
                    return (String(decoding: s[(start + 1)..<j], as: UTF8.self), j - start + 1)
                }
                j += 1
            }
            return (nil, 1)
        }
        if isSpecial(first) {
            return (String(decoding: [first], as: UTF8.self), 1)
        }
        var j = start
        while j < s.count, isAlphaNumeric(s[j]) { j += 1 }
        if j == start { return (nil, 0) }
        return (String(decoding: s[start..<j], as: UTF8.self), j - start)
    }

    private static func isSpecial(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "*"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "@"), UInt8(ascii: "!"),
            UInt8(ascii: "?"), UInt8(ascii: "-"):
            return true
        default:
            return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
        }
    }

    private static func isAlphaNumeric(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "_") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }
}
