/// Current usage computed at query time (§4.5.6 steps 4–6) from source rows already restricted to the caller's
/// visibility, so metric keys are discovered among visible rows only (§15 #14).
enum CurrentUsageAggregator {
    /// `nil` when no metric field is requested or none of them has a key: the API then answers `data: null`.
    static func aggregate(_ rows: [Usage], fields: [MetricField], experimental: Bool) -> [Usage]? {
        var keys: [MetricField: Set<String>] = [:]
        for field in fields {
            var found = Set<String>()
            for row in rows { if let map = row.metrics[field] { found.formUnion(map.values.keys) } }
            if !found.isEmpty { keys[field] = found }
        }
        guard !keys.isEmpty else { return nil }
        struct GroupKey: Hashable {
            var cluster: String
            var project: String
            var user: String
            var extra: [String]
        }
        var order: [GroupKey] = []
        var groups: [GroupKey: [Usage]] = [:]
        for row in rows {
            let key = GroupKey(cluster: row.clusterID, project: row.project, user: row.user, extra: row.groupKey)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        var result: [Usage] = []
        for key in order {
            let members = groups[key] ?? []
            var usage = Usage()
            usage.clusterID = key.cluster
            usage.project = key.project
            usage.user = key.user
            usage.groupKey = key.extra
            usage.resourceManager = members.first?.resourceManager ?? ""
            usage.group = members.first?.group ?? ""
            usage.numUnits = experimental ? members.reduce(0) { $0 + $1.numUnits } : Int64(members.count)
            for (field, fieldKeys) in keys {
                var values: [String: Double] = [:]
                if let weightKey = field.weightKey {
                    // Σ(v·w) over rows having the key ÷ Σw over all rows of the group.
                    var totalWeight = 0.0
                    var sums: [String: Double] = [:]
                    for row in members {
                        let weight = row.metrics[.totalTimeSeconds]?[weightKey] ?? 0
                        let w = weight.isFinite ? weight : 0
                        totalWeight += w
                        for (k, v) in row.metrics[field]?.values ?? [:] where v.isFinite { sums[k, default: 0] += v * w }
                    }
                    for k in fieldKeys {
                        let sum = sums[k] ?? 0
                        values[k] = totalWeight > 0 ? sum / totalWeight : 0
                    }
                } else {
                    for k in fieldKeys {
                        values[k] = members.reduce(0) { sum, row in
                            let v = row.metrics[field]?[k] ?? 0
                            return sum + (v.isFinite ? v : 0)
                        }
                    }
                }
                usage.metrics[field] = MetricMap(values)
            }
            result.append(usage)
        }
        result.sort {
            ($0.clusterID, $0.user, $0.project, $0.groupKey.joined(separator: "\u{0}"))
                < ($1.clusterID, $1.user, $1.project, $1.groupKey.joined(separator: "\u{0}"))
        }
        return result
    }
}
