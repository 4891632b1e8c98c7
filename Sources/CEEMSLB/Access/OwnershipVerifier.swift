import CEEMSCore
import CEEMSWeb
import Foundation
import GRDB
import Logging
import Synchronization

/// Answers the LB's two questions about a user: admin or not, and whether they own a set of units (§5.3).
public protocol OwnershipVerifier: Sendable {
    func isAdmin(user: String) async -> Bool
    /// Whether every uuid (distinct, non-empty list) belongs to a unit of `clusterID` whose project in that
    /// cluster lists `user` as a member. Errors deny.
    func owns(user: String, clusterID: String, uuids: [String]) async -> Bool
    /// The cluster ids the source knows, for the start-up check.
    func clusterIDs() async throws -> [String]
    /// Both answers for a request: whether `user` is an admin and, when not and `uuids` is not empty, whether
    /// they own the units.
    func access(user: String, clusterID: String, uuids: [String]) async -> AccessAnswer
}

/// What the verifier says about a request's user.
public struct AccessAnswer: Sendable, Equatable {
    public var admin: Bool
    public var owns: Bool
}

extension OwnershipVerifier {
    public func access(user: String, clusterID: String, uuids: [String]) async -> AccessAnswer {
        if await isAdmin(user: user) { return AccessAnswer(admin: true, owns: false) }
        guard !uuids.isEmpty else { return AccessAnswer(admin: false, owns: false) }
        return AccessAnswer(admin: false, owns: await owns(user: user, clusterID: clusterID, uuids: uuids))
    }
}

/// Ownership straight from the API server's SQLite file, opened read-only: the LB never writes, and never
/// migrates, the database it shares.
public final class SQLiteOwnershipVerifier: OwnershipVerifier {
    let reader: any DatabaseReader
    let logger: Logger

    /// Opens `path` read-only (busy timeout 5 s): a pool of readers for a WAL database, one connection
    /// otherwise.
    public init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 8
        let walMode = (try? DatabaseQueue(path: path, configuration: configuration).read { db in
            try String.fetchOne(db, sql: "PRAGMA journal_mode")
        }) == "wal"
        reader = walMode
            ? try DatabasePool(path: path, configuration: configuration)
            : try DatabaseQueue(path: path, configuration: configuration)
        self.logger = logger
    }

    /// Lookups are synchronous on purpose: they take microseconds, less than a hop to GRDB's dispatch queue.
    /// Each is one statement (or independent chunks), so no explicit transaction is needed (`unsafeRead` saves
    /// its BEGIN and COMMIT).
    /// GRDB's synchronous read, also from async code (where its async overload would win).
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try reader.unsafeRead(body)
    }

    public func isAdmin(user: String) async -> Bool {
        do {
            return try readNow { db in try Self.isAdmin(db, user: user) }
        } catch {
            logger.error("Failed to read admin users from the CEEMS database", metadata: ["err": "\(error)"])
            return false
        }
    }

    public func owns(user: String, clusterID: String, uuids: [String]) async -> Bool {
        do {
            return try readNow { db in try Self.owns(db, user: user, clusterID: clusterID, uuids: uuids) }
        } catch {
            logger.error("Failed to check unit ownership in the CEEMS database", metadata: ["err": "\(error)"])
            return false
        }
    }

    static func isAdmin(_ db: Database, user: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM admin_users WHERE name = ? LIMIT 1"), arguments: [user])
            ?? false
    }

    /// Unit rows are found through the `(cluster_id, uuid, started_at)` index, projects through
    /// `(cluster_id, name)`; membership is the project's JSON `users` array.
    static func ownedCountSQL(_ count: Int) -> String {
        """
        SELECT COUNT(DISTINCT u.uuid) FROM units u
        WHERE u.cluster_id = ? AND u.uuid IN (\(Array(repeating: "?", count: count).joined(separator: ",")))
          AND EXISTS (SELECT 1 FROM projects p, json_each(CASE WHEN json_valid(p.users) THEN p.users ELSE '[]' END) j
                      WHERE p.cluster_id = u.cluster_id AND p.name = u.project AND j.value = ?)
        """
    }

    static func owns(_ db: Database, user: String, clusterID: String, uuids: [String]) throws -> Bool {
        guard !uuids.isEmpty, !user.isEmpty, !clusterID.isEmpty else { return false }
        // Chunks keep the statement count small and under SQLite's variable limit.
        let chunkSize = uuids.count <= 8 ? uuids.count : 64
        var index = 0
        while index < uuids.count {
            let chunk = Array(uuids[index..<min(index + chunkSize, uuids.count)])
            let statement = try db.cachedStatement(sql: ownedCountSQL(chunk.count))
            var arguments: [any DatabaseValueConvertible] = [clusterID]
            arguments += chunk as [any DatabaseValueConvertible]
            arguments.append(user)
            let owned = try Int.fetchOne(statement, arguments: StatementArguments(arguments)) ?? 0
            guard owned == chunk.count else { return false }
            index += chunk.count
        }
        return true
    }

    /// One read for both questions.
    public func access(user: String, clusterID: String, uuids: [String]) async -> AccessAnswer {
        do {
            return try readNow { db in
                if try Self.isAdmin(db, user: user) { return AccessAnswer(admin: true, owns: false) }
                guard !uuids.isEmpty else { return AccessAnswer(admin: false, owns: false) }
                return AccessAnswer(admin: false, owns: try Self.owns(db, user: user, clusterID: clusterID, uuids: uuids))
            }
        } catch {
            logger.error("Failed to check access in the CEEMS database", metadata: ["err": "\(error)"])
            return AccessAnswer(admin: false, owns: false)
        }
    }

    public func clusterIDs() async throws -> [String] {
        try await reader.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT cluster_id FROM units ORDER BY cluster_id") }
    }

    public func close() {
        try? reader.close()
    }
}

/// Ownership through the API server's HTTP API, used when the LB cannot read the database (§5.3).
public final class APIOwnershipVerifier: OwnershipVerifier {
    let base: String
    let client: ConfiguredHTTPClient
    let logger: Logger
    /// Admin names and when they were fetched: the list is cached 5 s (the spec allows up to 10 s) so an admin
    /// request does not cost an extra API call.
    let admins = Mutex<(names: Set<String>, fetched: ContinuousClock.Instant)?>(nil)

    public init(url: String, client: HTTPClientConfig, logger: Logger) throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.client = try ConfiguredHTTPClient(config: client, connectTimeout: .seconds(1))
        self.logger = logger
    }

    public func isAdmin(user: String) async -> Bool {
        let now = ContinuousClock.now
        if let cached = admins.withLock({ $0 }), now - cached.fetched < .seconds(5) {
            return cached.names.contains(user)
        }
        do {
            let result = try await client.execute(
                url: base + "/api/v1/users/admin?role=admin",
                headers: [("X-Grafana-User", "ceems-int-svc")], timeout: .seconds(1))
            guard result.status == 200, case .array(let users)? = JSONValue.parse(result.text)?["data"] else {
                logger.error("Failed to fetch admin users from the CEEMS API server", metadata: ["status": "\(result.status)"])
                return false
            }
            let names = Set(users.compactMap { $0["name"]?.stringValue })
            admins.withLock { $0 = (names, now) }
            return names.contains(user)
        } catch {
            logger.error("Failed to fetch admin users from the CEEMS API server", metadata: ["err": "\(error)"])
            return false
        }
    }

    public func owns(user: String, clusterID: String, uuids: [String]) async -> Bool {
        guard !uuids.isEmpty, !user.isEmpty, !clusterID.isEmpty else { return false }
        var query = "cluster_id=" + Self.escape(clusterID)
        for uuid in uuids { query += "&uuid=" + Self.escape(uuid) }
        do {
            let result = try await client.execute(
                url: base + "/api/v1/units/verify?" + query, headers: [("X-Grafana-User", user)],
                timeout: .seconds(5))
            return result.status == 200
        } catch {
            logger.error("Failed to verify unit ownership with the CEEMS API server", metadata: ["err": "\(error)"])
            return false
        }
    }

    public func clusterIDs() async throws -> [String] {
        let result = try await client.execute(
            url: base + "/api/v1/clusters/admin", headers: [("X-Grafana-User", "ceems-int-svc")],
            timeout: .seconds(1))
        guard result.status == 200, case .array(let clusters)? = JSONValue.parse(result.text)?["data"] else {
            throw HTTPClientError.transport(url: base + "/api/v1/clusters/admin", reason: "status \(result.status)")
        }
        return clusters.compactMap { $0["id"]?.stringValue }
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~")))
            ?? value
    }

    public func shutdown() async { await client.shutdown() }
}
