/// Decodes `application/x-www-form-urlencoded` text (URL queries and POST bodies) the way Go's `url.ParseQuery`
/// does, so the LB reads the same parameters as the Prometheus behind it: pairs split on `&`, key and value split
/// on the first `=`, `+` is a space, `%XX` a byte.
///
/// Where Go skips a pair it cannot decode (bad escape, `;`) and keeps the others, this decoder fails the whole
/// text: a request the LB cannot read completely is refused rather than half-checked.
public enum FormDecoder {
    public struct Failure: Error, Equatable {}

    /// Every (key, value) pair in order; duplicated keys are all kept.
    public static func pairs(_ text: some Collection<UInt8>) throws(Failure) -> [(String, String)] {
        var result: [(String, String)] = []
        for pair in text.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            guard !pair.contains(UInt8(ascii: ";")) else { throw Failure() }
            let key: String
            let value: String
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                key = try unescape(pair[pair.startIndex..<equals])
                value = try unescape(pair[pair.index(after: equals)...])
            } else {
                key = try unescape(pair)
                value = ""
            }
            result.append((key, value))
        }
        return result
    }

    /// Every value of `name`.
    public static func values(of name: String, in pairs: [(String, String)]) -> [String] {
        pairs.filter { $0.0 == name }.map(\.1)
    }

    /// Percent-decoding with `+` as a space; invalid escapes and invalid UTF-8 fail.
    public static func unescape(_ bytes: some Collection<UInt8>, plusIsSpace: Bool = true) throws(Failure) -> String {
        guard bytes.contains(where: { $0 == UInt8(ascii: "%") || ($0 == UInt8(ascii: "+") && plusIsSpace) }) else {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw Failure() }
            return text
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                guard first != bytes.endIndex else { throw Failure() }
                let second = bytes.index(after: first)
                guard second != bytes.endIndex, let high = hexValue(bytes[first]), let low = hexValue(bytes[second])
                else { throw Failure() }
                decoded.append(high << 4 | low)
                index = bytes.index(after: second)
                continue
            }
            decoded.append(plusIsSpace && byte == UInt8(ascii: "+") ? 0x20 : byte)
            index = bytes.index(after: index)
        }
        guard let text = String(validating: decoded, as: UTF8.self) else { throw Failure() }
        return text
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 0x30
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 0x61 + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 0x41 + 10
        default: nil
        }
    }
}
