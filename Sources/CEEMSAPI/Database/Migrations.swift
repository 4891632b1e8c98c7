import GRDB

/// The schema, as golang-migrate versions recorded in `schema_migrations(version, dirty)`: the reference's
/// layout, so a reference database opens and continues. Append-only: never edit a shipped version.
///
/// Versions 8 and 9 look at the table before changing it: databases written by some reference releases already
/// hold the rebuilt `admin_users` and the `total_egress_stats` name while recording an older version.
enum Migrations {
    static let latestVersion: Int64 = 9

    static func metricColumns(egressName: String) -> String {
        """
         "total_time_seconds" text default '{}',
         "avg_cpu_usage" text default '{}',
         "avg_cpu_mem_usage" text default '{}',
         "total_cpu_energy_usage_kwh" text default '{}',
         "total_cpu_emissions_gms" text default '{}',
         "avg_gpu_usage" text default '{}',
         "avg_gpu_mem_usage" text default '{}',
         "total_gpu_energy_usage_kwh" text default '{}',
         "total_gpu_emissions_gms" text default '{}',
         "total_io_write_stats" text default '{}',
         "total_io_read_stats" text default '{}',
         "total_ingress_stats" text default '{}',
         "\(egressName)" text default '{}',
        """
    }

    static func usageTable(_ name: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(name) (
         "id" integer not null primary key,
         "resource_manager" text default "",
         "cluster_id" text,
         "num_units" integer,
         "project" text,
         "username" text,
         "groupname" text,
        \(metricColumns(egressName: "total_outgress_stats"))
         "num_updates" integer default 0,
         "last_updated_at" text
        );
        """
    }

    static let steps: [(version: Int64, apply: @Sendable (Database) throws -> Void)] = [
        (
            1,
            { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS units (
                         "id" integer not null primary key,
                         "resource_manager" text default "",
                         "cluster_id" text,
                         "uuid" text,
                         "name" text,
                         "project" text,
                         "groupname" text,
                         "username" text,
                         "created_at" text,
                         "started_at" text,
                         "ended_at" text,
                         "created_at_ts" integer,
                         "started_at_ts" integer,
                         "ended_at_ts" integer,
                         "elapsed" text,
                         "state" text,
                         "allocation" text default '{}',
                         "tags" text default '{}',
                        \(metricColumns(egressName: "total_outgress_stats"))
                         "ignore" integer,
                         "num_updates" integer default 0,
                         "last_updated_at" text
                        );
                        CREATE INDEX IF NOT EXISTS idx_cluster_id_usr_uuid ON units (cluster_id,username,uuid);
                        CREATE UNIQUE INDEX IF NOT EXISTS uq_cluster_id_uuid_start ON units (cluster_id,uuid,started_at);
                        """)
            }
        ),
        (
            2,
            { db in
                try db.execute(sql: usageTable("usage"))
                try db.execute(
                    sql: "CREATE UNIQUE INDEX IF NOT EXISTS uq_cluster_id_project_usr ON usage (cluster_id,username,project);")
            }
        ),
        (
            3,
            { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS users (
                         "id" integer not null primary key,
                         "uid" text,
                         "cluster_id" text,
                         "resource_manager" text,
                         "name" text,
                         "projects" text default '[]',
                         "tags" text default '[]',
                         "last_updated_at" text
                        );
                        CREATE UNIQUE INDEX IF NOT EXISTS uq_cluster_id_user ON users (cluster_id,name);
                        """)
            }
        ),
        (
            4,
            { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS projects (
                         "id" integer not null primary key,
                         "uid" text,
                         "cluster_id" text,
                         "resource_manager" text,
                         "name" text,
                         "users" text default '[]',
                         "tags" text default '[]',
                         "last_updated_at" text
                        );
                        CREATE UNIQUE INDEX IF NOT EXISTS uq_cluster_id_project ON projects (cluster_id,name);
                        """)
            }
        ),
        (
            5,
            { db in
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS admin_users (
                         "id" integer not null primary key,
                         "source" text,
                         "users" text default '[]',
                         "last_updated_at" text
                        );
                        CREATE UNIQUE INDEX IF NOT EXISTS uq_source ON admin_users (source);
                        """)
            }
        ),
        (
            6,
            { db in
                try db.execute(
                    sql:
                        "CREATE INDEX IF NOT EXISTS idx_cluster_id_project_user_ended ON units (cluster_id,project,username,ended_at);"
                )
            }
        ),
        (
            7,
            { db in
                try db.execute(sql: usageTable("daily_usage"))
                try db.execute(
                    sql:
                        "CREATE UNIQUE INDEX IF NOT EXISTS uq_cluster_id_project_usr_lastupdated ON daily_usage (cluster_id,username,project,last_updated_at);"
                )
            }
        ),
        (
            8,
            { db in
                let columns = try db.columns(in: "admin_users").map(\.name)
                guard columns.contains("source") else { return }
                let old = try Row.fetchAll(db, sql: "SELECT source, users, last_updated_at FROM admin_users")
                try db.execute(
                    sql: """
                        DROP TABLE admin_users;
                        CREATE TABLE admin_users (
                         "id" integer not null primary key,
                         "uid" text default '',
                         "cluster_id" text default 'all',
                         "resource_manager" text default '',
                         "name" text,
                         "projects" text default '[]',
                         "tags" text default '[]',
                         "last_updated_at" text
                        );
                        CREATE UNIQUE INDEX uq_cluster_id_admin_user ON admin_users (cluster_id,name);
                        """)
                for row in old {
                    let source: String = row["source"] ?? ""
                    let names = [String].parseStoredList(row["users"]) ?? []
                    for name in names where !name.isEmpty {
                        try db.execute(
                            sql: """
                                INSERT INTO admin_users (name, tags, last_updated_at) VALUES (?, ?, ?)
                                ON CONFLICT(cluster_id, name) DO NOTHING
                                """,
                            arguments: [name, [String].storedText([source]), row["last_updated_at"] as String?])
                    }
                }
            }
        ),
        (
            9,
            { db in
                for table in ["units", "usage", "daily_usage"] {
                    let columns = try db.columns(in: table).map(\.name)
                    if columns.contains("total_outgress_stats") {
                        try db.execute(
                            sql: "ALTER TABLE \(table) RENAME COLUMN total_outgress_stats TO total_egress_stats")
                    }
                }
            }
        ),
    ]

    /// Applies every version above the recorded one, each in its own transaction: marked dirty, run, marked
    /// clean. A dirty database or one newer than this binary is refused.
    static func migrate(_ writer: some DatabaseWriter) throws {
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)")
            try db.execute(sql: "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)")
            let row = try Row.fetchOne(db, sql: "SELECT version, dirty FROM schema_migrations LIMIT 1")
            let current: Int64 = row?["version"] ?? 0
            let dirty: Bool = row?["dirty"] ?? false
            if dirty { throw DatabaseSetupError.dirty(version: current) }
            if current > latestVersion { throw DatabaseSetupError.newer(version: current, supported: latestVersion) }
            for step in steps where step.version > current {
                try db.inTransaction {
                    try db.execute(sql: "DELETE FROM schema_migrations")
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (version, dirty) VALUES (?, 1)", arguments: [step.version])
                    try step.apply(db)
                    try db.execute(sql: "UPDATE schema_migrations SET dirty = 0")
                    return .commit
                }
            }
        }
    }
}

/// Why the database cannot be opened.
public enum DatabaseSetupError: Error, CustomStringConvertible {
    case dirty(version: Int64)
    case newer(version: Int64, supported: Int64)
    case directory(path: String, reason: String)

    public var description: String {
        switch self {
        case .dirty(let version):
            "database schema is dirty at version \(version): a migration failed; fix the database and reset the flag"
        case .newer(let version, let supported):
            "database schema version \(version) is newer than this server supports (\(supported))"
        case .directory(let path, let reason): "cannot create data directory \(path): \(reason)"
        }
    }
}
