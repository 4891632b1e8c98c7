import CEEMSCore
import CEEMSWeb
import Foundation
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
    /// The same answer without suspending, when the source can give it so (a local database); `nil` otherwise.
    func accessNow(user: String, clusterID: String, uuids: [String]) -> AccessAnswer?
}

/// What the verifier says about a request's user.
public struct AccessAnswer: Sendable, Equatable {
    public var admin: Bool
    public var owns: Bool
}

extension OwnershipVerifier {
    public func accessNow(user: String, clusterID: String, uuids: [String]) -> AccessAnswer? { nil }

    public func access(user: String, clusterID: String, uuids: [String]) async -> AccessAnswer {
        if await isAdmin(user: user) { return AccessAnswer(admin: true, owns: false) }
        guard !uuids.isEmpty else { return AccessAnswer(admin: false, owns: false) }
        return AccessAnswer(admin: false, owns: await owns(user: user, clusterID: clusterID, uuids: uuids))
    }
}

/// Ownership straight from the API server's SQLite file, opened read-only: the LB never writes, and never
/// migrates, the database it shares.
public final class SQLiteOwnershipVerifier: OwnershipVerifier {
    let reader: SQLiteReader
    let logger: Logger

    public init(path: String, logger: Logger) throws {
        reader = try SQLiteReader(path: path)
        self.logger = logger
    }

    public func isAdmin(user: String) async -> Bool {
        accessNow(user: user, clusterID: "", uuids: []).admin
    }

    public func owns(user: String, clusterID: String, uuids: [String]) async -> Bool {
        do {
            return try reader.read { connection throws(SQLiteReadError) in
                try Self.owns(connection, user: user, clusterID: clusterID, uuids: uuids)
            }
        } catch {
            logger.error("Failed to check unit ownership in the CEEMS database", metadata: ["err": "\(error)"])
            return false
        }
    }

    public func access(user: String, clusterID: String, uuids: [String]) async -> AccessAnswer {
        accessNow(user: user, clusterID: clusterID, uuids: uuids)
    }

    /// Both answers from one connection, on the caller's thread: the lookups take microseconds, less than a
    /// suspension.
    public func accessNow(user: String, clusterID: String, uuids: [String]) -> AccessAnswer {
        do {
            return try reader.read { connection throws(SQLiteReadError) in
                if try Self.isAdmin(connection, user: user) { return AccessAnswer(admin: true, owns: false) }
                guard !uuids.isEmpty else { return AccessAnswer(admin: false, owns: false) }
                return AccessAnswer(
                    admin: false, owns: try Self.owns(connection, user: user, clusterID: clusterID, uuids: uuids))
            }
        } catch {
            logger.error("Failed to check access in the CEEMS database", metadata: ["err": "\(error)"])
            return AccessAnswer(admin: false, owns: false)
        }
    }

    static func isAdmin(_ connection: SQLiteConnection, user: String) throws(SQLiteReadError) -> Bool {
        var found = false
        try connection.query("SELECT 1 FROM admin_users WHERE name = ? LIMIT 1", [user]) { _ in
            found = true
            return false
        }
        return found
    }

    /// Ownership in two indexed steps: the projects of the requested units (`(cluster_id, uuid, started_at)`),
    /// then the membership of the user in each distinct project (`(cluster_id, name)`, JSON `users`). Units share
    /// few projects, so the membership test runs a few times, not once per unit row. A uuid with several rows is
    /// owned when any of its rows is in a project of the user.
    static func owns(_ connection: SQLiteConnection, user: String, clusterID: String, uuids: [String])
        throws(SQLiteReadError) -> Bool
    {
        guard !uuids.isEmpty, !user.isEmpty, !clusterID.isEmpty else { return false }
        var projectsByUUID: [String: [String]] = [:]
        // Chunks keep the statement count small and under SQLite's variable limit.
        let chunkSize = uuids.count <= 8 ? uuids.count : 64
        var index = 0
        while index < uuids.count {
            let chunk = Array(uuids[index..<min(index + chunkSize, uuids.count)])
            let sql =
                "SELECT uuid, project FROM units WHERE cluster_id = ? AND uuid IN ("
                + Array(repeating: "?", count: chunk.count).joined(separator: ",") + ")"
            try connection.query(sql, [clusterID] + chunk) { row in
                projectsByUUID[SQLiteConnection.text(row, 0), default: []].append(SQLiteConnection.text(row, 1))
                return true
            }
            index += chunk.count
        }
        guard projectsByUUID.count == Set(uuids).count else { return false }
        let membership = """
            SELECT 1 FROM projects p, json_each(CASE WHEN json_valid(p.users) THEN p.users ELSE '[]' END) j
            WHERE p.cluster_id = ? AND p.name = ? AND j.value = ? LIMIT 1
            """
        var memberOf: [String: Bool] = [:]
        for uuid in uuids {
            var owned = false
            for project in projectsByUUID[uuid] ?? [] {
                if memberOf[project] == nil {
                    var member = false
                    try connection.query(membership, [clusterID, project, user]) { _ in
                        member = true
                        return false
                    }
                    memberOf[project] = member
                }
                if memberOf[project] == true {
                    owned = true
                    break
                }
            }
            guard owned else { return false }
        }
        return true
    }

    public func clusterIDs() async throws -> [String] {
        try reader.read { connection throws(SQLiteReadError) in
            var ids: [String] = []
            try connection.query("SELECT DISTINCT cluster_id FROM units ORDER BY cluster_id", []) { row in
                ids.append(SQLiteConnection.text(row, 0))
                return true
            }
            return ids
        }
    }

    public func close() {
        reader.close()
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
