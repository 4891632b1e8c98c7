import CEEMSCore
import CEEMSWeb
import Foundation
import Logging
import NIOHTTP1
import Synchronization

/// OpenStack through Keystone (users, projects) and Nova (servers), §8.2. Every list follows pagination.
public final class OpenStackManager: ResourceManager {
    public let clusterID: String
    public var kind: String { "openstack" }
    let compute: String
    let identity: String
    let auth: JSONValue
    let http: ConfiguredHTTPClient
    let logger: Logger
    let now: @Sendable () -> Int64
    let timeout: Duration = .seconds(60)

    struct Token {
        var value: String
        var expiry: Int64
    }

    struct Directory {
        var userNames: [String: String] = [:]
        var projectNames: [String: String] = [:]
        var projectsByUser: [String: [String]] = [:]
        var fetchedAt: Int64 = 0
    }

    private let token = Mutex<Token?>(nil)
    private let directory = Mutex<Directory?>(nil)

    public init(cluster: APIServerConfig.Cluster, logger: Logger, now: @escaping @Sendable () -> Int64) throws {
        clusterID = cluster.id
        guard let extra = cluster.extraConfig, var compute = extra["api_service_endpoints"]?["compute"]?.stringValue,
            var identity = extra["api_service_endpoints"]?["identity"]?.stringValue
        else {
            throw ResourceManagerError.invalidConfig(
                cluster: cluster.id, reason: "extra_config.api_service_endpoints.compute and .identity are required")
        }
        while compute.hasSuffix("/") { compute.removeLast() }
        while identity.hasSuffix("/") { identity.removeLast() }
        if identity.hasSuffix("/v3") { identity.removeLast(3) }
        guard compute.contains("/v2.1") else {
            throw ResourceManagerError.invalidConfig(cluster: cluster.id, reason: "compute endpoint must include /v2.1")
        }
        self.compute = compute
        self.identity = identity
        self.auth = extra["auth"] ?? .object([])
        self.http = try ConfiguredHTTPClient(config: cluster.web.client)
        self.logger = logger
        self.now = now
    }

    public func shutdown() async { await http.shutdown() }

    // MARK: HTTP

    func headers(token: String?) -> [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        let configured = Set(http.config.httpHeaders.keys.map { $0.lowercased() })
        if !configured.contains("x-openstack-nova-api-version") && !configured.contains("openstack-api-version") {
            headers.append(("X-OpenStack-Nova-API-Version", "latest"))
        }
        if let token { headers.append(("X-Auth-Token", token)) }
        return headers
    }

    func authToken() async throws -> String {
        let current = now()
        if let token = token.withLock({ $0 }), token.expiry > current { return token.value }
        var writer = JSONWriter()
        writer.raw("{\"auth\":")
        writer.value(auth, sortKeys: false)
        writer.raw("}")
        let result = try await http.execute(
            method: .POST, url: identity + "/v3/auth/tokens", headers: headers(token: nil), body: Array(writer.text.utf8),
            timeout: timeout)
        guard result.status == 201, let value = result.header("X-Subject-Token"), !value.isEmpty else {
            throw ResourceManagerError.command("Keystone token request answered \(result.status)")
        }
        token.withLock { $0 = Token(value: value, expiry: current + 55 * 60_000) }
        return value
    }

    func getJSON(_ url: String) async throws -> JSONValue {
        let result = try await http.execute(url: url, headers: headers(token: try await authToken()), timeout: timeout)
        if result.status == 401 { token.withLock { $0 = nil } }
        guard result.status == 200, let json = JSONValue.parse(result.text) else {
            throw ResourceManagerError.command("GET \(url) answered \(result.status)")
        }
        return json
    }

    /// All items of a paginated list: Nova's `<key>_links` / Keystone's `links.next`.
    func list(_ url: String, key: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var next: String? = url
        var pages = 0
        while let page = next, pages < 10_000 {
            pages += 1
            let json = try await getJSON(page)
            if case .array(let values)? = json[key] { items += values }
            next = nil
            if case .array(let links)? = json["\(key)_links"] {
                next = links.first { $0["rel"]?.stringValue == "next" }?["href"]?.stringValue
            } else if let href = json["links"]?["next"]?.stringValue, !href.isEmpty {
                next = href
            }
        }
        return items
    }

    // MARK: Keystone directory

    func loadDirectory(force: Bool = false) async throws -> Directory {
        let current = now()
        if !force, let cached = directory.withLock({ $0 }), current - cached.fetchedAt < 12 * 3_600_000 {
            return cached
        }
        var fresh = Directory()
        fresh.fetchedAt = current
        let users = try await list(identity + "/v3/users", key: "users")
        for user in users {
            guard let id = user["id"]?.stringValue else { continue }
            fresh.userNames[id] = user["name"]?.stringValue ?? id
        }
        let ids = Array(fresh.userNames.keys)
        // At most 256 requests in flight.
        var memberships: [(String, [JSONValue])] = []
        var offset = 0
        while offset < ids.count {
            let chunk = ids[offset..<min(offset + 256, ids.count)]
            offset += 256
            memberships += try await withThrowingTaskGroup(of: (String, [JSONValue]).self) { group in
                for id in chunk {
                    group.addTask { (id, try await self.list(self.identity + "/v3/users/\(id)/projects", key: "projects")) }
                }
                var collected: [(String, [JSONValue])] = []
                for try await item in group { collected.append(item) }
                return collected
            }
        }
        for (user, projects) in memberships {
            var names: [String] = []
            for project in projects {
                guard let id = project["id"]?.stringValue else { continue }
                let name = project["name"]?.stringValue ?? id
                fresh.projectNames[id] = name
                names.append(id)
            }
            fresh.projectsByUser[user] = names
        }
        directory.withLock { $0 = fresh }
        return fresh
    }

    // MARK: ResourceManager

    public func fetchUnits(window: UpdateWindow) async throws -> [ComputeUnit] {
        guard TCPProbe.reachable(url: compute) else {
            throw ResourceManagerError.command("OpenStack compute API \(compute) unreachable")
        }
        let zone = window.zone
        let active = try await list(compute + "/servers/detail?all_tenants=true", key: "servers")
        let since = QueryParameters.encode(WallClock.format(milliseconds: window.start, zone: zone))
        let before = QueryParameters.encode(WallClock.format(milliseconds: window.end, zone: zone))
        let deleted = try await list(
            compute + "/servers/detail?all_tenants=true&changes-before=\(before)&changes-since=\(since)&deleted=true",
            key: "servers")
        var directory = try await loadDirectory()
        let servers = active + deleted
        let missing = servers.contains { server in
            let tenant = server["tenant_id"]?.stringValue ?? ""
            let user = server["user_id"]?.stringValue ?? ""
            return directory.projectNames[tenant] == nil || directory.userNames[user] == nil
        }
        if missing {
            // Refresh once per fetch when a server names an unknown tenant or user (§15 #30).
            if let fresh = try? await loadDirectory(force: true) { directory = fresh }
        }
        var seen = Set<String>()
        var units: [ComputeUnit] = []
        for server in servers {
            guard let id = server["id"]?.stringValue, seen.insert(id).inserted else { continue }
            units.append(unit(server, directory: directory, window: window))
        }
        return units
    }

    static let powerStates = [0: "NOSTATE", 1: "RUNNING", 2: "_UNUSED", 3: "PAUSED", 4: "SHUTDOWN", 5: "_UNUSED", 6: "CRASHED", 7: "SUSPENDED"]

    func unit(_ server: JSONValue, directory: Directory, window: UpdateWindow) -> ComputeUnit {
        let zone = window.zone
        var unit = ComputeUnit(clusterID: clusterID, resourceManager: "openstack", uuid: server["id"]?.stringValue ?? "")
        unit.name = server["name"]?.stringValue ?? ""
        let status = server["status"]?.stringValue ?? ""
        unit.state = status
        unit.project = directory.projectNames[server["tenant_id"]?.stringValue ?? ""] ?? ""
        unit.user = directory.userNames[server["user_id"]?.stringValue ?? ""] ?? ""
        let created = WallClock.parseAPITime(server["created"]?.stringValue)
        let updated = WallClock.parseAPITime(server["updated"]?.stringValue)
        let launched = WallClock.parseAPITime(server["OS-SRV-USG:launched_at"]?.stringValue)
        let terminated = WallClock.parseAPITime(server["OS-SRV-USG:terminated_at"]?.stringValue)
        func render(_ value: Int64?) -> (String, Int64) {
            guard let value else { return ("N/A", 0) }
            return (WallClock.format(milliseconds: value, zone: zone), value)
        }
        (unit.createdAt, unit.createdAtTS) = render(created)
        (unit.startedAt, unit.startedAtTS) = render(launched)
        let isDeleted = status == "DELETED" || status == "SOFT_DELETED"
        (unit.endedAt, unit.endedAtTS) = isDeleted ? render(terminated) : ("N/A", 0)
        if let launched {
            let end = isDeleted ? (terminated ?? window.end) : window.end
            unit.elapsed = WallClock.elapsed(seconds: max(0, end - launched) / 1000)
        } else {
            unit.elapsed = "N/A"
        }
        // Active milliseconds in the window (§8.2, §15 #31).
        let startMark = max(window.start, launched ?? window.start)
        var active: Int64
        if isDeleted {
            active = (terminated ?? 0) > window.start ? (terminated ?? 0) - startMark : 0
        } else if ["SHUTOFF", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED", "ERROR"].contains(status) {
            active = (updated ?? 0) > window.start ? (updated ?? 0) - startMark : 0
        } else if let updated, updated > window.start {
            active = window.end - max(updated, startMark)
        } else {
            active = window.end - startMark
        }
        if launched == nil { active = 0 }
        let seconds = max(0, active) / 1000
        let flavor = server["flavor"] ?? .object([])
        let vcpus = Int64(flavor["vcpus"]?.doubleValue ?? 0)
        let ram = Int64(flavor["ram"]?.doubleValue ?? 0)
        let vgpus = Int64(flavor["extra_specs"]?["resources:VGPU"]?.stringValue ?? "") ?? 0
        var allocation: [(String, JSONValue)] = [
            ("vcpus", .integer(vcpus)), ("mem", .integer(ram)), ("disk", .integer(Int64(flavor["disk"]?.doubleValue ?? 0))),
            ("swap", .integer(Int64(flavor["swap"]?.doubleValue ?? 0))),
            ("name", .string(flavor["original_name"]?.stringValue ?? "")), ("extra_specs", flavor["extra_specs"] ?? .object([])),
        ]
        if vgpus > 0 { allocation.append(("vgpus", .integer(vgpus))) }
        unit.allocation = .object(allocation)
        let power = server["OS-EXT-STS:power_state"]?.doubleValue.map { Self.powerStates[Int($0)] ?? "N/A" } ?? "N/A"
        unit.tags = .object([
            ("metadata", server["metadata"] ?? .object([])), ("tags", server["tags"] ?? .array([])),
            ("reservation_id", .string(server["OS-EXT-SRV-ATTR:reservation_id"]?.stringValue ?? "")),
            ("power_state", .string(power)),
            ("az", .string(server["OS-EXT-AZ:availability_zone"]?.stringValue ?? "")),
        ])
        unit.totalTime = MetricMap([
            "walltime": Double(seconds), "alloc_cputime": Double(vcpus * seconds), "alloc_cpumemtime": Double(ram * seconds),
            "alloc_gputime": Double(vgpus * seconds), "alloc_gpumemtime": Double(vgpus * seconds),
        ])
        return unit
    }

    public func fetchUsersAndProjects(window: UpdateWindow) async throws -> ([User], [Project]) {
        guard TCPProbe.reachable(url: identity) else {
            throw ResourceManagerError.command("OpenStack identity API \(identity) unreachable")
        }
        let directory = try await loadDirectory()
        let stamp = WallClock.format(milliseconds: directory.fetchedAt, zone: window.zone)
        var usersByProject: [String: Set<String>] = [:]
        var users: [User] = []
        for (userID, name) in directory.userNames.sorted(by: { $0.value < $1.value }) {
            let projects = directory.projectsByUser[userID] ?? []
            for project in projects { usersByProject[project, default: []].insert(name) }
            users.append(
                User(
                    uid: userID, clusterID: clusterID, resourceManager: "openstack", name: name,
                    projects: Array(Set(projects.compactMap { directory.projectNames[$0] })).sorted(), tags: [],
                    lastUpdatedAt: stamp))
        }
        let projects = directory.projectNames.sorted(by: { $0.value < $1.value }).map { id, name in
            Project(
                uid: id, clusterID: clusterID, resourceManager: "openstack", name: name,
                users: (usersByProject[id] ?? []).sorted(), tags: [], lastUpdatedAt: stamp)
        }
        return (users, projects)
    }
}
