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
