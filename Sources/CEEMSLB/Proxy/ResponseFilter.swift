import CEEMSCore

/// Removes configured labels from TSDB query responses (§6.1).
public enum ResponseFilter {
    /// What a path's response holds, for filtering.
    enum Shape: Equatable {
        case query, series, labels, labelValues(name: String)
    }

    static func shape(path: String) -> Shape? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let last = segments.last else { return nil }
        switch last {
        case "query", "query_range": return .query
        case "series": return .series
        case "labels": return .labels
        case "values" where segments.count >= 3 && segments[segments.count - 3] == "label":
            return .labelValues(name: String(segments[segments.count - 2]))
        default: return nil
        }
    }

    /// Whether responses of `path` are filtered at all (other paths pass through unchanged, §12 #7).
    public static func applies(path: String) -> Bool { shape(path: path) != nil }

    /// The filtered body, or `nil` to send the original (not JSON, no result, or not a filtered path).
    public static func filter(_ body: [UInt8], path: String, labels: Set<String>) -> [UInt8]? {
        guard !labels.isEmpty, let shape = shape(path: path),
            let document = body.withUnsafeBufferPointer({ JSONValue.parse(bytes: $0) }),
            case .object(var members) = document
        else { return nil }
        let data = document["data"]
        switch shape {
        case .query:
            guard case .object(var dataMembers)? = data, case .array(let results)? = data?["result"] else { return nil }
            let filtered = results.map { item -> JSONValue in
                guard case .object(var fields) = item else { return item }
                if let index = fields.firstIndex(where: { $0.0 == "metric" }), case .object(let metric) = fields[index].1 {
                    fields[index].1 = .object(metric.filter { !labels.contains($0.0) })
                }
                return .object(ordered(fields, first: ["metric", "value", "values"], nullDefaults: ["value", "values"]))
            }
            replace(&dataMembers, key: "result", with: .array(filtered))
            replace(&members, key: "data", with: .object(ordered(dataMembers, first: ["resultType", "result"])))
        case .series:
            guard case .array(let items)? = data else { return nil }
            let filtered = items.map { item -> JSONValue in
                guard case .object(let fields) = item else { return item }
                return .object(fields.filter { !labels.contains($0.0) })
            }
            setData(&members, filtered.isEmpty ? nil : .array(filtered))
        case .labels:
            guard case .array(let names)? = data else { return nil }
            let kept = names.filter { name in name.stringValue.map { !labels.contains($0) } ?? true }
            setData(&members, kept.isEmpty ? nil : .array(kept))
        case .labelValues(let name):
            guard labels.contains(name) else { return nil }
            setData(&members, nil)
        }
        var writer = JSONWriter(capacity: body.count)
        writeTopLevel(ordered(members, first: ["status", "data", "errorType", "error", "warnings", "infos"]), into: &writer)
        return writer.bytes
    }

    static func replace(_ members: inout [(String, JSONValue)], key: String, with value: JSONValue) {
        if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value }
    }

    static func setData(_ members: inout [(String, JSONValue)], _ value: JSONValue?) {
        members.removeAll { $0.0 == "data" }
        if let value { members.append(("data", value)) }
    }

    /// `first` keys in that order (the ones in `nullDefaults` as `null` when missing), then the others in
    /// document order.
    static func ordered(_ members: [(String, JSONValue)], first: [String], nullDefaults: Set<String> = [])
        -> [(String, JSONValue)]
    {
        var result: [(String, JSONValue)] = []
        for key in first {
            if let member = members.last(where: { $0.0 == key }) {
                result.append(member)
            } else if nullDefaults.contains(key) {
                result.append((key, .null))
            }
        }
        for member in members where !first.contains(member.0) { result.append(member) }
        return result
    }

    /// Keys in the given order, metric label sets sorted as Go marshals maps.
    static func writeTopLevel(_ members: [(String, JSONValue)], into writer: inout JSONWriter) {
        writeObject(members, into: &writer, depth: 0)
    }

    static func writeObject(_ members: [(String, JSONValue)], into writer: inout JSONWriter, depth: Int) {
        writer.raw("{")
        for (offset, (key, value)) in members.enumerated() {
            if offset > 0 { writer.raw(",") }
            writer.string(key)
            writer.raw(":")
            switch value {
            case .object(let nested) where key != "metric":
                writeObject(nested, into: &writer, depth: depth + 1)
            case .array(let items) where key == "result":
                writer.raw("[")
                for (index, item) in items.enumerated() {
                    if index > 0 { writer.raw(",") }
                    if case .object(let fields) = item {
                        writeObject(fields, into: &writer, depth: depth + 1)
                    } else {
                        writer.value(item, sortKeys: false)
                    }
                }
                writer.raw("]")
            default:
                writer.value(value, sortKeys: key == "metric")
            }
        }
        writer.raw("}")
    }
}
