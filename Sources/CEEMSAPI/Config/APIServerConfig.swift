import CEEMSCore
import Foundation
import Yams

/// `ceems_api_server`'s YAML file (also read by `ceems_lb` and `cacct`): the `ceems_api_server` section,
/// `clusters` and `updaters`. Unknown keys are ignored, as the reference does.
public struct APIServerConfig: Sendable, Decodable {
    public struct DataConfig: Sendable, Decodable {
        public var path = "data"
        public var backupPath = ""
        public var retentionPeriod: Duration = .seconds(30 * 86400)
        public var updateInterval: Duration = .seconds(15 * 60)
        public var maxUpdateInterval: Duration = .seconds(3600)
        public var backupInterval: Duration = .seconds(86400)
        public var updateFrom = "today"
        public var timeZone = "Local"

        enum CodingKeys: String, CodingKey {
            case path, backupPath = "backup_path", retentionPeriod = "retention_period"
            case updateInterval = "update_interval", maxUpdateInterval = "max_update_interval"
            case backupInterval = "backup_interval", updateFrom = "update_from", timeZone = "time_zone"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let value = try container.decodeIfPresent(String.self, forKey: .path), !value.isEmpty { path = value }
            backupPath = try container.decodeIfPresent(String.self, forKey: .backupPath) ?? ""
            func duration(_ key: CodingKeys, _ fallback: Duration) throws -> Duration {
                guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return fallback }
                do { return try GoDuration.parse(text) } catch {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: container, debugDescription: "not a duration: \(text)")
                }
            }
            retentionPeriod = try duration(.retentionPeriod, retentionPeriod)
            updateInterval = try duration(.updateInterval, updateInterval)
            maxUpdateInterval = try duration(.maxUpdateInterval, maxUpdateInterval)
            backupInterval = try duration(.backupInterval, backupInterval)
            updateFrom = try container.decodeIfPresent(String.self, forKey: .updateFrom) ?? "today"
            if let zone = try container.decodeIfPresent(String.self, forKey: .timeZone), !zone.isEmpty {
                timeZone = zone
            }
        }
    }

    public struct GrafanaConfig: Sendable, Decodable {
        public var url = ""
        public var teamsIDs: [String] = []
        public var client = HTTPClientConfig()

        enum CodingKeys: String, CodingKey { case url, teamsIDs = "teams_ids" }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decodeIfPresent(String.self, forKey: .url) ?? ""
            teamsIDs = try container.decodeIfPresent([LenientString].self, forKey: .teamsIDs)?.map(\.value) ?? []
            client = try HTTPClientConfig(from: decoder)
        }
    }

    public struct AdminConfig: Sendable, Decodable {
        public var users: [String] = []
        public var grafana = GrafanaConfig()

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            users = try container.decodeIfPresent([String].self, forKey: .users) ?? []
            grafana = try container.decodeIfPresent(GrafanaConfig.self, forKey: .grafana) ?? GrafanaConfig()
        }

        enum CodingKeys: String, CodingKey { case users, grafana }
    }

    public struct ServerSection: Sendable, Decodable {
        public var data = DataConfig()
        public var admin = AdminConfig()

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            data = try container.decodeIfPresent(DataConfig.self, forKey: .data) ?? DataConfig()
            admin = try container.decodeIfPresent(AdminConfig.self, forKey: .admin) ?? AdminConfig()
        }

        enum CodingKeys: String, CodingKey { case data, admin }
    }

    /// `web.url` plus the inline client config.
    public struct WebClient: Sendable, Decodable {
        public var url = ""
        public var client = HTTPClientConfig()

        public init() {}

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decodeIfPresent(String.self, forKey: .url) ?? ""
            client = try HTTPClientConfig(from: decoder)
        }

        enum CodingKeys: String, CodingKey { case url }
    }

    public struct CLIConfig: Sendable, Decodable {
        public var path = ""
        public var environmentVariables: [String: String] = [:]

        public init() {}

        enum CodingKeys: String, CodingKey { case path, environmentVariables = "environment_variables" }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            path = try container.decodeIfPresent(String.self, forKey: .path) ?? ""
            environmentVariables =
                try container.decodeIfPresent([String: LenientString].self, forKey: .environmentVariables)?
                .mapValues(\.value) ?? [:]
        }
    }

    public struct Cluster: Sendable, Decodable {
        public var id = ""
        public var manager = ""
        public var updaters: [String] = []
        public var cli = CLIConfig()
        public var web = WebClient()
        /// Manager-specific settings, decoded by the manager.
        public var extraConfig: JSONValue?

        enum CodingKeys: String, CodingKey { case id, manager, updaters, cli, web, extraConfig = "extra_config" }

        public init(id: String, manager: String) {
            self.id = id
            self.manager = manager
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
            manager = try container.decodeIfPresent(String.self, forKey: .manager) ?? ""
            updaters = try container.decodeIfPresent([String].self, forKey: .updaters) ?? []
            cli = try container.decodeIfPresent(CLIConfig.self, forKey: .cli) ?? CLIConfig()
            web = try container.decodeIfPresent(WebClient.self, forKey: .web) ?? WebClient()
            extraConfig = try container.decodeIfPresent(JSONValue.self, forKey: .extraConfig)
        }
    }

    public struct Updater: Sendable, Decodable {
        public var id = ""
        public var updater = ""
        public var web = WebClient()
        public var extraConfig: JSONValue?

        enum CodingKeys: String, CodingKey { case id, updater, web, extraConfig = "extra_config" }

        public init(id: String, updater: String) {
            self.id = id
            self.updater = updater
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id) ?? ""
            updater = try container.decodeIfPresent(String.self, forKey: .updater) ?? ""
            web = try container.decodeIfPresent(WebClient.self, forKey: .web) ?? WebClient()
            extraConfig = try container.decodeIfPresent(JSONValue.self, forKey: .extraConfig)
        }
    }

    public var server = ServerSection()
    public var clusters: [Cluster] = []
    public var updaters: [Updater] = []

    enum CodingKeys: String, CodingKey { case server = "ceems_api_server", clusters, updaters }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        server = try container.decodeIfPresent(ServerSection.self, forKey: .server) ?? ServerSection()
        clusters = try container.decodeIfPresent([Cluster].self, forKey: .clusters) ?? []
        updaters = try container.decodeIfPresent([Updater].self, forKey: .updaters) ?? []
    }

    /// Loads and validates the file. `skipChecks` is `--test.disable.checks`.
    public static func load(file: String, expandEnvironment: Bool, skipChecks: Bool = false) throws -> APIServerConfig
    {
        guard !file.isEmpty else { throw ConfigError.invalid(file: "", reason: "config file path missing") }
        var config = try YAMLConfig.load(APIServerConfig.self, file: file, expandEnvironment: expandEnvironment)
        config.configDirectory = (file as NSString).deletingLastPathComponent
        if !skipChecks { try config.validate(file: file) }
        return config
    }

    /// The directory of the file, against which relative paths of HTTP client configs resolve.
    public var configDirectory = ""

    public func validate(file: String = "<config>") throws {
        let data = server.data
        guard data.updateInterval > .zero, data.maxUpdateInterval > .zero else {
            throw ConfigError.invalid(file: file, reason: "update_interval and/or max_update_interval must be more than 0s")
        }
        if data.backupInterval > .zero && data.backupInterval < .seconds(86400) {
            throw ConfigError.invalid(file: file, reason: "backup_interval of less than 1 day is not supported")
        }
        guard WallClock.zone(named: data.timeZone) != nil else {
            throw ConfigError.invalid(file: file, reason: "invalid time_zone \(data.timeZone)")
        }
        var seen = Set<String>()
        for cluster in clusters {
            guard Self.isValidID(cluster.id) else {
                throw ConfigError.invalid(file: file, reason: "invalid cluster ID. It must contain only [a-zA-Z0-9-_]")
            }
            guard seen.insert(cluster.id).inserted else {
                throw ConfigError.invalid(file: file, reason: "duplicate ID found in clusters config")
            }
            guard ["slurm", "openstack", "k8s"].contains(cluster.manager) else {
                throw ConfigError.invalid(file: file, reason: "unknown resource manager found in the config")
            }
        }
        seen.removeAll()
        for updater in updaters {
            guard Self.isValidID(updater.id) else {
                throw ConfigError.invalid(file: file, reason: "invalid updater ID. It must contain only [a-zA-Z0-9-_]")
            }
            guard seen.insert(updater.id).inserted else {
                throw ConfigError.invalid(file: file, reason: "duplicate ID found in updaters config")
            }
            guard updater.updater == "tsdb" else {
                throw ConfigError.invalid(file: file, reason: "unknown updater found in the config")
            }
        }
    }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty
            && id.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }

    /// The admin names configured in the file, with the internal service account always present.
    public var configuredAdmins: [String] {
        var names = server.admin.users.filter { !$0.isEmpty }
        if !names.contains(Self.serviceAccount) { names.append(Self.serviceAccount) }
        return names
    }

    public static let serviceAccount = "ceems-int-svc"
}

/// A YAML scalar read as text whatever its YAML type (`teams_ids: [1, 2]`, env values `FOO: 1`).
public struct LenientString: Sendable, Decodable {
    public var value: String

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            value = text
        } else if let number = try? container.decode(Int.self) {
            value = String(number)
        } else if let flag = try? container.decode(Bool.self) {
            value = flag ? "true" : "false"
        } else {
            value = String(try container.decode(Double.self))
        }
    }
}

