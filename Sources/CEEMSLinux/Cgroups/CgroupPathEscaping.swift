/// systemd escapes characters of unit names in cgroup paths as C hex escapes (`machine-qemu\x2d1\x2dinstance…`).
public enum CgroupPathEscaping {
    /// Unquotes a path like Go's `strconv.Unquote("\"" + path + "\"")`: `\xHH`, octal `\ooo` and the C single-
    /// character escapes are decoded; a path with an invalid escape or a bare `"` is returned unchanged.
    public static func unescape(_ path: String) -> String {
        guard path.utf8.contains(UInt8(ascii: "\\")) else { return path }
        let bytes = Array(path.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return path }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            guard index + 1 < bytes.count else { return path }
            let kind = bytes[index + 1]
            switch kind {
            case UInt8(ascii: "x"):
                guard index + 3 < bytes.count, let high = hex(bytes[index + 2]), let low = hex(bytes[index + 3]) else {
                    return path
                }
                out.append(high << 4 | low)
                index += 4
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard index + 3 < bytes.count else { return path }
                var value = 0
                for offset in 1...3 {
                    let digit = bytes[index + offset]
                    guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return path }
                    value = value * 8 + Int(digit - UInt8(ascii: "0"))
                }
                guard value <= 255 else { return path }
                out.append(UInt8(value))
                index += 4
            default:
                let simple: [UInt8: UInt8] = [
                    UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
                    UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
                    UInt8(ascii: "'"): 39, UInt8(ascii: "\""): 34,
                ]
                guard let decoded = simple[kind] else { return path }
                out.append(decoded)
                index += 2
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
