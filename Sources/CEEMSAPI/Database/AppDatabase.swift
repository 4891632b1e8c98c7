import Foundation
import GRDB

/// The API server's SQLite database: one WAL pool whose writer runs the update transactions and whose read-only
/// readers serve HTTP requests.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String

    public static let fileName = "ceems.db"

    /// Opens (creating if needed) `<directory>/ceems.db`, registers the metric-map functions and migrates.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw DatabaseSetupError.directory(path: directory, reason: "\(error)")
        }
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        let existed = FileManager.default.fileExists(atPath: path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous=OFF")
            AppDatabase.registerFunctions(db)
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        if !existed { chmod(path, 0o640) }
        try Migrations.migrate(pool)
        try pool.write { db in
            // Indexes for the API's hot queries, outside the reference's index names (§12): they do not change
            // the schema version, so the reference can still open the file.
            try db.execute(
                sql: """
                    CREATE INDEX IF NOT EXISTS ceems_swift_units_user_ended ON units (username, ended_at_ts);
                    CREATE INDEX IF NOT EXISTS ceems_swift_units_ended ON units (ended_at_ts);
                    CREATE INDEX IF NOT EXISTS ceems_swift_units_last_updated ON units (last_updated_at);
                    """)
        }
    }

    /// Closes every connection (at shutdown).
    public func close() {
        try? pool.close()
    }

    static func registerFunctions(_ db: Database) {
        db.add(
            function: DatabaseFunction("add_metric_map", argumentCount: 2, pure: true) { values in
                MetricMap.adding(MetricMap.parse(values[0].text), MetricMap.parse(values[1].text)).json
            })
        db.add(
            function: DatabaseFunction("avg_metric_map", argumentCount: 4, pure: true) { values in
                MetricMap.weightedAverage(
                    MetricMap.parse(values[0].text), MetricMap.parse(values[1].text),
                    weights: (values[2].number, values[3].number)
                ).json
            })
    }

    /// `PRAGMA integrity_check` result (`ok` when sound).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    /// Whether a read-only connection answers (for `/health`).
    public func ping() -> Bool {
        (try? pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }
}

extension DatabaseValue {
    var text: String? {
        switch storage {
        case .string(let string): string
        case .blob(let data): String(decoding: data, as: UTF8.self)
        default: nil
        }
    }

    var number: Double? {
        switch storage {
        case .int64(let value): Double(value)
        case .double(let value): value
        case .string(let string): Double(string)
        default: nil
        }
    }
}
