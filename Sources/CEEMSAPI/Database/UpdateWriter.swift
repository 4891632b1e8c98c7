import CEEMSCore
import GRDB

/// What one update cycle writes, in one transaction.
public struct UpdateBatch: Sendable {
    public var units: [ComputeUnit] = []
    public var users: [User] = []
    public var projects: [Project] = []
    /// Window of the update, epoch ms.
    public var windowStart: Int64 = 0
    public var windowEnd: Int64 = 0
    /// Admin names per source (`ceems`, `grafana`); `nil` leaves that source's rows as they are.
    public var admins: [String: [String]] = [:]
    /// `YYYY-MM-DD`: rows at or before it are purged; `nil` disables the purge.
    public var purgeCutoff: String?
    /// Wall time of the update end (`last_updated_at`) and its day's midnight (`daily_usage` bucket).
    public var lastUpdatedAt = ""
    public var dailyBucket = ""

    public init() {}
}

/// The write path of an update cycle (§7 step 4).
public struct UpdateWriter: Sendable {
    public let database: AppDatabase

    public init(database: AppDatabase) { self.database = database }

    static let metricColumns = MetricField.allCases.map(\.rawValue)

    public func write(_ batch: UpdateBatch) throws {
        try database.pool.write { db in
            if let cutoff = batch.purgeCutoff { try purge(db, cutoff: cutoff) }
            for unit in batch.units where !unit.uuid.isEmpty {
                // A unit counts once, when its row is first written. The reference counts units that started in
                // the window (every unit when the database was empty), which counts a running unit again in each
                // catch-up window after an empty start; both agree otherwise.
                let counts = try upsertUnit(db, unit, batch: batch)
                try upsertUsage(db, table: "usage", unit: unit, counts: counts, lastUpdatedAt: batch.lastUpdatedAt)
                try upsertUsage(db, table: "daily_usage", unit: unit, counts: counts, lastUpdatedAt: batch.dailyBucket)
            }
            for user in batch.users { try upsertMember(db, table: "users", listColumn: "projects", user.asMember) }
            for project in batch.projects {
                try upsertMember(db, table: "projects", listColumn: "users", project.asMember)
            }
            if !batch.admins.isEmpty { try replaceAdmins(db, batch.admins, lastUpdatedAt: batch.lastUpdatedAt) }
        }
    }

    func purge(_ db: Database, cutoff: String) throws {
        // `ended_at` starts with the date; `Unknown`/`N/A` sort after digits and never match.
        try db.execute(sql: "DELETE FROM units WHERE ended_at <= ? AND ended_at GLOB '[0-9]*'", arguments: [cutoff])
        for table in ["usage", "daily_usage", "users", "projects"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE last_updated_at <= ?", arguments: [cutoff])
        }
    }

    /// Inserts or merges a unit; returns whether a new row was inserted.
    @discardableResult
    func upsertUnit(_ db: Database, _ unit: ComputeUnit, batch: UpdateBatch) throws -> Bool {
        // Same unit: same start, or a stored row that has not ended and whose start was unknown (§15 #29).
        let existing = try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                SELECT id FROM units WHERE cluster_id = ? AND uuid = ? AND (
                  started_at = ? OR (started_at_ts = ? AND ? > 0)
                  OR ((ended_at_ts IS NULL OR ended_at_ts <= 0)
                      AND (started_at IN ('N/A', 'Unknown') OR started_at_ts IS NULL OR started_at_ts <= 0)))
                ORDER BY (started_at = ?) DESC, id DESC LIMIT 1
                """),
            arguments: [unit.clusterID, unit.uuid, unit.startedAt, unit.startedAtTS, unit.startedAtTS, unit.startedAt])
        let maps = unit.metricTexts
        if let existing {
            var assignments = [
                "started_at = ?", "started_at_ts = ?", "ended_at = ?", "ended_at_ts = ?", "elapsed = ?", "state = ?",
                "tags = ?", "ignore = ?",
                "project = CASE WHEN project IS NULL OR project = '' THEN ? ELSE project END",
                "username = CASE WHEN username IS NULL OR username = '' THEN ? ELSE username END",
            ]
            var arguments: StatementArguments = [
                unit.startedAt, unit.startedAtTS, unit.endedAt, unit.endedAtTS, unit.elapsed, unit.state,
                unit.tagsText, unit.ignore ? 1 : 0, unit.project, unit.user,
            ]
            for (field, text) in zip(MetricField.allCases, maps) {
                let (expression, values) = Self.merge(field: field, newText: text, newTotal: maps[0])
                assignments.append("\(field.rawValue) = \(expression)")
                arguments += values
            }
            assignments.append("num_updates = num_updates + 1")
            assignments.append("last_updated_at = ?")
            arguments += [batch.lastUpdatedAt, existing]
            try db.cachedStatement(sql: "UPDATE units SET \(assignments.joined(separator: ", ")) WHERE id = ?")
                .execute(arguments: arguments)
            return false
        }
        let columns =
            [
                "resource_manager", "cluster_id", "uuid", "name", "project", "groupname", "username", "created_at",
                "started_at", "ended_at", "created_at_ts", "started_at_ts", "ended_at_ts", "elapsed", "state",
                "allocation", "tags",
            ] + Self.metricColumns + ["ignore", "num_updates", "last_updated_at"]
        var arguments: StatementArguments = [
            unit.resourceManager, unit.clusterID, unit.uuid, unit.name, unit.project, unit.group, unit.user,
            unit.createdAt, unit.startedAt, unit.endedAt, unit.createdAtTS, unit.startedAtTS, unit.endedAtTS,
            unit.elapsed, unit.state, unit.allocationText, unit.tagsText,
        ]
        // A metric no updater produced is stored as the text `null`, as the reference does.
        for text in maps { arguments += [text ?? "null"] }
        arguments += [unit.ignore ? 1 : 0, 1, batch.lastUpdatedAt]
        try db.cachedStatement(
            sql: """
                INSERT INTO units (\(columns.joined(separator: ","))) VALUES (\(Self.placeholders(columns.count)))
                ON CONFLICT(cluster_id, uuid, started_at) DO NOTHING
                """
        ).execute(arguments: arguments)
        return db.changesCount > 0
    }

    /// The SQL merging a stored map with a new one: totals add, averages are weighted by allocated time.
    /// `newTotal` is the new `total_time_seconds` text (the weights of the new values).
    static func merge(field: MetricField, newText: String?, newTotal: String?, table: String? = nil) -> (
        String, StatementArguments
    ) {
        let column = table.map { "\($0).\(field.rawValue)" } ?? field.rawValue
        guard let newText else {
            // No new value: keep what is stored.
            return (column, [])
        }
        if let key = field.weightKey {
            let total = table.map { "\($0).total_time_seconds" } ?? "total_time_seconds"
            return (
                "avg_metric_map(\(column), ?, json_extract(CASE WHEN json_valid(\(total)) THEN \(total) END, '$.\(key)'), ?)",
                [newText, MetricMap.parse(newTotal)?[key]]
            )
        }
        return ("add_metric_map(\(column), ?)", [newText])
    }

    func upsertUsage(_ db: Database, table: String, unit: ComputeUnit, counts: Bool, lastUpdatedAt: String) throws {
        let maps = unit.metricTexts
        var updates = ["num_units = \(table).num_units + excluded.num_units"]
        var updateArguments: StatementArguments = []
        for (field, text) in zip(MetricField.allCases, maps) {
            let (expression, values) = Self.merge(field: field, newText: text, newTotal: maps[0], table: table)
            updates.append("\(field.rawValue) = \(expression)")
            updateArguments += values
        }
        updates += [
            "num_updates = \(table).num_updates + 1", "last_updated_at = excluded.last_updated_at",
            "resource_manager = excluded.resource_manager", "groupname = excluded.groupname",
        ]
        let columns =
            ["resource_manager", "cluster_id", "num_units", "project", "username", "groupname"] + Self.metricColumns
            + ["num_updates", "last_updated_at"]
        var arguments: StatementArguments = [
            unit.resourceManager, unit.clusterID, counts ? 1 : 0, unit.project, unit.user, unit.group,
        ]
        // A new row stores the unit's maps as they are (a null map stays `{}`, the column default).
        for text in maps { arguments += [text ?? "{}"] }
        arguments += [1, lastUpdatedAt]
        arguments += updateArguments
        let conflict = table == "usage" ? "cluster_id,username,project" : "cluster_id,username,project,last_updated_at"
        try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES (\(Self.placeholders(columns.count)))
                ON CONFLICT(\(conflict)) DO UPDATE SET \(updates.joined(separator: ", "))
                """
        ).execute(arguments: arguments)
    }

    struct Member {
        var uid: String
        var clusterID: String
        var resourceManager: String
        var name: String
        var list: [String]?
        var tags: [String]?
        var lastUpdatedAt: String
    }

    func upsertMember(_ db: Database, table: String, listColumn: String, _ member: Member) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (uid, cluster_id, resource_manager, name, \(listColumn), tags, last_updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(cluster_id, name) DO UPDATE SET uid = excluded.uid,
                  resource_manager = excluded.resource_manager, \(listColumn) = excluded.\(listColumn),
                  tags = excluded.tags, last_updated_at = excluded.last_updated_at
                """
        ).execute(arguments: [
            member.uid, member.clusterID, member.resourceManager, member.name, [String].storedText(member.list),
            [String].storedText(member.tags), member.lastUpdatedAt,
        ])
    }

    /// Replaces the admin rows: one per name, tagged `grafana` when Grafana lists it, else `ceems`; names in no
    /// current list are deleted (§15 #3).
    func replaceAdmins(_ db: Database, _ sources: [String: [String]], lastUpdatedAt: String) throws {
        var tagByName: [String: String] = [:]
        for name in sources["ceems"] ?? [] where !name.isEmpty { tagByName[name] = "ceems" }
        for name in sources["grafana"] ?? [] where !name.isEmpty { tagByName[name] = "grafana" }
        let stored = try String.fetchAll(db, sql: "SELECT name FROM admin_users WHERE cluster_id = 'all'")
        for name in stored where tagByName[name] == nil {
            try db.execute(sql: "DELETE FROM admin_users WHERE cluster_id = 'all' AND name = ?", arguments: [name])
        }
        for (name, tag) in tagByName.sorted(by: { $0.key < $1.key }) {
            try db.execute(
                sql: """
                    INSERT INTO admin_users (uid, cluster_id, resource_manager, name, projects, tags, last_updated_at)
                    VALUES ('', 'all', '', ?, '[]', ?, ?)
                    ON CONFLICT(cluster_id, name) DO UPDATE SET tags = excluded.tags,
                      last_updated_at = excluded.last_updated_at
                    """,
                arguments: [name, [String].storedText([tag]), lastUpdatedAt])
        }
    }

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ",")
    }
}

extension ComputeUnit {
    /// The stored text of each metric column, in `MetricField.allCases` order (`nil` = SQL null text).
    var metricTexts: [String?] {
        MetricField.allCases.map { field in metrics[field].map(\.json) }
    }

    var allocationText: String { Self.objectText(allocation) }
    var tagsText: String { Self.objectText(tags) }

    static func objectText(_ value: JSONValue?) -> String {
        guard let value else { return "{}" }
        var writer = JSONWriter()
        writer.value(value)
        return writer.text
    }
}

extension User {
    var asMember: UpdateWriter.Member {
        .init(
            uid: uid, clusterID: clusterID, resourceManager: resourceManager, name: name, list: projects, tags: tags,
            lastUpdatedAt: lastUpdatedAt)
    }
}

extension Project {
    var asMember: UpdateWriter.Member {
        .init(
            uid: uid, clusterID: clusterID, resourceManager: resourceManager, name: name, list: users, tags: tags,
            lastUpdatedAt: lastUpdatedAt)
    }
}
