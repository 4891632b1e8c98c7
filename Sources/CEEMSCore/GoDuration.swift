/// Durations written the way Go and Prometheus configs write them: `500ms`, `1h30m`, `2d`, `1.5s`.
public enum GoDuration {
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let text): "time: invalid duration \"\(text)\""
            }
        }
    }

    /// Parses a Go `time.ParseDuration` string, also accepting Prometheus' `d`, `w` and `y` units.
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        var rest = Substring(text.trimmingSpaces())
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        if rest.isEmpty { throw .invalid(text) }
        var totalNanoseconds: Double = 0
        while !rest.isEmpty {
            let numberEnd = rest.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? rest.endIndex
            let number = rest[..<numberEnd]
            guard !number.isEmpty, let value = Double(number) else { throw .invalid(text) }
            rest = rest[numberEnd...]
            let unitEnd = rest.firstIndex { $0.isASCII && ($0.isNumber || $0 == ".") } ?? rest.endIndex
            let unit = rest[..<unitEnd]
            rest = rest[unitEnd...]
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            case "d": scale = 86400e9
            case "w": scale = 7 * 86400e9
            case "y": scale = 365 * 86400e9
            default: throw .invalid(text)
            }
            totalNanoseconds += value * scale
        }
        let duration = Duration.nanoseconds(Int64(totalNanoseconds.rounded()))
        return negative ? .zero - duration : duration
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var inSeconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Go's `time.Duration.String()`.
public enum GoDurationFormat {
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    public static func string(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        var n = UInt64(abs(nanoseconds))
        var text: String
        if n < 1_000_000_000 {
            let (unit, scale): (String, UInt64) =
                n < 1000 ? ("ns", 1) : n < 1_000_000 ? ("µs", 1000) : ("ms", 1_000_000)
            text = fraction(n, scale: scale) + unit
        } else {
            let hours = n / 3_600_000_000_000
            n -= hours * 3_600_000_000_000
            let minutes = n / 60_000_000_000
            n -= minutes * 60_000_000_000
            text = fraction(n, scale: 1_000_000_000) + "s"
            if hours > 0 || minutes > 0 { text = "\(minutes)m" + text }
            if hours > 0 { text = "\(hours)h" + text }
        }
        return negative ? "-" + text : text
    }

    static func fraction(_ value: UInt64, scale: UInt64) -> String {
        let whole = value / scale
        var remainder = value % scale
        guard remainder > 0 else { return String(whole) }
        var digits = ""
        var divisor = scale / 10
        while remainder > 0 && divisor > 0 {
            digits += String(remainder / divisor)
            remainder %= divisor
            divisor /= 10
        }
        return "\(whole).\(digits)"
    }
}
