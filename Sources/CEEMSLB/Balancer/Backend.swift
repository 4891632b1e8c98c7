import CEEMSCore
import CEEMSWeb
import Synchronization

/// One backend server of a cluster: where it is, how to talk to it, and its live state (health, requests in
/// flight) shared by every request and the health checker.
public final class Backend: Sendable {
    public let kind: BackendKind
    public let clusterID: String
    public let url: String
    /// The URL without a trailing `/`, to which request paths are appended.
    let base: String
    /// `host:port` as written in the URL, for `User-Agent` and logs.
    let host: String
    public let filterLabels: Set<String>
    let client: ConfiguredHTTPClient
    let alive = Atomic<Bool>(true)
    let inFlight = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    init(kind: BackendKind, clusterID: String, server: LBConfig.Server) throws {
        self.kind = kind
        self.clusterID = clusterID
        url = server.url
        var base = server.url
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        var rest = Substring(server.url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        host = String(rest)
        guard ConfiguredHTTPClient.hostAndPort(server.url) != nil else { throw HTTPClientError.invalidURL(server.url) }
        filterLabels = Set(server.filterLabels.filter { !$0.isEmpty })
        // Backends answer big query results slowly; the connect timeout is what detects a dead one. Redirects
        // go back to the client, as from any reverse proxy, to be checked again when followed.
        var clientConfig = server.client
        clientConfig.followRedirects = false
        // A refused connection fails the request at once, so it is retried on another backend without waiting.
        client = try ConfiguredHTTPClient(
            config: clientConfig, connectTimeout: .seconds(10), retryConnections: false, connectionsPerHost: 128)
    }

    public var isAlive: Bool { alive.load(ordering: .relaxed) }

    func setAlive(_ value: Bool) { alive.store(value, ordering: .relaxed) }

    /// The upstream URL of a request: the backend URL's path joined with the request path by one `/`, the
    /// backend URL's query first and the request's after it.
    func upstreamURL(path: String, rawQuery: String) -> String {
        var base = self.base
        var baseQuery = ""
        if let question = base.firstIndex(of: "?") {
            baseQuery = String(base[base.index(after: question)...])
            base = String(base[..<question])
            while base.hasSuffix("/") { base.removeLast() }
        }
        var url = base + (path.hasPrefix("/") ? path : "/" + path)
        let query = [baseQuery, rawQuery].filter { !$0.isEmpty }.joined(separator: "&")
        if !query.isEmpty { url += "?" + query }
        return url
    }

    /// Marks one request in flight until the returned lease is released (or dropped).
    func lease() -> Lease {
        inFlight.add(1, ordering: .relaxed)
        requests.add(1, ordering: .relaxed)
        return Lease(backend: self)
    }

    /// A request in flight on a backend; least-connection counts these.
    final class Lease: Sendable {
        let backend: Backend
        let released = Atomic<Bool>(false)

        init(backend: Backend) { self.backend = backend }

        func release() {
            if !released.exchange(true, ordering: .relaxed) { backend.inFlight.subtract(1, ordering: .relaxed) }
        }

        deinit { release() }
    }
}

/// The backends of one kind grouped by cluster id, and the strategy that picks one (§4).
public final class BackendPool: Sendable {
    public let kind: BackendKind
    public let strategy: LBConfig.Strategy
    let clusters: [String: [Backend]]
    /// Round-robin position per cluster id (§12 #5).
    let positions: Mutex<[String: Int]>

    init(kind: BackendKind, strategy: LBConfig.Strategy, backends: [Backend]) {
        self.kind = kind
        self.strategy = strategy
        var clusters: [String: [Backend]] = [:]
        for backend in backends { clusters[backend.clusterID, default: []].append(backend) }
        self.clusters = clusters
        positions = Mutex(Dictionary(uniqueKeysWithValues: clusters.keys.map { ($0, 0) }))
    }

    public var all: [Backend] { clusters.keys.sorted().flatMap { clusters[$0]! } }

    public func hasCluster(_ id: String) -> Bool { clusters[id] != nil }

    /// The backend for the next request of `clusterID`, skipping dead ones and `excluded` (a backend that just
    /// failed this request); `nil` when none is left.
    public func pick(clusterID: String, excluding excluded: Backend? = nil) -> Backend? {
        guard let backends = clusters[clusterID], !backends.isEmpty else { return nil }
        func usable(_ backend: Backend) -> Bool { backend.isAlive && backend !== excluded }
        switch strategy {
        case .roundRobin:
            return positions.withLock { positions in
                var position = positions[clusterID] ?? 0
                defer { positions[clusterID] = position }
                for _ in 0..<backends.count {
                    position = (position + 1) % backends.count
                    if usable(backends[position]) { return backends[position] }
                }
                return nil
            }
        case .leastConnection:
            var best: Backend?
            var bestCount = Int.max
            for backend in backends where usable(backend) {
                let count = backend.inFlight.load(ordering: .relaxed)
                if count < bestCount {
                    best = backend
                    bestCount = count
                }
            }
            return best
        }
    }
}
