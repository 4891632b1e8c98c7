/// The compute units a request reads, as found in its selectors.
public struct UnitScope: Equatable, Sendable {
    /// Distinct uuids, sorted.
    public var uuids: [String] = []
    /// The cluster named by `ceems_id` matchers, if any.
    public var clusterID: String?
    /// Why a non-admin may not run the request whatever they own; `nil` when every selector is constrained to
    /// the listed uuids.
    public var denial: Denial?

    public init() {}

    /// Why a request is refused before ownership is looked at.
    public enum Denial: Equatable, Sendable, CustomStringConvertible {
        case unparsable(String)
        case unconstrainedSelector
        case invalidUnitMatcher(String)
        case conflictingClusters
        case noSelector

        public var description: String {
            switch self {
            case .unparsable(let reason): "query cannot be parsed: \(reason)"
            case .unconstrainedSelector: "a selector has no unit matcher"
            case .invalidUnitMatcher(let matcher): "unit matcher \(matcher) is not a list of unit ids"
            case .conflictingClusters: "ceems_id matchers name several clusters"
            case .noSelector: "no selector in the request"
            }
        }
    }

    /// The scope of `selectors`, each of which must select series of listed units: in every `or` group of every
    /// selector, at least one `unitLabel` matcher, and every `unitLabel` matcher an `=` or `=~` whose value is a
    /// `|` list of ids made of `[A-Za-z0-9-]`. An empty alternative is refused as well: `=~"a|"` also matches
    /// series without the label.
    public static func of(_ selectors: [VectorSelector], unitLabel: String) -> UnitScope {
        var scope = UnitScope()
        var uuids = Set<String>()
        var clusters: [String] = []
        for selector in selectors {
            for group in selector.groups {
                var constrained = false
                for matcher in group {
                    if matcher.name == unitLabel {
                        guard let values = Self.idList(matcher, allowEmptyParts: false) else {
                            scope.deny(.invalidUnitMatcher("\(matcher.name)\(matcher.op.rawValue)\"\(matcher.value)\""))
                            continue
                        }
                        uuids.formUnion(values)
                        constrained = true
                    } else if matcher.name == "ceems_id", matcher.op == .equal || matcher.op == .regex,
                        let parts = clusterIDParts(matcher.value)
                    {
                        // The last part routes (§5.2); every part must name that one cluster, or series of
                        // another cluster would be read under this cluster's ownership check.
                        for part in parts {
                            clusters.removeAll { $0 == part }
                            clusters.append(part)
                        }
                    }
                }
                if !constrained { scope.deny(.unconstrainedSelector) }
            }
        }
        if selectors.isEmpty { scope.deny(.noSelector) }
        if clusters.count > 1 { scope.deny(.conflictingClusters) }
        scope.clusterID = clusters.last
        scope.uuids = uuids.sorted()
        return scope
    }

    mutating func deny(_ reason: Denial) {
        if denial == nil { denial = reason }
    }

    /// The ids of an `=`/`=~` matcher whose value is a `|` list of `[A-Za-z0-9-]` ids; `nil` otherwise.
    static func idList(_ matcher: LabelMatcher, allowEmptyParts: Bool) -> [String]? {
        guard matcher.op == .equal || matcher.op == .regex, !matcher.value.isEmpty else { return nil }
        var values: [String] = []
        for part in matcher.value.utf8.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false) {
            if part.isEmpty {
                guard allowEmptyParts else { return nil }
                continue
            }
            guard part.allSatisfy(Self.isIDByte) else { return nil }
            values.append(String(decoding: part, as: UTF8.self))
        }
        return values.isEmpty ? nil : values
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "-")
    }

    /// The non-empty `|` parts of a `ceems_id` value made of `[A-Za-z0-9-_|]`, the routing one last.
    static func clusterIDParts(_ value: String) -> [String]? {
        guard value.utf8.allSatisfy({ isIDByte($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "|") }) else {
            return nil
        }
        let parts = value.split(separator: "|").map(String.init)
        return parts.isEmpty ? nil : parts
    }
}
