import CEEMSCore

/// Values of the `{{.Name}}` placeholders of updater queries (§9.3).
public struct QueryTemplateValues: Sendable {
    public var uuids: [String]
    public var range: Duration
    public var scrapeInterval: Duration
    public var evaluationInterval: Duration

    public var rateInterval: Duration { scrapeInterval * 4 }

    /// Renders a template; unknown placeholders are left as they are.
    public func render(_ template: String) -> String {
        let values: [String: String] = [
            "UUIDs": uuids.joined(separator: "|"),
            "Range": GoDurationFormat.string(.seconds(range.components.seconds)),
            "ScrapeInterval": GoDurationFormat.string(scrapeInterval),
            "EvaluationInterval": GoDurationFormat.string(evaluationInterval),
            "RateInterval": GoDurationFormat.string(rateInterval),
            "ScrapeIntervalMilli": String(GoDurationFormat.milliseconds(scrapeInterval)),
            "EvaluationIntervalMilli": String(GoDurationFormat.milliseconds(evaluationInterval)),
        ]
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstRange(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                output += rest[open.lowerBound...]
                return output
            }
            let name = rest[open.upperBound..<close.lowerBound].filter { !$0.isWhitespace }
            if name.hasPrefix("."), let value = values[String(name.dropFirst())] {
                output += value
            } else {
                output += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        output += rest
        return output
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
