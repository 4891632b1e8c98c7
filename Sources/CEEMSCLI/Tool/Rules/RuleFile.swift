import CEEMSCore

/// A Prometheus rule file: groups of recording rules, rendered as YAML (indent 2, expressions as literal blocks).
public struct RuleFile: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public var record: String
        public var expression: String
        public var labels: [(String, String)]

        public init(_ record: String, _ expression: String, labels: [(String, String)] = []) {
            self.record = record
            self.expression = expression
            self.labels = labels
        }

        public static func == (lhs: Rule, rhs: Rule) -> Bool {
            lhs.record == rhs.record && lhs.expression == rhs.expression
                && lhs.labels.map { [$0.0, $0.1] } == rhs.labels.map { [$0.0, $0.1] }
        }
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var interval: Duration
        public var rules: [Rule]
    }

    public var groups: [Group]

    public func yaml() -> String {
        var text = "groups:\n"
        for group in groups {
            text += "  - name: \(YAMLText.quoted(group.name))\n"
            text += "    interval: \(GoDurationFormat.string(group.interval))\n"
            text += "    rules:\n"
            for rule in group.rules {
                text += "      - record: \(rule.record)\n"
                text += "        expr: |-\n"
                for line in rule.expression.split(separator: "\n", omittingEmptySubsequences: false) {
                    text += line.isEmpty ? "\n" : "          \(line)\n"
                }
                if !rule.labels.isEmpty {
                    text += "        labels:\n"
                    for (name, value) in rule.labels { text += "          \(name): \(YAMLText.quoted(value))\n" }
                }
            }
        }
        return text
    }
}

/// Small helpers for the YAML and PromQL text the tool writes.
enum YAMLText {
    /// A double-quoted YAML scalar (the JSON escapes are valid YAML escapes).
    static func quoted(_ text: String) -> String { JSONString.quote(text) }
}

enum PromQLText {
    /// A double-quoted PromQL string (Go escapes, which JSON's are a subset of).
    static func quoted(_ text: String) -> String { JSONString.quote(text) }

    /// The shortest decimal that reads back as `value` (`1`, `1.2`, `44.179085`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
