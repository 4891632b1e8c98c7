import Foundation
import GRDB

/// The read side of the HTTP API, on read-only connections. Every request value is a bound argument.
public struct APIStore: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    // MARK: identity

    /// Names of `admin_users`.
    public func adminNames() throws -> Set<String> {
        try database.pool.read { db in Set(try String.fetchAll(db, sql: "SELECT name FROM admin_users")) }
    }

    /// The users whose rows a non-admin may read: the user, plus `<p>:unknown` (Kubernetes service-account pods)
    /// for each requested project `p` the user is a member of, per cluster.
    public func queriedUsers(user: String, projects: [String]) throws -> QueriedUsers {
        guard !projects.isEmpty else { return QueriedUsers(user: user, pseudo: []) }
        let pseudo = try database.pool.read { db -> [(String, String)] in
            var filter = SQLFilter()
            filter.any("p.name", projects)
            filter.add(
                "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(p.users) THEN p.users ELSE '[]' END) j WHERE j.value = ?)",
                [user])
            return try Row.fetchAll(db, sql: "SELECT p.cluster_id, p.name FROM projects p" + filter.clause, arguments: filter.arguments)
                .map { ($0[0] ?? "", ($0[1] ?? "") + ":unknown") }
        }
        return QueriedUsers(user: user, pseudo: pseudo)
    }

    public struct QueriedUsers: Sendable {
        public var user: String
        /// (cluster, `<project>:unknown`) pairs.
        public var pseudo: [(String, String)]

        var names: [String] { [user] + pseudo.map(\.1) }

        /// `username` is the user, or one of the pseudo users in its cluster.
        func condition(table: String, into filter: inout SQLFilter) {
            var parts = ["\(table).username = ?"]
            var values: [String] = [user]
            for (cluster, name) in pseudo {
                parts.append("(\(table).cluster_id = ? AND \(table).username = ?)")
                values += [cluster, name]
            }
            filter.add("(" + parts.joined(separator: " OR ") + ")", values)
        }
    }

    // MARK: units

    public struct UnitQuery: Sendable {
        public var users: QueriedUsers?
        public var adminUsers: [String] = []
        public var clusters: [String] = []
        public var projects: [String] = []
        public var uuids: [String] = []
        public var running = false
        public var from: Int64 = 0
        public var to: Int64 = 0
        public var fields: [String] = ComputeUnit.jsonFields

        public init() {}
    }

    public func units(_ query: UnitQuery) throws -> [ComputeUnit] {
        var filter = SQLFilter()
        filter.add("ignore = 0")
        if let users = query.users {
            users.condition(table: "units", into: &filter)
        } else {
            filter.any("username", query.adminUsers)
        }
        filter.any("project", query.projects)
        filter.any("cluster_id", query.clusters)
        if !query.uuids.isEmpty {
            filter.any("uuid", query.uuids)
        } else if query.running {
            filter.add("((ended_at_ts >= ? AND ended_at_ts <= ?) OR ended_at_ts = 0)", [query.from, query.to])
        } else {
            filter.add("ended_at_ts >= ? AND ended_at_ts <= ?", [query.from, query.to])
        }
        let columns = ComputeUnit.columns(forFields: query.fields)
        let kinds = columns.compactMap(ComputeUnit.Column.init)
        let sql =
            "SELECT \(columns.joined(separator: ",")) FROM units\(filter.clause) ORDER BY cluster_id, CAST(uuid AS TEXT)"
        return try database.pool.read { db in
            var units: [ComputeUnit] = []
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: filter.arguments)
            while let row = try cursor.next() {
                units.append(ComputeUnit(row: row, columns: kinds))
            }
            return units
        }
    }

    /// Every distinct uuid has a row in one of `clusters` whose project has `user` as member (§4.5.2, §15 #8, #9).
    public func verify(user: String, uuids: [String], clusters: [String]) throws -> Bool {
        let wanted = Set(uuids)
        guard !wanted.isEmpty, !clusters.isEmpty else { return false }
        var filter = SQLFilter()
        filter.any("uuid", Array(wanted))
        filter.any("cluster_id", clusters)
        filter.add(membershipCondition(table: "units"), [user])
        let owned = try database.pool.read { db in
            Set(try String.fetchAll(db, sql: "SELECT DISTINCT uuid FROM units" + filter.clause, arguments: filter.arguments))
        }
        return owned.isSuperset(of: wanted)
    }

    // MARK: users, projects, clusters

    /// Users named `names` (all when `nil`) in `clusters` (all when empty).
    public func users(names: [String]?, clusters: [String]) throws -> [User] {
        if let names, names.isEmpty { return [] }
        var filter = SQLFilter()
        if let names { filter.any("name", names) }
        filter.any("cluster_id", clusters)
        return try database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT uid, cluster_id, resource_manager, name, projects, tags FROM users\(filter.clause) ORDER BY cluster_id, name",
                arguments: filter.arguments
            ).map(User.init(row:))
        }
    }

    public func adminUsers() throws -> [User] {
        try database.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT uid, cluster_id, resource_manager, name, projects, tags FROM admin_users ORDER BY name"
            ).map(User.init(row:))
        }
    }

    /// Projects (non-admin: of which one of `members` is a member).
    public func projects(members: QueriedUsers?, names: [String], clusters: [String]) throws -> [Project] {
        var filter = SQLFilter()
        if let members {
            let names = members.names
            filter.add(
                "EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(projects.users) THEN projects.users ELSE '[]' END) j WHERE j.value IN (\(UpdateWriter.placeholders(names.count))))",
                names)
        }
        filter.any("name", names)
        filter.any("cluster_id", clusters)
        return try database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT uid, cluster_id, resource_manager, name, users, tags FROM projects\(filter.clause) ORDER BY cluster_id, name",
                arguments: filter.arguments
            ).map(Project.init(row:))
        }
    }

    public func clusters() throws -> [ClusterSummary] {
        try database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT DISTINCT cluster_id, resource_manager FROM units ORDER BY cluster_id, resource_manager"
            ).map { ClusterSummary(id: $0[0] ?? "", manager: $0[1] ?? "") }
        }
    }

    // MARK: usage and stats

    public struct UsageQuery: Sendable {
        /// Non-admin: the queried users (visibility by membership). Admin: `nil`.
        public var members: QueriedUsers?
        /// Admin `user[]` filter (visibility: projects with one of them as member).
        public var adminUsers: [String] = []
        public var clusters: [String] = []
        public var projects: [String] = []

        public init() {}
    }

    func visibility(_ query: UsageQuery, table: String, into filter: inout SQLFilter) {
        let members = query.members?.names ?? query.adminUsers
        if members.isEmpty {
            // Admin without `user`: any project with at least one member.
            filter.add(
                """
                EXISTS (SELECT 1 FROM projects p WHERE p.cluster_id = \(table).cluster_id AND p.name = \(table).project
                  AND json_valid(p.users) AND json_array_length(p.users) > 0)
                """)
        } else {
            filter.add(
                """
                EXISTS (SELECT 1 FROM projects p, json_each(CASE WHEN json_valid(p.users) THEN p.users ELSE '[]' END) j
                  WHERE p.cluster_id = \(table).cluster_id AND p.name = \(table).project
                  AND j.value IN (\(UpdateWriter.placeholders(members.count))))
                """, members)
        }
        filter.any("\(table).cluster_id", query.clusters)
        filter.any("\(table).project", query.projects)
    }

    public func globalUsage(_ query: UsageQuery, fields: [String]) throws -> [Usage] {
        var filter = SQLFilter()
        visibility(query, table: "usage", into: &filter)
        let columns = Usage.columns(forFields: fields)
        return try database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(columns.joined(separator: ",")) FROM usage\(filter.clause) ORDER BY cluster_id, username, project",
                arguments: filter.arguments
            ).map { Usage(row: $0, columns: columns) }
        }
    }

    /// Source rows of current usage: units (or `daily_usage` when `experimental`) updated in the window.
    public func currentUsageRows(
        _ query: UsageQuery, from: String, to: String, experimental: Bool, terminatedOnly: Bool,
        groupBy: [String], fields: [MetricField]
    ) throws -> [Usage] {
        let table = experimental ? "daily_usage" : "units"
        var filter = SQLFilter()
        visibility(query, table: table, into: &filter)
        filter.add("\(table).last_updated_at >= ? AND \(table).last_updated_at <= ?", [from, to])
        if terminatedOnly && !experimental { filter.add("\(table).ended_at_ts > 0") }
        let base = ["cluster_id", "resource_manager", "project", "username", "groupname"]
        var columns = base + (experimental ? ["num_units"] : [])
        for column in groupBy where !columns.contains(column) { columns.append(column) }
        var metricColumns = Set(fields.map(\.rawValue))
        if fields.contains(where: \.isAverage) { metricColumns.insert(MetricField.totalTimeSeconds.rawValue) }
        let selected = columns + MetricField.allCases.map(\.rawValue).filter { metricColumns.contains($0) && !columns.contains($0) }
        return try database.pool.read { db in
            var rows: [Usage] = []
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT \(selected.map { "\(table).\($0)" }.joined(separator: ",")) FROM \(table)\(filter.clause)",
                arguments: filter.arguments)
            while let row = try cursor.next() {
                var usage = Usage(row: row, columns: selected)
                if !experimental { usage.numUnits = 1 }
                usage.groupKey = groupBy.map { column in row[column].map { "\($0)" } ?? "" }
                rows.append(usage)
            }
            return rows
        }
    }

    public func stats(clusters: [String], window: (from: Int64, to: Int64)?) throws -> [Stat] {
        var filter = SQLFilter()
        filter.any("cluster_id", clusters)
        if let window {
            filter.add("((ended_at_ts >= ? AND ended_at_ts <= ?) OR ended_at_ts = 0)", [window.from, window.to])
        }
        return try database.pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT cluster_id, MAX(resource_manager), COUNT(*), SUM(ended_at_ts > 0), SUM(ended_at_ts = 0 OR ended_at_ts IS NULL),
                      COUNT(DISTINCT project), COUNT(DISTINCT username)
                    FROM units\(filter.clause) GROUP BY cluster_id ORDER BY cluster_id
                    """,
                arguments: filter.arguments
            ).map { row in
                Stat(
                    clusterID: row[0] ?? "", resourceManager: row[1] ?? "", numUnits: row[2] ?? 0,
                    numInactiveUnits: row[3] ?? 0, numActiveUnits: row[4] ?? 0, numProjects: row[5] ?? 0,
                    numUsers: row[6] ?? 0)
            }
        }
    }
}
