import CEEMSCore
import Foundation
import HTTPTypes
import Hummingbird

extension APIHandler {
    func endpointBody(endpoint: String, mode: String?, call: APICall) throws -> ([UInt8], [(HTTPField.Name, String)]) {
        if endpoint == "units" { return (try units(call), []) }
        let (text, headers) = try textBody(endpoint: endpoint, mode: mode, call: call)
        return (Array(text.utf8), headers)
    }

    func textBody(endpoint: String, mode: String?, call: APICall) throws -> (String, [(HTTPField.Name, String)]) {
        switch endpoint {
        case "verify": return (try verify(call), [])
        case "users": return (try users(call), [])
        case "projects": return (try projects(call), [])
        case "clusters": return (Envelope.success(data: Envelope.array(try store.clusters()) { $0.write(to: &$1) }), [])
        case "usage": return mode == "global" ? (try globalUsage(call), []) : try currentUsage(call)
        case "stats": return (try stats(call, current: mode == "current"), [])
        default: throw APIError(.notFound, "not found")
        }
    }

    // MARK: parameters

    /// Requested fields of a model: trimmed, unknown names dropped; all when none is asked; 400 when every
    /// asked name is unknown.
    func fields(_ query: QueryParameters, known: Set<String>, all: [String]) throws -> [String] {
        let asked = query.values("field").map { $0.trimmed(of: " \t") }
        guard !asked.isEmpty else { return all }
        let kept = asked.filter { known.contains($0) }
        guard !kept.isEmpty else { throw APIError.invalidFields }
        return kept
    }

    /// `from`/`to` in Unix seconds (§4.4), as epoch milliseconds.
    func window(_ query: QueryParameters, checkMaxPeriod: Bool = true) throws -> (from: Int64, to: Int64) {
        func seconds(_ name: String) throws -> Int64? {
            guard let text = query.first(name), !text.isEmpty else { return nil }
            guard let value = Int64(text), value > -1 << 40, value < 1 << 40 else {
                throw APIError(.badData, "query parameter '\(name)': malformed timestamp")
            }
            return value
        }
        let from = try seconds("from")
        let to = try seconds("to")
        let day: Int64 = 86400
        let nowSeconds = now() / 1000
        let window: (Int64, Int64)
        switch (from, to) {
        case (let from?, let to?): window = (from, to)
        case (let from?, nil): window = (from, from + day)
        case (nil, let to?): window = (to - day, to)
        case (nil, nil): window = (nowSeconds - day, nowSeconds)
        }
        if checkMaxPeriod, options.maxQueryPeriod > .zero,
            Double(window.1 - window.0) > options.maxQueryPeriod.inSecondsValue
        {
            throw APIError.maxWindow
        }
        return (window.0 * 1000, window.1 * 1000)
    }

    func queriedUsers(_ call: APICall) throws -> APIStore.QueriedUsers {
        try store.queriedUsers(user: call.user, projects: call.query.nonEmpty("project"))
    }

    // MARK: endpoints

    func units(_ call: APICall) throws -> [UInt8] {
        let q = call.query
        var query = APIStore.UnitQuery()
        query.fields = try fields(q, known: ComputeUnit.jsonFieldSet, all: ComputeUnit.jsonFields)
        if call.adminRoute {
            query.adminUsers = q.nonEmpty("user")
        } else {
            query.users = try queriedUsers(call)
        }
        query.clusters = q.nonEmpty("cluster_id")
        query.projects = q.nonEmpty("project")
        query.uuids = q.nonEmpty("uuid")
        query.running = q.has("running")
        if query.uuids.isEmpty {
            (query.from, query.to) = try window(q)
        }
        let zone = q.first("timezone").flatMap { $0.isEmpty ? nil : TimeZone(identifier: $0) }
        let reRender = zone.map { $0.identifier != options.timeZone.identifier } ?? false
        let units = try store.units(query)
        var writer = JSONWriter(capacity: 64 + units.count * 1024)
        writer.raw("{\"status\":\"success\",\"data\":[")
        for (offset, var unit) in units.enumerated() {
            if offset > 0 { writer.raw(",") }
            if reRender, let zone {
                unit.createdAt = Self.render(unit.createdAt, in: zone)
                unit.startedAt = Self.render(unit.startedAt, in: zone)
                unit.endedAt = Self.render(unit.endedAt, in: zone)
            }
            unit.write(to: &writer)
        }
        writer.raw("]}\n")
        return writer.bytes
    }

    static func render(_ text: String, in zone: TimeZone) -> String {
        guard let milliseconds = WallClock.parse(text) else { return text }
        return WallClock.format(milliseconds: milliseconds, zone: zone)
    }

    func verify(_ call: APICall) throws -> String {
        let uuids = call.query.nonEmpty("uuid")
        guard !uuids.isEmpty else { throw APIError.uuidsMissing }
        guard try store.verify(user: call.user, uuids: uuids, clusters: call.query.nonEmpty("cluster_id")) else {
            throw APIError.noPermission
        }
        return Envelope.success(data: "null")
    }

    func users(_ call: APICall) throws -> String {
        let q = call.query
        let users: [User]
        if call.adminRoute {
            if q.values("role").contains("admin") {
                users = try store.adminUsers()
            } else {
                let names = q.nonEmpty("user")
                users = try store.users(names: names.isEmpty ? nil : names, clusters: q.nonEmpty("cluster_id"))
            }
        } else {
            users = try store.users(names: try queriedUsers(call).names, clusters: q.nonEmpty("cluster_id"))
        }
        return Envelope.success(data: Envelope.array(users) { $0.write(to: &$1) })
    }

    func projects(_ call: APICall) throws -> String {
        let q = call.query
        let members = call.adminRoute ? nil : try queriedUsers(call)
        let projects = try store.projects(
            members: members, names: q.nonEmpty("project"), clusters: q.nonEmpty("cluster_id"))
        return Envelope.success(data: Envelope.array(projects) { $0.write(to: &$1) })
    }

    func usageQuery(_ call: APICall) throws -> APIStore.UsageQuery {
        var query = APIStore.UsageQuery()
        let q = call.query
        if call.adminRoute {
            query.adminUsers = q.nonEmpty("user")
        } else {
            query.members = try queriedUsers(call)
        }
        query.clusters = q.nonEmpty("cluster_id")
        query.projects = q.nonEmpty("project")
        return query
    }

    func globalUsage(_ call: APICall) throws -> String {
        let fields = try fields(call.query, known: Usage.jsonFieldSet, all: Usage.jsonFields)
        let rows = try store.globalUsage(try usageQuery(call), fields: fields)
        return Envelope.success(data: Envelope.array(rows) { $0.write(to: &$1) })
    }

    func currentUsage(_ call: APICall) throws -> (String, [(HTTPField.Name, String)]) {
        var q = call.query
        let fields = try fields(q, known: Usage.jsonFieldSet, all: Usage.jsonFields)
        let groupBy = q.nonEmpty("groupby")
        guard groupBy.allSatisfy({ Usage.groupableColumns.contains($0) }) else { throw APIError.invalidRequest }
        var (from, to) = try window(q)
        let quarter: Int64 = 900_000
        from = (from / quarter) * quarter
        to = ((to + quarter - 1) / quarter) * quarter
        q.set("from", [String(from / 1000)])
        q.set("to", [String(to / 1000)])
        let key = q.encoded
        let nowMilliseconds = now()
        if let hit = cache.get(key, now: nowMilliseconds) {
            let expires = HTTPDate.format(milliseconds: hit.expiry)
            return (hit.body, [(HTTPField.Name.expires, expires)])
        }
        let metricFields = fields.compactMap(MetricField.init(rawValue:))
        let experimental = q.has("experimental")
        let rows = try store.currentUsageRows(
            try usageQuery(call),
            from: WallClock.format(milliseconds: from, zone: options.timeZone, offset: false),
            to: WallClock.format(milliseconds: to, zone: options.timeZone, offset: false),
            experimental: experimental, terminatedOnly: q.has("__terminated"), groupBy: groupBy,
            fields: metricFields)
        let groups = CurrentUsageAggregator.aggregate(rows, fields: metricFields, experimental: experimental)
        guard let groups else { return (Envelope.success(data: "null"), []) }
        let selected = Set(fields)
        let body = Envelope.success(
            data: Envelope.array(groups) { usage, writer in
                var usage = usage
                if !selected.contains("cluster_id") { usage.clusterID = "" }
                if !selected.contains("resource_manager") { usage.resourceManager = "" }
                if !selected.contains("num_units") { usage.numUnits = 0 }
                if !selected.contains("project") { usage.project = "" }
                if !selected.contains("groupname") { usage.group = "" }
                if !selected.contains("username") { usage.user = "" }
                usage.metrics = usage.metrics.filter { selected.contains($0.key.rawValue) }
                usage.write(to: &writer)
            })
        if !groups.isEmpty { cache.set(key, body: body, now: nowMilliseconds) }
        return (body, [])
    }

    func stats(_ call: APICall, current: Bool) throws -> String {
        let clusters = call.query.nonEmpty("cluster_id")
        let window = current ? try window(call.query) : nil
        return Envelope.success(data: Envelope.array(try store.stats(clusters: clusters, window: window)) { $0.write(to: &$1) })
    }
}

extension Duration {
    var inSecondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// RFC 1123 dates in GMT (`Expires`, §15 #27).
enum HTTPDate {
    static func format(milliseconds: Int64) -> String {
        let seconds = milliseconds / 1000
        let days = seconds / 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        let civil = WallClock.civil(seconds: seconds)  // YYYY-MM-DDTHH:MM:SS
        let parts = civil.split(separator: "T")
        let date = parts[0].split(separator: "-")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = months[(Int(date[1]) ?? 1) - 1]
        return "\(weekday), \(date[2]) \(month) \(date[0]) \(parts[1]) GMT"
    }
}
