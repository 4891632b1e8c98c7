import GRDBSQLite
import Synchronization

/// Errors of the read-only SQLite connections.
public struct SQLiteReadError: Error, CustomStringConvertible {
    public var description: String
}

/// One read-only SQLite connection with its prepared statements.
///
/// The LB asks two tiny questions per request; through GRDB's pool each cost ~80 µs, mostly pool checkout and
/// queue hand-offs, for ~10 µs of SQLite work. The C API on a small pool of connections leaves the SQLite work.
final class SQLiteConnection: @unchecked Sendable {
    // @unchecked: a connection is only ever used by the one caller that took it out of `SQLiteReader.free`,
    // under that lock, and is put back when done; SQLite itself is opened in multi-thread mode (NOMUTEX).
    let handle: OpaquePointer
    var statements: [String: OpaquePointer] = [:]

    init(path: String) throws(SQLiteReadError) {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw SQLiteReadError(description: "cannot open \(path) read-only: \(message)")
        }
        sqlite3_busy_timeout(handle, 5000)
        // Reads through mmap (no read syscall per page) and a larger page cache: unit lookups land all over a
        // 1 GB index.
        sqlite3_exec(handle, "PRAGMA mmap_size=268435456; PRAGMA cache_size=-16384", nil, nil, nil)
        self.handle = handle
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    func error(_ what: String) -> SQLiteReadError {
        SQLiteReadError(description: "\(what): \(String(cString: sqlite3_errmsg(handle)))")
    }

    /// Runs `sql` with text `arguments`, calling `row` for each result row.
    func query(_ sql: String, _ arguments: [String], row: (OpaquePointer) -> Bool = { _ in true }) throws(SQLiteReadError) {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            var prepared: OpaquePointer?
            guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil) == SQLITE_OK,
                let prepared
            else { throw error("prepare") }
            statements[sql] = prepared
            statement = prepared
        }
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, argument) in arguments.enumerated() {
            // SQLITE_TRANSIENT: SQLite copies the text, which only lives for this call.
            let status = argument.withCString {
                sqlite3_bind_text(statement, Int32(index + 1), $0, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            guard status == SQLITE_OK else { throw error("bind") }
        }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                if !row(statement) { return }
            case SQLITE_DONE:
                return
            default:
                throw error("step")
            }
        }
    }

    static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: pointer)
    }
}

/// A pool of read-only connections to one database file: a caller takes a free connection (or opens one), uses
/// it on its own thread and gives it back.
final class SQLiteReader: Sendable {
    let path: String
    let free = Mutex<[SQLiteConnection]>([])
    static let maximumIdle = 8

    /// Opens one connection now, so a file that is not a database fails at start.
    init(path: String) throws(SQLiteReadError) {
        self.path = path
        let first = try SQLiteConnection(path: path)
        try first.query("SELECT 1 FROM sqlite_master LIMIT 1", [])
        free.withLock { $0.append(first) }
    }

    func read<T>(_ body: (SQLiteConnection) throws(SQLiteReadError) -> T) throws(SQLiteReadError) -> T {
        let connection: SQLiteConnection
        if let idle = free.withLock({ $0.popLast() }) {
            connection = idle
        } else {
            connection = try SQLiteConnection(path: path)
        }
        defer {
            free.withLock { idle in
                if idle.count < Self.maximumIdle { idle.append(connection) }
            }
        }
        return try body(connection)
    }

    func close() {
        free.withLock { $0.removeAll() }
    }
}
