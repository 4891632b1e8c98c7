/// A label matcher of a vector selector.
public struct LabelMatcher: Equatable, Sendable {
    public enum Operator: String, Sendable {
        case equal = "=", notEqual = "!=", regex = "=~", notRegex = "!~"
    }

    public var name: String
    public var op: Operator
    public var value: String

    public init(name: String, op: Operator, value: String) {
        self.name = name
        self.op = op
        self.value = value
    }
}

/// A vector selector: `name{…}`, `{…}`, or `{… or …}`. A series matches when it matches every matcher of one
/// of the groups (one group unless the braces use `or`); the metric name, when written before the braces or as
/// a bare string inside them, is an `__name__` matcher of every group.
public struct VectorSelector: Equatable, Sendable {
    public var groups: [[LabelMatcher]]

    public init(groups: [[LabelMatcher]]) { self.groups = groups }
}

/// Finds every vector selector of a PromQL expression by parsing it: binary operators and their modifiers,
/// functions, aggregations (modifier before or after the arguments), subqueries, ranges, `offset`, `@`, unary
/// signs, strings and comments. The parser accepts the grammar Prometheus accepts and rejects the rest; where
/// PromQL is ambiguous it reads more as selectors, never fewer.
public enum PromQL {
    /// Every vector selector of `expression`, in order.
    public static func selectors(in expression: String) throws(PromQLError) -> [VectorSelector] {
        var parser = try PromQLParser(expression)
        try parser.parseExpression(depth: 0)
        try parser.expectEnd()
        return parser.selectors
    }

    /// The selector of a metric selector such as a `match[]` value or a Pyroscope label selector: exactly one
    /// vector selector, nothing else.
    public static func metricSelector(_ text: String) throws(PromQLError) -> VectorSelector {
        var parser = try PromQLParser(text)
        guard parser.startsSelector else { throw parser.error("expected a series selector") }
        try parser.parseSelector()
        try parser.expectEnd()
        return parser.selectors[0]
    }
}

struct PromQLParser {
    let tokens: [(PromQLToken, Int)]
    var position = 0
    var selectors: [VectorSelector] = []

    static let maximumDepth = 200

    static let aggregations: Set<String> = [
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values",
        "quantile", "limitk", "limit_ratio",
    ]
    static let setOperators: Set<String> = ["and", "or", "unless"]

    init(_ text: String) throws(PromQLError) { tokens = try PromQLLexer.tokenize(text) }

    var current: PromQLToken { tokens[position].0 }
    var peek: PromQLToken { position + 1 < tokens.count ? tokens[position + 1].0 : .end }

    /// The current and next identifiers lowercased: Prometheus matches keywords (`by`, `OR`, `Offset`, `SUM`…)
    /// whatever their case.
    var keyword: String? { Self.keyword(current) }
    var peekKeyword: String? { Self.keyword(peek) }

    static func keyword(_ token: PromQLToken) -> String? {
        if case .identifier(let word) = token { return word.lowercased() }
        return nil
    }

    func error(_ message: String) -> PromQLError { PromQLError(message: message, offset: tokens[position].1) }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    mutating func expect(_ token: PromQLToken, _ what: String) throws(PromQLError) {
        guard current == token else { throw error("expected \(what)") }
        advance()
    }

    func expectEnd() throws(PromQLError) {
        guard current == .end else { throw error("unexpected token after the expression") }
    }

    var startsSelector: Bool {
        switch current {
        case .leftBrace: true
        case .identifier: peek != .leftParen
        default: false
        }
    }

    // MARK: expressions

    /// `unary (binary-operator modifiers unary)*`. Precedence does not change which selectors there are, so the
    /// operands are read left to right.
    mutating func parseExpression(depth: Int) throws(PromQLError) {
        guard depth < Self.maximumDepth else { throw error("expression nested too deeply") }
        try parseUnary(depth: depth)
        while try parseBinaryOperator() {
            try parseUnary(depth: depth)
        }
    }

    /// Reads a binary operator and its modifiers; `false` when the next token is not an operator.
    mutating func parseBinaryOperator() throws(PromQLError) -> Bool {
        var comparison = false
        switch current {
        case .op(let symbol):
            guard symbol != "=~" && symbol != "!~" && symbol != "=" else { throw error("unexpected \(symbol)") }
            comparison = ["==", "!=", "<", ">", "<=", ">="].contains(symbol)
        case .identifier(let word) where Self.setOperators.contains(word.lowercased()) || word.lowercased() == "atan2":
            break
        default:
            return false
        }
        advance()
        if comparison, keyword == "bool" { advance() }
        if keyword == "on" || keyword == "ignoring" {
            advance()
            try parseLabelList()
            if keyword == "group_left" || keyword == "group_right" {
                advance()
                if current == .leftParen { try parseLabelList() }
            }
        }
        return true
    }

    mutating func parseUnary(depth: Int) throws(PromQLError) {
        guard depth < Self.maximumDepth else { throw error("expression nested too deeply") }
        if current == .op("-") || current == .op("+") {
            advance()
            try parseUnary(depth: depth + 1)
            return
        }
        try parsePrimary(depth: depth)
        try parsePostfix()
    }

    mutating func parsePrimary(depth: Int) throws(PromQLError) {
        switch current {
        case .number, .string:
            advance()
        case .leftParen:
            advance()
            try parseExpression(depth: depth + 1)
            try expect(.rightParen, "')'")
        case .leftBrace:
            try parseSelector()
        case .identifier(let word):
            let name = word.lowercased()
            if peek == .leftParen {
                advance()
                try parseArguments(depth: depth)
                if Self.aggregations.contains(name), keyword == "by" || keyword == "without" {
                    advance()
                    try parseLabelList()
                }
            } else if Self.aggregations.contains(name), peekKeyword == "by" || peekKeyword == "without" {
                advance()
                advance()
                try parseLabelList()
                guard current == .leftParen else { throw error("expected '(' after the aggregation modifier") }
                try parseArguments(depth: depth)
            } else {
                try parseSelector()
            }
        default:
            throw error("expected an expression")
        }
    }

    /// `( [expr (, expr)*] [,] )`.
    mutating func parseArguments(depth: Int) throws(PromQLError) {
        try expect(.leftParen, "'('")
        while current != .rightParen {
            try parseExpression(depth: depth + 1)
            guard current == .comma else { break }
            advance()
        }
        try expect(.rightParen, "')'")
    }

    /// Ranges, subqueries, `offset` and `@`, in any order, after any operand.
    mutating func parsePostfix() throws(PromQLError) {
        while true {
            switch current {
            case .leftBracket:
                advance()
                try parseDurationValue()
                if current == .colon {
                    advance()
                    if current != .rightBracket { try parseDurationValue() }
                }
                try expect(.rightBracket, "']'")
            case .identifier(let word) where word.lowercased() == "offset":
                advance()
                if current == .op("-") || current == .op("+") { advance() }
                try parseDurationValue()
            case .at:
                advance()
                if current == .op("-") || current == .op("+") { advance() }
                if case .identifier(let name) = current, name.lowercased() == "start" || name.lowercased() == "end" {
                    advance()
                    try expect(.leftParen, "'('")
                    try expect(.rightParen, "')'")
                } else {
                    guard current == .number else { throw error("expected a timestamp after '@'") }
                    advance()
                }
            default:
                return
            }
        }
    }

    mutating func parseDurationValue() throws(PromQLError) {
        guard current == .duration || current == .number else { throw error("expected a duration") }
        advance()
    }

    /// `( [name (, name)*] [,] )` of `by`, `without`, `on`, `ignoring` and `group_*`: label names only.
    mutating func parseLabelList() throws(PromQLError) {
        try expect(.leftParen, "'('")
        while current != .rightParen {
            switch current {
            case .identifier, .string: advance()
            default: throw error("expected a label name")
            }
            guard current == .comma else { break }
            advance()
        }
        try expect(.rightParen, "')'")
    }

    // MARK: selectors

    /// `name`, `name{…}` or `{…}`.
    mutating func parseSelector() throws(PromQLError) {
        var name: String?
        if case .identifier(let word) = current {
            name = word
            advance()
        }
        var groups: [[LabelMatcher]] = [[]]
        if current == .leftBrace {
            advance()
            groups = try parseMatcherGroups()
        }
        if let name {
            for index in groups.indices {
                groups[index].insert(LabelMatcher(name: "__name__", op: .equal, value: name), at: 0)
            }
        }
        selectors.append(VectorSelector(groups: groups))
    }

    /// The inside of `{…}` up to and including `}`: matchers separated by `,`, groups separated by `or`, and a
    /// bare string as the metric name.
    mutating func parseMatcherGroups() throws(PromQLError) -> [[LabelMatcher]] {
        var groups: [[LabelMatcher]] = [[]]
        var bareNames: [String] = []
        while current != .rightBrace {
            let label: String
            switch current {
            case .identifier(let word): label = word
            case .string(let text): label = text
            default: throw error("expected a label matcher")
            }
            advance()
            if case .op(let symbol) = current, let op = LabelMatcher.Operator(rawValue: symbol) {
                advance()
                guard case .string(let value) = current else { throw error("expected a string after \(symbol)") }
                advance()
                groups[groups.count - 1].append(LabelMatcher(name: label, op: op, value: value))
            } else if case .string = tokens[position - 1].0 {
                bareNames.append(label)
            } else {
                throw error("expected a matching operator")
            }
            if current == .comma {
                advance()
            } else if keyword == "or" {
                advance()
                groups.append([])
            } else {
                guard current == .rightBrace else { throw error("expected ',' or '}'") }
            }
        }
        advance()
        for name in bareNames {
            for index in groups.indices {
                groups[index].insert(LabelMatcher(name: "__name__", op: .equal, value: name), at: 0)
            }
        }
        return groups
    }
}
