import CEEMSCore
import CEEMSTestSupport
import Foundation
import GRDB
import Testing

@testable import CEEMSAPI

@Suite struct DatabaseTests {
    @Test func freshDatabaseHasTheReferenceSchema() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory)
        try database.pool.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT version, dirty FROM schema_migrations"))
            #expect(row["version"] as Int64? == 9)
            #expect(row["dirty"] as Bool? == false)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM schema_migrations") == 1)
            for table in ["units", "usage", "daily_usage", "users", "projects", "admin_users"] {
                #expect(try db.tableExists(table), "\(table)")
            }
            for table in ["units", "usage", "daily_usage"] {
                let columns = try db.columns(in: table).map(\.name)
                #expect(columns.contains("total_egress_stats") && !columns.contains("total_outgress_stats"))
            }
            let adminColumns = try db.columns(in: "admin_users").map(\.name)
            #expect(
                adminColumns == [
                    "id", "uid", "cluster_id", "resource_manager", "name", "projects", "tags", "last_updated_at",
                ])
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
            for index in [
                "version_unique", "idx_cluster_id_usr_uuid", "uq_cluster_id_uuid_start", "uq_cluster_id_project_usr",
                "uq_cluster_id_user", "uq_cluster_id_project", "uq_cluster_id_admin_user",
                "idx_cluster_id_project_user_ended", "uq_cluster_id_project_usr_lastupdated",
            ] {
                #expect(indexes.contains(index), "\(index)")
            }
        }
        #expect(try database.integrityCheck() == "ok")
        // Re-opening is a no-op.
        _ = try AppDatabase(directory: directory)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/ceems.db")
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
    }

    @Test func version5AdminUsersAreConverted() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let queue = try DatabaseQueue(path: directory + "/ceems.db")
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE schema_migrations (version uint64,dirty bool)")
            for step in Migrations.steps where step.version <= 5 { try step.apply(db) }
            try db.execute(sql: "INSERT INTO schema_migrations VALUES (5, 0)")
            try db.execute(
                sql:
                    #"INSERT INTO admin_users (source, users, last_updated_at) VALUES ('ceems', '["a","b"]', 't'), ('grafana', '["b","c"]', 't')"#
            )
            try db.execute(
                sql: "INSERT INTO units (cluster_id, uuid, total_outgress_stats) VALUES ('c', 'u', '{\"bytes\":1}')")
        }
        try queue.close()
        let database = try AppDatabase(directory: directory)
        try database.pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT name, tags, cluster_id FROM admin_users ORDER BY name")
            #expect(rows.map { $0["name"] as String? } == ["a", "b", "c"])
            #expect(rows.map { $0["tags"] as String? } == [#"["ceems"]"#, #"["ceems"]"#, #"["grafana"]"#])
            #expect(rows.allSatisfy { $0["cluster_id"] as String? == "all" })
            #expect(try String.fetchOne(db, sql: "SELECT total_egress_stats FROM units") == #"{"bytes":1}"#)
        }
    }

    @Test func dirtyAndNewerDatabasesAreRefused() throws {
        for (version, dirty) in [(Int64(7), true), (10, false)] {
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let queue = try DatabaseQueue(path: directory + "/ceems.db")
            try queue.write { db in
                try db.execute(sql: "CREATE TABLE schema_migrations (version uint64,dirty bool)")
                try db.execute(sql: "INSERT INTO schema_migrations VALUES (?, ?)", arguments: [version, dirty])
            }
            try queue.close()
            #expect(throws: DatabaseSetupError.self) { try AppDatabase(directory: directory) }
        }
    }

    /// The reference database (../shared/fixtures/api/ceems-reference.db), read where it is and opened from a
    /// temporary copy: migrated from version 5 to 9 with every unit kept.
    @Test(
        .enabled(if: FileManager.default.fileExists(atPath: SharedReference.root + "/fixtures/api/ceems-reference.db")))
    func opensAndContinuesTheReferenceDatabase() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(
            atPath: SharedReference.root + "/fixtures/api/ceems-reference.db", toPath: directory + "/ceems.db")
        let before = try DatabaseQueue(path: directory + "/ceems.db")
        let units = try before.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units") ?? 0 }
        try before.close()
        let database = try AppDatabase(directory: directory)
        let store = APIStore(database: database)
        var query = APIStore.UnitQuery()
        query.from = 0
        query.to = Int64.max / 2
        let all = try store.units(query)
        #expect(all.count == units && units > 0)
        let (version, hasDaily) = try database.pool.read { db in
            (try Int64.fetchOne(db, sql: "SELECT version FROM schema_migrations"), try db.tableExists("daily_usage"))
        }
        #expect(version == 9 && hasDaily)
        // Served with canonical numbers.
        var writer = JSONWriter()
        try #require(all.first { $0.uuid == "1479763" }).write(to: &writer)
        #expect(writer.text.contains(#""avg_cpu_usage":{"total":14.79000000}"#))
        #expect(writer.text.contains(#""allocation":{"billing":80,"cpus":8,"gpus":8,"mem":343597383680,"nodes":1}"#))
        #expect(try database.integrityCheck() == "ok")
    }
}

@Suite struct UpdateWriterTests {
    func unit(
        _ uuid: String, start: String = "2024-03-04T09:00:00+0100", end: String? = nil, cpu: Double, time: Double
    )
        -> ComputeUnit
    {
        var unit = ComputeUnit(clusterID: "c0", resourceManager: "slurm", uuid: uuid)
        unit.project = "p"
        unit.user = "u"
        unit.group = "g"
        unit.startedAt = start
        unit.startedAtTS = WallClock.parse(start) ?? 0
        unit.endedAt = end ?? "Unknown"
        unit.endedAtTS = end.flatMap(WallClock.parse) ?? 0
        unit.totalTime = MetricMap(["alloc_cputime": time, "walltime": time])
        unit.metrics[.avgCPUUsage] = MetricMap(["global": cpu])
        unit.metrics[.totalCPUEnergyUsageKWh] = MetricMap(["total": time / 100])
        return unit
    }

    func batch(_ units: [ComputeUnit], at stamp: String) -> UpdateBatch {
        var batch = UpdateBatch()
        batch.units = units
        batch.lastUpdatedAt = stamp
        batch.dailyBucket = String(stamp.prefix(10)) + "T00:00:00"
        batch.admins = ["ceems": ["admin1", APIServerConfig.serviceAccount]]
        return batch
    }

    @Test func mergesTotalsAndWeightedAveragesAcrossUpdates() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory)
        let writer = UpdateWriter(database: database)
        try writer.write(batch([unit("1", cpu: 0.5, time: 100)], at: "2024-03-04T10:00:00"))
        try writer.write(
            batch([unit("1", end: "2024-03-05T01:00:00+0100", cpu: 1.0, time: 300)], at: "2024-03-05T10:00:00"))
        try database.pool.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM units"))
            #expect(row["avg_cpu_usage"] as String? == #"{"global":0.87500000}"#)
            #expect(row["total_cpu_energy_usage_kwh"] as String? == #"{"total":4}"#)
            #expect(row["total_time_seconds"] as String? == #"{"alloc_cputime":400,"walltime":400}"#)
            #expect(row["num_updates"] as Int? == 2)
            #expect(row["ended_at"] as String? == "2024-03-05T01:00:00+0100")
            // No updater produced GPU metrics: stored as the text null.
            #expect(row["avg_gpu_usage"] as String? == "null")
            let usage = try #require(try Row.fetchOne(db, sql: "SELECT * FROM usage"))
            #expect(usage["num_units"] as Int? == 1)
            #expect(usage["avg_cpu_usage"] as String? == #"{"global":0.87500000}"#)
            #expect(usage["last_updated_at"] as String? == "2024-03-05T10:00:00")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM daily_usage") == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units") == 1)
        }
    }

    /// §15 #29: a unit first seen without a start is the same unit once it starts.
    @Test func unitSeenBeforeItsStartIsNotDuplicated() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory)
        let writer = UpdateWriter(database: database)
        var pending = unit("pod-1", cpu: 0, time: 0)
        pending.startedAt = "N/A"
        pending.startedAtTS = 0
        try writer.write(batch([pending], at: "2024-03-04T10:00:00"))
        try writer.write(batch([unit("pod-1", cpu: 0.2, time: 10)], at: "2024-03-04T11:00:00"))
        try writer.write(batch([unit("pod-1", cpu: 0.2, time: 10)], at: "2024-03-04T12:00:00"))
        let (count, started, numUnits) = try database.pool.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units"),
                try String.fetchOne(db, sql: "SELECT started_at FROM units"),
                try Int.fetchOne(db, sql: "SELECT num_units FROM usage")
            )
        }
        #expect(count == 1)
        #expect(started == "2024-03-04T09:00:00+0100")
        #expect(numUnits == 1)
    }

    /// §15 #3: admins removed from every source are revoked; a name in both sources is tagged grafana.
    @Test func adminSetIsReplacedPerSource() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory)
        let writer = UpdateWriter(database: database)
        var first = batch([], at: "2024-03-04T10:00:00")
        first.admins = ["ceems": ["a", "b", "ceems-int-svc"], "grafana": ["b", "g"]]
        try writer.write(first)
        var second = batch([], at: "2024-03-04T11:00:00")
        second.admins = ["ceems": ["b", "ceems-int-svc"], "grafana": []]
        try writer.write(second)
        let admins = try APIStore(database: database).adminUsers()
        #expect(admins.map(\.name) == ["b", "ceems-int-svc"])
        #expect(admins.map(\.tags) == [["ceems"], ["ceems"]])
    }

    @Test func purgeKeepsRunningUnitsAndRecentRows() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory)
        let writer = UpdateWriter(database: database)
        try writer.write(
            batch(
                [
                    unit("old", start: "2024-01-01T09:00:00+0100", end: "2024-01-01T10:00:00+0100", cpu: 1, time: 1),
                    unit("running", start: "2024-01-01T09:00:00+0100", cpu: 1, time: 1),
                    unit("new", start: "2024-03-01T09:00:00+0100", end: "2024-03-02T10:00:00+0100", cpu: 1, time: 1),
                ], at: "2024-01-02T10:00:00"))
        var purge = batch([], at: "2024-03-04T10:00:00")
        purge.purgeCutoff = "2024-02-03"
        try writer.write(purge)
        let (uuids, usageRows) = try database.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT uuid FROM units ORDER BY uuid"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage")
            )
        }
        #expect(uuids == ["new", "running"])
        #expect(usageRows == 0)
    }
}

@Suite struct BackupTests {
    /// A backup is a consistent SQLite file in `backup_path` named `ceems-YYYYMMDDHHMM.db`, holding every row.
    @Test func backupIsACompleteDatabase() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try AppDatabase(directory: directory + "/data")
        var batch = UpdateBatch()
        batch.lastUpdatedAt = "2024-03-04T10:00:00"
        batch.dailyBucket = "2024-03-04T00:00:00"
        batch.units = (0..<500).map { index in
            var unit = ComputeUnit(clusterID: "c0", resourceManager: "slurm", uuid: String(index))
            unit.startedAt = "2024-03-04T09:00:00+0100"
            unit.startedAtTS = 1_709_539_200_000
            unit.user = "u\(index % 7)"
            unit.project = "p"
            unit.totalTime = MetricMap(["walltime": Double(index)])
            return unit
        }
        try UpdateWriter(database: database).write(batch)
        try Backup.run(database: database, directory: directory + "/backups", logger: quietLogger)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/backups")
        #expect(files.count == 1)
        let name = try #require(files.first)
        #expect(name.hasPrefix("ceems-") && name.hasSuffix(".db") && name.count == "ceems-202403041000.db".count)
        let copy = try DatabaseQueue(path: directory + "/backups/" + name)
        let (integrity, units, usage, version) = try copy.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA integrity_check"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM units"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM usage"),
                try Int.fetchOne(db, sql: "SELECT version FROM schema_migrations")
            )
        }
        #expect(integrity == "ok" && units == 500 && usage == 7 && version == 9)
        // No temporary file is left next to the database.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory + "/data").allSatisfy {
                !$0.hasSuffix(".tmp")
            })
    }
}
