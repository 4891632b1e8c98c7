import CEEMSCore
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// One cluster: its resource manager and its updaters in order.
public struct ClusterPipeline: Sendable {
    public var manager: any ResourceManager
    public var updaters: [TSDBUpdater]

    public init(manager: any ResourceManager, updaters: [TSDBUpdater]) {
        self.manager = manager
        self.updaters = updaters
    }
}

/// The update loop (§7): fetch units, users and projects from every cluster, run the updaters, write one
/// transaction; at start and every `update_interval`, catching up in `max_update_interval` chunks.
public final class UpdateService: Service, Sendable {
    public struct Settings: Sendable {
        public var updateInterval: Duration
        public var maxUpdateInterval: Duration
        public var retention: Duration
        public var purge: Bool
        public var updateFrom: String
        public var zone: TimeZone
        public var admins: [String]
        public var backupPath: String
        public var backupInterval: Duration
        /// Pause between catch-up chunks.
        public var chunkPause: Duration = .seconds(1)

        public init(config: APIServerConfig, purge: Bool) {
            let data = config.server.data
            updateInterval = data.updateInterval
            maxUpdateInterval = data.maxUpdateInterval
            retention = data.retentionPeriod
            self.purge = purge
            updateFrom = data.updateFrom
            zone = WallClock.zone(named: data.timeZone) ?? .current
            admins = config.configuredAdmins
            backupPath = data.backupPath
            backupInterval = data.backupInterval
        }
    }

    let database: AppDatabase
    let writer: UpdateWriter
    let pipelines: [ClusterPipeline]
    let grafana: GrafanaTeams?
    let settings: Settings
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Epoch ms of the last successful update's end.
    private let lastUpdate = Mutex<Int64>(0)

    public init(
        database: AppDatabase, pipelines: [ClusterPipeline], grafana: GrafanaTeams?, settings: Settings,
        logger: Logger, now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        self.database = database
        self.writer = UpdateWriter(database: database)
        self.pipelines = pipelines
        self.grafana = grafana
        self.settings = settings
        self.logger = logger
        self.now = now
        let latest = try database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT MAX(last_updated_at) FROM usage")
        }
        var start = Self.parseUpdateFrom(settings.updateFrom, zone: settings.zone, now: now())
        if let latest, let stored = WallClock.parseWallTime(String(latest.prefix(19)), zone: settings.zone) {
            start = stored
        }
        lastUpdate.withLock { $0 = start }
    }

    /// `update_from`: `today` (midnight in TZ), a date or date-time in TZ, or empty (now).
    static func parseUpdateFrom(_ text: String, zone: TimeZone, now: Int64) -> Int64 {
        switch text {
        case "", "now": return now
        case "today":
            return WallClock.parseWallTime(WallClock.midnight(milliseconds: now, zone: zone), zone: zone) ?? now
        default:
            return WallClock.parseWallTime(text, zone: zone) ?? now
        }
    }

    public var lastUpdateTime: Int64 { lastUpdate.withLock { $0 } }

    public func run() async throws {
        var nextBackup = settings.backupInterval > .zero && !settings.backupPath.isEmpty ? now() : Int64.max
        while !Task.isCancelledOrShuttingDown {
            await catchUp()
            if now() >= nextBackup {
                do {
                    try await Task.detached { [database, settings, logger] in
                        try Backup.run(database: database, directory: settings.backupPath, logger: logger)
                    }.value
                } catch {
                    logger.error("Backup failed", metadata: ["err": "\(error)"])
                }
                nextBackup = now() + Int64(settings.backupInterval.inSeconds * 1000)
            }
            try? await gracefulShutdownSleep(settings.updateInterval)
        }
        await shutdown()
        logger.info("Stopped the update loop")
    }

    /// Releases the updaters' and Grafana's HTTP clients.
    public func shutdown() async {
        for pipeline in pipelines {
            for updater in pipeline.updaters { await updater.shutdown() }
            await pipeline.manager.shutdown()
        }
        await grafana?.shutdown()
    }

    func gracefulShutdownSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }

    /// Updates from the last update to now, in chunks of at most `max_update_interval`.
    public func catchUp() async {
        let chunk = Int64(settings.maxUpdateInterval.inSeconds * 1000)
        while !Task.isCancelledOrShuttingDown {
            let start = lastUpdateTime
            let current = now()
            guard current > start else { return }
            let end = current - start >= chunk ? start + chunk : current
            do {
                try await update(window: UpdateWindow(start: start, end: end, zone: settings.zone))
                lastUpdate.withLock { $0 = end }
            } catch {
                logger.error("Update failed", metadata: ["err": "\(error)"])
                return
            }
            if end >= current { return }
            try? await Task.sleep(for: settings.chunkPause)
        }
    }

    /// One update of `window`; throws when every cluster failed or the write failed.
    public func update(window: UpdateWindow) async throws {
        let began = ContinuousClock.now
        let results = await withTaskGroup(of: (Int, Result<([ComputeUnit], [User], [Project]), any Error>).self) { group in
            for (index, pipeline) in pipelines.enumerated() {
                group.addTask {
                    do {
                        var units = try await pipeline.manager.fetchUnits(window: window)
                        let (users, projects) = try await pipeline.manager.fetchUsersAndProjects(window: window)
                        for updater in pipeline.updaters { await updater.update(units: &units, window: window) }
                        return (index, .success((units, users, projects)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var collected: [(Int, Result<([ComputeUnit], [User], [Project]), any Error>)] = []
            for await result in group { collected.append(result) }
            return collected.sorted { $0.0 < $1.0 }
        }
        var batch = UpdateBatch()
        var failures = 0
        for (index, result) in results {
            switch result {
            case .success(let (units, users, projects)):
                batch.units += units
                batch.users += users
                batch.projects += projects
            case .failure(let error):
                failures += 1
                logger.error(
                    "Failed to fetch from cluster",
                    metadata: ["cluster": "\(pipelines[index].manager.clusterID)", "err": "\(error)"])
            }
        }
        if failures > 0 && failures == pipelines.count {
            throw UpdateError.allClustersFailed
        }
        batch.windowStart = window.start
        batch.windowEnd = window.end
        batch.lastUpdatedAt = WallClock.format(milliseconds: window.end, zone: settings.zone, offset: false)
        batch.dailyBucket = WallClock.midnight(milliseconds: window.end, zone: settings.zone)
        if settings.purge {
            let days = Int64(settings.retention.inSeconds / 3600) / 24
            let cutoff = WallClock.format(milliseconds: window.end - days * 86_400_000, zone: TimeZone(identifier: "UTC")!, offset: false)
            batch.purgeCutoff = String(cutoff.prefix(10))
        }
        var admins: [String: [String]] = ["ceems": settings.admins]
        if let grafana {
            let stored = try await database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM admin_users WHERE tags LIKE '%\"grafana\"%'")
            }
            admins["grafana"] = await grafana.refresh(stored: stored)
        }
        batch.admins = admins
        let finalBatch = batch
        let writeStart = ContinuousClock.now
        try await Task.detached { [writer] in try writer.write(finalBatch) }.value
        let writeDuration = ContinuousClock.now - writeStart
        logger.info(
            "Update done",
            metadata: [
                "units": "\(batch.units.count)", "users": "\(batch.users.count)", "projects": "\(batch.projects.count)",
                "from": "\(WallClock.format(milliseconds: window.start, zone: settings.zone))",
                "to": "\(WallClock.format(milliseconds: window.end, zone: settings.zone))",
                "duration": "\(ContinuousClock.now - began)", "write_duration": "\(writeDuration)",
            ])
    }
}

public enum UpdateError: Error, CustomStringConvertible {
    case allClustersFailed

    public var description: String { "fetching units failed on every cluster" }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
