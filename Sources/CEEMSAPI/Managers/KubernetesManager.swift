import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Yams

/// Kubernetes pods as units, namespaces as projects (§8.3).
///
/// Pods are listed on each fetch (paginated; the informer's resync) and watched in between: the watch's `DELETED`
/// events are accumulated and drained by the next fetch, so a pod created and deleted between two updates is
/// still reported, ended at its `deletionTimestamp`. A pod that vanishes while the watch was down is ended at its
/// `deletionTimestamp` when it was seen terminating, else at the fetch that noticed it.
public final class KubernetesManager: ResourceManager {
    public struct Options: Sendable {
        public var kubeconfigFile = ""
        public var usersFile = "/var/run/ceems/users.yaml"
        public var gpuResourceNames = ["nvidia.com/gpu", "amd.com/gpu"]
        public var usernameAnnotations = ["ceems.io/created-by"]
        public var projectAnnotations: [String] = []

        public init() {}

        init(extraConfig: JSONValue?) {
            self.init()
            guard let extra = extraConfig else { return }
            func strings(_ key: String) -> [String]? {
                guard case .array(let items)? = extra[key] else { return nil }
                return items.compactMap(\.stringValue)
            }
            if let value = extra["kubeconfig_file"]?.stringValue { kubeconfigFile = value }
            if let value = extra["ns_users_list_file"]?.stringValue, !value.isEmpty { usersFile = value }
            if let value = strings("gpu_resource_names"), !value.isEmpty { gpuResourceNames = value }
            if let value = strings("username_annotations"), !value.isEmpty { usernameAnnotations = value }
            if let value = strings("project_annotations") { projectAnnotations = value }
        }
    }

    public let clusterID: String
    public var kind: String { "k8s" }
    let options: Options
    let endpoint: KubernetesEndpoint
    let http: ConfiguredHTTPClient
    let logger: Logger
    let now: @Sendable () -> Int64
    /// Pods of the previous list, by uid, to notice deletions.
    private let known = Mutex<[String: JSONValue]>([:])
    /// Pods deleted according to the watch since the last fetch: the pod and its deletion time.
    private let watchedDeletions = Mutex<[String: (JSONValue, Int64)]>([:])
    private let watchTask = Mutex<Task<Void, Never>?>(nil)

    public init(cluster: APIServerConfig.Cluster, logger: Logger, now: @escaping @Sendable () -> Int64) throws {
        clusterID = cluster.id
        options = Options(extraConfig: cluster.extraConfig)
        endpoint = try KubernetesEndpoint.load(kubeconfig: options.kubeconfigFile)
        http = try ConfiguredHTTPClient(config: endpoint.client)
        self.logger = logger
        self.now = now
    }

    public func shutdown() async {
        watchTask.withLock { $0 }?.cancel()
        await http.shutdown()
    }

    /// All items of a paginated list, and the list's resource version.
    func list(_ path: String) async throws -> [JSONValue] {
        try await listWithVersion(path).items
    }

    func listWithVersion(_ path: String) async throws -> (items: [JSONValue], resourceVersion: String) {
        var items: [JSONValue] = []
        var resourceVersion = ""
        var continueToken = ""
        repeat {
            var url = endpoint.server + path + "?limit=500"
            if !continueToken.isEmpty { url += "&continue=" + QueryParameters.encode(continueToken) }
            let result = try await http.execute(url: url, timeout: .seconds(60))
            guard result.status == 200, let json = JSONValue.parse(result.text) else {
                throw ResourceManagerError.command("GET \(path) answered \(result.status)")
            }
            if case .array(let page)? = json["items"] { items += page }
            continueToken = json["metadata"]?["continue"]?.stringValue ?? ""
            resourceVersion = json["metadata"]?["resourceVersion"]?.stringValue ?? resourceVersion
        } while !continueToken.isEmpty
        return (items, resourceVersion)
    }

    // MARK: watch

    /// Starts watching pods from `resourceVersion` unless a watch already runs.
    func startWatching(from resourceVersion: String) {
        watchTask.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in await watchLoop(from: resourceVersion) }
        }
    }

    /// Follows `GET /api/v1/pods?watch=1` until cancelled, re-watching from the last resource version when a
    /// stream ends and from now after `410 Gone`; a failure waits 5 s before the next attempt.
    func watchLoop(from initialVersion: String) async {
        var resourceVersion = initialVersion
        while !Task.isCancelled {
            let began = ContinuousClock.now
            do {
                try await watchOnce(resourceVersion: &resourceVersion)
                // A stream that ends at once (a proxy closing it) must not turn into a busy loop.
                if ContinuousClock.now - began < .seconds(1) { try await Task.sleep(for: .seconds(1)) }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("Kubernetes pod watch failed; retrying", metadata: ["cluster": "\(clusterID)", "err": "\(error)"])
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }

    func watchOnce(resourceVersion: inout String) async throws {
        var url = endpoint.server + "/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300"
        if !resourceVersion.isEmpty { url += "&resourceVersion=" + QueryParameters.encode(resourceVersion) }
        var request = HTTPClientRequest(url: url)
        if let authorization = try http.config.authorizationHeader() {
            request.headers.add(name: "Authorization", value: authorization)
        }
        for (name, value) in try http.config.extraHeaders() { request.headers.add(name: name, value: value) }
        let response = try await http.client.execute(request, timeout: .seconds(330))
        guard response.status == .ok else {
            throw ResourceManagerError.command("pod watch answered \(response.status.code)")
        }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                handleWatchEvent(Array(pending[..<newline]), resourceVersion: &resourceVersion)
                pending.removeSubrange(...newline)
            }
            guard pending.count < 64 << 20 else { throw ResourceManagerError.command("pod watch event over 64 MiB") }
        }
        if !pending.isEmpty { handleWatchEvent(pending, resourceVersion: &resourceVersion) }
    }

    func handleWatchEvent(_ line: [UInt8], resourceVersion: inout String) {
        guard let event = JSONValue.parse(String(decoding: line, as: UTF8.self)),
            let type = event["type"]?.stringValue, let object = event["object"]
        else { return }
        if type == "ERROR" {
            // 410 Gone: the version is too old; watch from now (the next list resyncs).
            if object["code"]?.doubleValue == 410 { resourceVersion = "" }
            return
        }
        if let version = object["metadata"]?["resourceVersion"]?.stringValue { resourceVersion = version }
        guard type == "DELETED", let uid = object["metadata"]?["uid"]?.stringValue else { return }
        let deletion = WallClock.parseAPITime(object["metadata"]?["deletionTimestamp"]?.stringValue) ?? now()
        watchedDeletions.withLock { $0[uid] = (object, deletion) }
    }

    // MARK: ResourceManager

    public func fetchUnits(window: UpdateWindow) async throws -> [ComputeUnit] {
        let (pods, resourceVersion) = try await listWithVersion("/api/v1/pods")
        startWatching(from: resourceVersion)
        var current: [String: JSONValue] = [:]
        for pod in pods {
            if let uid = pod["metadata"]?["uid"]?.stringValue { current[uid] = pod }
        }
        let vanished = known.withLock { known in
            let gone = known.filter { current[$0.key] == nil }
            known = current
            return gone
        }
        var units: [ComputeUnit] = []
        for (_, pod) in current.sorted(by: { $0.key < $1.key }) {
            units.append(unit(pod, deletedAt: nil, window: window))
        }
        let deletions = watchedDeletions.withLock { deletions in
            defer { deletions = [:] }
            return deletions
        }
        var ended: [String: (JSONValue, Int64)] = [:]
        for (uid, deleted) in deletions where current[uid] == nil { ended[uid] = deleted }
        for (uid, pod) in vanished where ended[uid] == nil {
            let deletion =
                WallClock.parseAPITime(pod["metadata"]?["deletionTimestamp"]?.stringValue) ?? min(now(), window.end)
            ended[uid] = (pod, deletion)
        }
        for (_, (pod, deletion)) in ended.sorted(by: { $0.key < $1.key }) {
            units.append(unit(pod, deletedAt: deletion, window: window))
        }
        return units
    }

    /// CPU quantity in cores (`500m`, `2`, `1.5`).
    static func cores(_ text: String?) -> Double? {
        guard let text, !text.isEmpty else { return nil }
        if text.hasSuffix("m") { return Double(text.dropLast()).map { $0 / 1000 } }
        if text.hasSuffix("u") { return Double(text.dropLast()).map { $0 / 1e6 } }
        if text.hasSuffix("n") { return Double(text.dropLast()).map { $0 / 1e9 } }
        return Double(text)
    }

    /// Memory quantity in bytes (`512Mi`, `1G`, `1e3`, `100`).
    static func bytes(_ text: String?) -> Double? {
        guard let text, !text.isEmpty else { return nil }
        let suffixes: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624),
            ("Ei", 1_152_921_504_606_846_976), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15),
            ("E", 1e18), ("m", 1e-3),
        ]
        for (suffix, scale) in suffixes where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(text)
    }

    func unit(_ pod: JSONValue, deletedAt: Int64?, window: UpdateWindow) -> ComputeUnit {
        let zone = window.zone
        let metadata = pod["metadata"] ?? .object([])
        let status = pod["status"] ?? .object([])
        var unit = ComputeUnit(clusterID: clusterID, resourceManager: "k8s", uuid: metadata["uid"]?.stringValue ?? "")
        unit.name = metadata["name"]?.stringValue ?? ""
        let namespace = metadata["namespace"]?.stringValue ?? ""
        let annotations = metadata["annotations"] ?? .object([])
        unit.project =
            options.projectAnnotations.lazy.compactMap { annotations[$0]?.stringValue }.first { !$0.isEmpty } ?? namespace
        let creator = options.usernameAnnotations.lazy.compactMap { annotations[$0]?.stringValue }.first { !$0.isEmpty }
        if let creator, !creator.contains("serviceaccount") {
            unit.user = creator
        } else {
            unit.user = unit.project + ":unknown"
        }
        let created = WallClock.parseAPITime(metadata["creationTimestamp"]?.stringValue)
        let deletion = deletedAt ?? WallClock.parseAPITime(metadata["deletionTimestamp"]?.stringValue)
        func render(_ value: Int64?) -> (String, Int64) {
            guard let value else { return ("N/A", 0) }
            return (WallClock.format(milliseconds: value, zone: zone), value)
        }
        (unit.createdAt, unit.createdAtTS) = render(created)
        var conditions: [String: JSONValue] = [:]
        if case .array(let items)? = status["conditions"] {
            for item in items { if let type = item["type"]?.stringValue { conditions[type] = item } }
        }
        let readyToStart = conditions["PodReadyToStartContainers"]
        let started =
            readyToStart?["status"]?.stringValue == "True"
            ? WallClock.parseAPITime(readyToStart?["lastTransitionTime"]?.stringValue) : nil
        (unit.startedAt, unit.startedAtTS) = render(started)
        let phase = status["phase"]?.stringValue ?? "Unknown"
        let finished = phase == "Succeeded" || phase == "Failed"
        let deleted = finished && deletedAt != nil
        (unit.endedAt, unit.endedAtTS) = deleted ? render(deletion) : ("N/A", 0)
        switch phase {
        case "Running":
            if readyToStart == nil {
                unit.state = ""
            } else if conditions["Ready"]?["status"]?.stringValue == "True" {
                unit.state = "Running/Ready"
            } else {
                unit.state = "Running/" + (conditions["Ready"]?["reason"]?.stringValue ?? "NotReady")
            }
        case "Succeeded", "Failed", "Pending": unit.state = phase
        default: unit.state = "Unknown"
        }
        if phase == "Pending" || phase == "Unknown" || created == nil {
            unit.elapsed = "N/A"
        } else {
            let end = deleted ? (deletion ?? window.end) : window.end
            unit.elapsed = WallClock.elapsed(seconds: max(0, end - (created ?? end)) / 1000)
        }
        // Allocation: container limits.
        var vcpus = 0.0
        var memory = 0.0
        var gpus: [String: Double] = [:]
        if case .array(let containers)? = pod["spec"]?["containers"] {
            for container in containers {
                let limits = container["resources"]?["limits"] ?? .object([])
                vcpus += Self.cores(limits["cpu"]?.stringValue) ?? 0
                memory += Self.bytes(limits["memory"]?.stringValue) ?? 0
                for name in options.gpuResourceNames {
                    if let count = limits[name]?.stringValue.flatMap(Double.init) ?? limits[name]?.doubleValue {
                        gpus[name, default: 0] += count
                    }
                }
            }
        }
        vcpus = max(vcpus, 0.001)
        memory = max(memory.rounded(), 1)
        // CPU counts are fractional: Go's shortest float text, as its JSON encoder prints them.
        var allocation: [(String, JSONValue)] = [
            ("vcpus", .number(vcpus, text: GoFloatFormatter.format(vcpus))), ("mem", .integer(Int64(memory))),
        ]
        for (name, count) in gpus.sorted(by: { $0.key < $1.key }) { allocation.append((name, .integer(Int64(count)))) }
        unit.allocation = .object(allocation)
        var tags: [(String, JSONValue)] = [("qos", .string(status["qosClass"]?.stringValue ?? ""))]
        if case .object(let members) = annotations, !members.isEmpty { tags.append(("annotations", annotations)) }
        if case .object(let members)? = metadata["labels"], !members.isEmpty { tags.append(("labels", .object(members))) }
        unit.tags = .object(tags)
        // Active time in the window (§8.3, §15 #23, #31).
        var active: Int64 = 0
        if unit.state == "Running/Ready", let started {
            active = window.end - max(window.start, started)
        } else if deleted, let deletion, let started, deletion > window.start, deletion <= window.end {
            active = deletion - max(window.start, started)
        }
        let seconds = Double(max(0, active) / 1000)
        let gpuCount = gpus.values.reduce(0, +)
        unit.totalTime = MetricMap([
            "walltime": seconds, "alloc_cputime": (vcpus * seconds), "alloc_cpumemtime": (memory / 1_048_576 * seconds).rounded(.down),
            "alloc_gputime": gpuCount * seconds, "alloc_gpumemtime": gpuCount > 0 ? seconds : 0,
        ])
        return unit
    }

    public func fetchUsersAndProjects(window: UpdateWindow) async throws -> ([User], [Project]) {
        var members: [String: Set<String>] = [:]
        let bindings = try await list("/apis/rbac.authorization.k8s.io/v1/rolebindings")
        for binding in bindings {
            guard let namespace = binding["metadata"]?["namespace"]?.stringValue,
                case .array(let subjects)? = binding["subjects"]
            else { continue }
            for subject in subjects where subject["kind"]?.stringValue == "User" {
                if let name = subject["name"]?.stringValue, !name.isEmpty { members[namespace, default: []].insert(name) }
            }
        }
        if let text = try? String(contentsOfFile: options.usersFile, encoding: .utf8),
            let document = try? Yams.load(yaml: text) as? [String: Any],
            let users = document["users"] as? [String: Any]
        {
            for (namespace, list) in users {
                for name in (list as? [Any] ?? []).compactMap({ $0 as? String }) where !name.isEmpty {
                    members[namespace, default: []].insert(name.trimmingCharacters(in: .whitespaces))
                }
            }
        }
        let pods = known.withLock { Array($0.values) }
        for pod in pods {
            let unit = unit(pod, deletedAt: nil, window: window)
            if !unit.user.hasSuffix(":unknown") { members[unit.project, default: []].insert(unit.user) }
        }
        let stamp = WallClock.format(milliseconds: window.end, zone: window.zone)
        var projectsByUser: [String: Set<String>] = [:]
        for (namespace, names) in members { for name in names { projectsByUser[name, default: []].insert(namespace) } }
        let users = projectsByUser.keys.sorted().map { name in
            User(
                clusterID: clusterID, resourceManager: "k8s", name: name, projects: projectsByUser[name, default: []].sorted(),
                tags: [], lastUpdatedAt: stamp)
        }
        let projects = members.keys.sorted().map { namespace in
            Project(
                clusterID: clusterID, resourceManager: "k8s", name: namespace, users: members[namespace, default: []].sorted(),
                tags: [], lastUpdatedAt: stamp)
        }
        return (users, projects)
    }
}
