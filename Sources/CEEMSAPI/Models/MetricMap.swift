import CEEMSCore
#if canImport(Glibc)
    import Glibc
#endif

/// A map of metric sub-keys to values (`{"global":0.5}`, `{"rte_total":12.1}`), as stored in the `units`,
/// `usage` and `daily_usage` columns and served by the API.
///
/// Canonical text: keys sorted; NaN and ±Inf as `0`; integral values below 2^63 as bare integers; anything else
/// with exactly 8 decimals (`133.04426070`) — the reference's encoding, kept so existing databases and clients
/// read the same bytes.
public struct MetricMap: Sendable, Equatable {
    public var values: [String: Double]

    public init(_ values: [String: Double] = [:]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }

    public subscript(key: String) -> Double? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// Parses a stored map; `nil` for SQL NULL, the text `null` or anything that is not a JSON object.
    /// Non-numeric members are dropped.
    public static func parse(_ text: String?) -> MetricMap? {
        guard let text, !text.isEmpty, text != "null", case .object(let members)? = JSONValue.parse(text) else {
            return nil
        }
        var values: [String: Double] = [:]
        values.reserveCapacity(members.count)
        for (key, value) in members {
            if let number = value.doubleValue { values[key] = number }
        }
        return MetricMap(values)
    }

    /// The canonical JSON text.
    public var json: String {
        var writer = JSONWriter(capacity: 16 + values.count * 24)
        write(to: &writer)
        return writer.text
    }

    public func write(to writer: inout JSONWriter) {
        writer.raw("{")
        var first = true
        for key in values.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            if !first { writer.raw(",") }
            first = false
            writer.string(key)
            writer.raw(":")
            writer.raw(MetricMap.format(values[key] ?? 0))
        }
        writer.raw("}")
    }

    /// One value in the canonical number format.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        if value == value.rounded(.towardZero), abs(value) < 9.223372036854775808e18 {
            return String(Int64(value))
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buffer in
            let count = withVaList([value]) { vsnprintf(buffer.baseAddress, 400, "%.8f", $0) }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)), as: UTF8.self)
        }
    }

    /// Union of keys with values summed (a missing key counts as 0): `add_metric_map`.
    public static func adding(_ lhs: MetricMap?, _ rhs: MetricMap?) -> MetricMap {
        var result = lhs ?? MetricMap()
        for (key, value) in rhs?.values ?? [:] {
            result.values[key, default: 0] += value.isFinite ? value : 0
        }
        return result
    }

    /// Per key Σ(v·w)/Σw over the maps holding the key; when Σw ≤ 0 the undivided Σ(v·w) is kept:
    /// `avg_metric_map`. A missing weight counts as 0.
    public static func weightedAverage(
        _ lhs: MetricMap?, _ rhs: MetricMap?, weights: (Double?, Double?)
    ) -> MetricMap {
        let w1 = weights.0.flatMap { $0.isFinite ? $0 : nil } ?? 0
        let w2 = weights.1.flatMap { $0.isFinite ? $0 : nil } ?? 0
        var sums: [String: Double] = [:]
        var totals: [String: Double] = [:]
        for (map, weight) in [(lhs, w1), (rhs, w2)] {
            for (key, value) in map?.values ?? [:] {
                sums[key, default: 0] += (value.isFinite ? value : 0) * weight
                totals[key, default: 0] += weight
            }
        }
        var result: [String: Double] = [:]
        for (key, sum) in sums {
            let total = totals[key] ?? 0
            result[key] = total > 0 ? sum / total : sum
        }
        return MetricMap(result)
    }
}

extension JSONValue {
    /// A number in the metric-map format.
    public static func number(_ value: Double) -> JSONValue { .number(value, text: MetricMap.format(value)) }
}
