/// A PromQL token.
enum PromQLToken: Equatable, Sendable {
    case identifier(String)
    case number
    case duration
    case string(String)
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma, colon, at
    /// `=`, `!=`, `=~`, `!~` inside braces; comparison and arithmetic operators outside.
    case op(String)
    case end
}

/// Errors of the PromQL lexer and parser. The offset is in UTF-8 bytes.
public struct PromQLError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int

    public var description: String { "parse error at byte \(offset): \(message)" }
}

/// Splits a PromQL expression into tokens, following Prometheus' lexer: `#` comments to the end of the line,
/// three kinds of string literal with Go's escapes, `Inf`/`NaN` as numbers, durations like `1h30m`, and `:` as a
/// separator only inside `[…]` (elsewhere it is part of a metric name).
///
/// Anything it does not understand is an error: the access control denies what it cannot read.
struct PromQLLexer {
    let bytes: [UInt8]
    var index = 0
    var bracketDepth = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    static func tokenize(_ text: String) throws(PromQLError) -> [(PromQLToken, Int)] {
        var lexer = PromQLLexer(text)
        var tokens: [(PromQLToken, Int)] = []
        while true {
            let (token, offset) = try lexer.next()
            tokens.append((token, offset))
            if token == .end { return tokens }
            // Long enough for any real dashboard query; bounds the work a hostile request can cause.
            guard tokens.count <= 100_000 else { throw PromQLError(message: "query too long", offset: offset) }
        }
    }

    func error(_ message: String) -> PromQLError { PromQLError(message: message, offset: index) }

    mutating func next() throws(PromQLError) -> (PromQLToken, Int) {
        skipSpaceAndComments()
        let start = index
        guard index < bytes.count else { return (.end, start) }
        let byte = bytes[index]
        func single(_ token: PromQLToken) -> (PromQLToken, Int) {
            index += 1
            return (token, start)
        }
        switch byte {
        case UInt8(ascii: "("): return single(.leftParen)
        case UInt8(ascii: ")"): return single(.rightParen)
        case UInt8(ascii: "{"): return single(.leftBrace)
        case UInt8(ascii: "}"): return single(.rightBrace)
        case UInt8(ascii: "["):
            bracketDepth += 1
            return single(.leftBracket)
        case UInt8(ascii: "]"):
            bracketDepth -= 1
            return single(.rightBracket)
        case UInt8(ascii: ","): return single(.comma)
        case UInt8(ascii: "@"): return single(.at)
        case UInt8(ascii: ":") where bracketDepth > 0: return single(.colon)
        case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"):
            return (.string(try stringLiteral(quote: byte)), start)
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."):
            return (try numberOrDuration(), start)
        case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "<"), UInt8(ascii: ">"):
            index += 1
            let follower = index < bytes.count ? bytes[index] : 0
            switch (byte, follower) {
            case (UInt8(ascii: "="), UInt8(ascii: "=")), (UInt8(ascii: "!"), UInt8(ascii: "=")),
                (UInt8(ascii: "<"), UInt8(ascii: "=")), (UInt8(ascii: ">"), UInt8(ascii: "=")),
                (UInt8(ascii: "="), UInt8(ascii: "~")), (UInt8(ascii: "!"), UInt8(ascii: "~")):
                index += 1
                return (.op(String(decoding: bytes[start..<index], as: UTF8.self)), start)
            default:
                guard byte != UInt8(ascii: "!") else { throw error("unexpected character after '!'") }
                return (.op(String(UnicodeScalar(byte))), start)
            }
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "%"),
            UInt8(ascii: "^"):
            return single(.op(String(UnicodeScalar(byte))))
        default:
            guard Self.isIdentifierStart(byte, colonAllowed: bracketDepth == 0) else {
                throw error("unexpected character \(Self.describe(byte))")
            }
            index += 1
            while index < bytes.count, Self.isIdentifierPart(bytes[index], colonAllowed: bracketDepth == 0) {
                index += 1
            }
            let word = String(decoding: bytes[start..<index], as: UTF8.self)
            let lowered = word.lowercased()
            if lowered == "inf" || lowered == "nan" { return (.number, start) }
            return (.identifier(word), start)
        }
    }

    static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(UnicodeScalar(byte))'" : "0x" + String(byte, radix: 16)
    }

    mutating func skipSpaceAndComments() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C:
                index += 1
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != 0x0A { index += 1 }
            default:
                return
            }
        }
    }

    static func isIdentifierStart(_ byte: UInt8, colonAllowed: Bool) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
            || (colonAllowed && byte == UInt8(ascii: ":"))
    }

    static func isIdentifierPart(_ byte: UInt8, colonAllowed: Bool) -> Bool {
        isIdentifierStart(byte, colonAllowed: colonAllowed) || (byte >= 0x30 && byte <= 0x39)
    }

    /// A number (decimal, hex, exponent) or a duration (`5m`, `1h30m`, `250ms`).
    mutating func numberOrDuration() throws(PromQLError) -> PromQLToken {
        let start = index
        if bytes[index] == UInt8(ascii: "0"), index + 1 < bytes.count,
            bytes[index + 1] == UInt8(ascii: "x") || bytes[index + 1] == UInt8(ascii: "X")
        {
            index += 2
            let digits = index
            while index < bytes.count, Self.isHexDigit(bytes[index]) { index += 1 }
            guard index > digits else { throw error("bad hexadecimal number") }
            return try endOfNumber()
        }
        var digits = 0
        while index < bytes.count, Self.isDigit(bytes[index]) {
            index += 1
            digits += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, Self.isDigit(bytes[index]) {
                index += 1
                digits += 1
            }
        }
        guard digits > 0 else { throw error("bad number") }
        let integral = !bytes[start..<index].contains(UInt8(ascii: "."))
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            let afterSign = index + 2 < bytes.count ? bytes[index + 2] : 0
            if Self.isDigit(next) || ((next == UInt8(ascii: "+") || next == UInt8(ascii: "-")) && Self.isDigit(afterSign)) {
                index += next == UInt8(ascii: "+") || next == UInt8(ascii: "-") ? 2 : 1
                while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
                return try endOfNumber()
            }
        }
        if integral, index < bytes.count, Self.isIdentifierStart(bytes[index], colonAllowed: false) {
            // A duration: one or more `<digits><unit>` groups, units in decreasing order as Prometheus checks.
            index = start
            var lastRank = Int.max
            while index < bytes.count, Self.isDigit(bytes[index]) {
                while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
                let unitStart = index
                while index < bytes.count, bytes[index] >= 0x61 && bytes[index] <= 0x7A { index += 1 }
                let unit = String(decoding: bytes[unitStart..<index], as: UTF8.self)
                guard let rank = ["ms": 0, "s": 1, "m": 2, "h": 3, "d": 4, "w": 5, "y": 6][unit], rank < lastRank else {
                    throw error("bad duration")
                }
                lastRank = rank
            }
            return try endOfNumber(duration: true)
        }
        return try endOfNumber()
    }

    /// A number must not run into letters or digits (`1x`, `0x1g`).
    mutating func endOfNumber(duration: Bool = false) throws(PromQLError) -> PromQLToken {
        if index < bytes.count, Self.isIdentifierPart(bytes[index], colonAllowed: false) || bytes[index] == UInt8(ascii: ".") {
            throw error("bad number or duration")
        }
        return duration ? .duration : .number
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }

    /// A string literal with Go's escapes decoded (`"…"`, `'…'`); backquoted strings are raw.
    mutating func stringLiteral(quote: UInt8) throws(PromQLError) -> String {
        index += 1
        var decoded: [UInt8] = []
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            index += 1
            if byte == quote { break }
            if quote != UInt8(ascii: "`") && byte == 0x0A { throw error("newline in string") }
            guard quote != UInt8(ascii: "`"), byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            try unescape(into: &decoded, quote: quote)
        }
        guard let text = String(validating: decoded, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
        return text
    }

    mutating func unescape(into decoded: inout [UInt8], quote: UInt8) throws(PromQLError) {
        guard index < bytes.count else { throw error("unterminated escape") }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "a"): decoded.append(0x07)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "v"): decoded.append(0x0B)
        case UInt8(ascii: "\\"): decoded.append(letter)
        case quote: decoded.append(letter)
        case UInt8(ascii: "x"):
            decoded.append(UInt8(try hexValue(digits: 2)))
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let value = try hexValue(digits: letter == UInt8(ascii: "u") ? 4 : 8)
            guard let scalar = UnicodeScalar(value) else { throw error("invalid Unicode escape") }
            decoded.append(contentsOf: Array(String(Character(scalar)).utf8))
        case UInt8(ascii: "0")...UInt8(ascii: "7"):
            var value = UInt32(letter - 0x30)
            for _ in 0..<2 {
                guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x37 else {
                    throw error("invalid octal escape")
                }
                value = value * 8 + UInt32(bytes[index] - 0x30)
                index += 1
            }
            guard value <= 255 else { throw error("octal escape out of range") }
            decoded.append(UInt8(value))
        default:
            throw error("unknown escape sequence")
        }
    }

    mutating func hexValue(digits: Int) throws(PromQLError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard index < bytes.count, Self.isHexDigit(bytes[index]) else { throw error("invalid hex escape") }
            let byte = bytes[index]
            let digit: UInt8 =
                Self.isDigit(byte) ? byte - 0x30 : (byte >= 0x61 ? byte - 0x61 + 10 : byte - 0x41 + 10)
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }
}
