import CEEMSCore
import Foundation

/// The sections of the YAML file `ceems_lb` reads (§3): `ceems_lb`, plus the API server's `data.path` and `web`
/// and the `clusters` ids when the file is shared with the API server. Other keys are ignored.
public struct LBConfig: Sendable, Decodable {
    public enum Strategy: String, Sendable {
        case roundRobin = "round-robin"
        case leastConnection = "least-connection"
    }

    /// A backend server: its URL, client config (paths resolved) and the labels to remove from responses.
    public struct Server: Sendable, Decodable {
        public var url = ""
        public var client = HTTPClientConfig()
        public var filterLabels: [String] = []

        enum CodingKeys: String, CodingKey { case web, filterLabels = "filter_labels" }
        enum WebKeys: String, CodingKey { case url }

        public init(url: String, client: HTTPClientConfig = HTTPClientConfig(), filterLabels: [String] = []) {
            self.url = url
            self.client = client
            self.filterLabels = filterLabels
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            filterLabels = try container.decodeIfPresent([String].self, forKey: .filterLabels) ?? []
            if container.contains(.web) {
                let web = try container.nestedContainer(keyedBy: WebKeys.self, forKey: .web)
                url = try web.decodeIfPresent(String.self, forKey: .url) ?? ""
                client = try HTTPClientConfig(from: try container.superDecoder(forKey: .web))
            }
        }
    }

    public struct BackendGroup: Sendable, Decodable {
        public var id = ""
        public var tsdb: [Server] = []
        public var pyroscope: [Server] = []

        public init(id: String, tsdb: [Server] = [], pyroscope: [Server] = []) {
            self.id = id
            self.tsdb = tsdb
            self.pyroscope = pyroscope
        }

        enum CodingKeys: String, CodingKey { case id, tsdb, pyroscope }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
            tsdb = try container.decodeIfPresent([Server].self, forKey: .tsdb) ?? []
            pyroscope = try container.decodeIfPresent([Server].self, forKey: .pyroscope) ?? []
        }

        func servers(_ kind: BackendKind) -> [Server] { kind == .tsdb ? tsdb : pyroscope }
    }

    public var strategy: Strategy = .roundRobin
    public var backends: [BackendGroup] = []
    /// `ceems_api_server.data.path`: the directory of `ceems.db`; empty when not configured.
    public var dataPath = ""
    /// `ceems_api_server.web.url` and its client config; empty URL when not configured.
    public var apiURL = ""
    public var apiClient = HTTPClientConfig()
    /// `clusters[].id`.
    public var clusterIDs: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey { case lb = "ceems_lb", api = "ceems_api_server", clusters }
    enum LBKeys: String, CodingKey { case strategy, backends }
    enum APIKeys: String, CodingKey { case data, web }
    enum DataKeys: String, CodingKey { case path }
    enum ClusterKeys: String, CodingKey { case id }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.lb) {
            let lb = try container.nestedContainer(keyedBy: LBKeys.self, forKey: .lb)
            let name = try lb.decodeIfPresent(String.self, forKey: .strategy) ?? Strategy.roundRobin.rawValue
            guard let strategy = Strategy(rawValue: name) else {
                throw ConfigError.invalid(file: "", reason: "invalid strategy")
            }
            self.strategy = strategy
            backends = try lb.decodeIfPresent([BackendGroup].self, forKey: .backends) ?? []
        }
        if container.contains(.api) {
            let api = try container.nestedContainer(keyedBy: APIKeys.self, forKey: .api)
            if api.contains(.data) {
                let data = try api.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
                dataPath = try data.decodeIfPresent(String.self, forKey: .path) ?? ""
            }
            if api.contains(.web) {
                let web = try api.nestedContainer(keyedBy: Server.WebKeys.self, forKey: .web)
                apiURL = try web.decodeIfPresent(String.self, forKey: .url) ?? ""
                apiClient = try HTTPClientConfig(from: try api.superDecoder(forKey: .web))
            }
        }
        if container.contains(.clusters) {
            var clusters = try container.nestedUnkeyedContainer(forKey: .clusters)
            while !clusters.isAtEnd {
                let cluster = try clusters.nestedContainer(keyedBy: ClusterKeys.self)
                clusterIDs.append(try cluster.decodeIfPresent(String.self, forKey: .id) ?? "")
            }
        }
    }

    /// Reads, validates and resolves the file (relative client-config paths against its directory, §12 #11).
    public static func load(file: String, expandEnvironment: Bool) throws -> LBConfig {
        guard !file.isEmpty else { throw ConfigError.invalid(file: "", reason: "config file path missing") }
        var config: LBConfig
        do {
            config = try YAMLConfig.load(LBConfig.self, file: file, expandEnvironment: expandEnvironment)
        } catch {
            if case .invalid(_, let reason) = error, reason == "invalid strategy" {
                throw ConfigError.invalid(file: file, reason: reason)
            }
            throw error
        }
        try config.validate(file: file)
        let directory = (file as NSString).deletingLastPathComponent
        config.resolvePaths(against: directory.isEmpty ? "." : directory)
        return config
    }

    public func validate(file: String = "<config>") throws {
        guard !backends.isEmpty else { throw ConfigError.invalid(file: file, reason: "no backends configured") }
        guard backends.allSatisfy({ !$0.id.isEmpty }) else {
            throw ConfigError.invalid(file: file, reason: "missing ID for backend(s)")
        }
        guard backends.allSatisfy({ !$0.tsdb.isEmpty || !$0.pyroscope.isEmpty }),
            backends.allSatisfy({ group in (group.tsdb + group.pyroscope).allSatisfy { !$0.url.isEmpty } })
        else {
            throw ConfigError.invalid(file: file, reason: "missing TSDB and Pyroscope URL(s) for backend(s)")
        }
        if !clusterIDs.isEmpty {
            for group in backends where !clusterIDs.contains(group.id) {
                throw ConfigError.invalid(
                    file: file,
                    reason:
                        "unknown ID \(group.id) found in backends. IDs in ceems_lb.backends and in clusters config should match"
                )
            }
        }
    }

    mutating func resolvePaths(against directory: String) {
        for index in backends.indices {
            for server in backends[index].tsdb.indices {
                backends[index].tsdb[server].client = backends[index].tsdb[server].client.resolvingPaths(against: directory)
            }
            for server in backends[index].pyroscope.indices {
                backends[index].pyroscope[server].client = backends[index].pyroscope[server].client.resolvingPaths(
                    against: directory)
            }
        }
        apiClient = apiClient.resolvingPaths(against: directory)
    }

    /// The backend kinds in config order (§2): the first group with TSDB servers adds TSDB, the first with
    /// Pyroscope servers adds Pyroscope, TSDB first within a group.
    public var kinds: [BackendKind] {
        var kinds: [BackendKind] = []
        for group in backends {
            if !group.tsdb.isEmpty, !kinds.contains(.tsdb) { kinds.append(.tsdb) }
            if !group.pyroscope.isEmpty, !kinds.contains(.pyroscope) { kinds.append(.pyroscope) }
        }
        return kinds
    }

    /// Whether ownership is checked at all (§5 step 3).
    public var hasAccessControl: Bool { !dataPath.isEmpty || !apiURL.isEmpty }
}
