import Foundation
import GRDB
import Logging

/// Consistent copies of the database into `backup_path` (§7): SQLite's online backup into a temporary file next
/// to the database, then a copy into the destination (any filesystem), fsynced, renamed in place.
enum Backup {
    static func run(database: AppDatabase, directory: String, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try database.pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM") }
        let stamp = WallClock.format(
            milliseconds: Int64(Date().timeIntervalSince1970 * 1000), zone: TimeZone(identifier: "UTC")!, offset: false)
        let name = "ceems-" + stamp.filter(\.isNumber).prefix(12) + ".db"
        let temporary = (database.path as NSString).deletingLastPathComponent + "/.\(name).tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        let destination = try DatabaseQueue(path: temporary)
        try database.pool.backup(to: destination, pagesPerStep: 25) { _ in
            usleep(50_000)
        }
        try destination.close()
        let target = (directory as NSString).appendingPathComponent(name)
        let partial = target + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        try FileManager.default.copyItem(atPath: temporary, toPath: partial)
        let fd = open(partial, O_RDONLY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        _ = try? FileManager.default.removeItem(atPath: target)
        guard rename(partial, target) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target])
        }
        try? FileManager.default.removeItem(atPath: temporary)
        logger.info("Database backed up", metadata: ["file": "\(target)"])
    }
}
