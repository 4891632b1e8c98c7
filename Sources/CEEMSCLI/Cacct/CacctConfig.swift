import CEEMSCore
import Foundation

/// `cacct`'s configuration file (cacct.md §3), found on a fixed search path only.
public struct CacctConfig: Sendable, Decodable {
    public var clusterID = ""
    public var userHeaderName = "X-Grafana-User"
    public var apiURL = ""
    public var apiClient = HTTPClientConfig()
    public var tsdbURL = ""
    public var tsdbClient = HTTPClientConfig()
    /// Query name → PromQL with one `%s` for the unit uuid.
    public var queries: [String: String] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey { case api = "ceems_api_server", tsdb }
    enum APIKeys: String, CodingKey { case clusterID = "cluster_id", userHeaderName = "user_header_name", web }
    enum TSDBKeys: String, CodingKey { case web, queries }
    enum WebKeys: String, CodingKey { case url }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.api) {
            let api = try container.nestedContainer(keyedBy: APIKeys.self, forKey: .api)
            clusterID = try api.decodeIfPresent(String.self, forKey: .clusterID) ?? ""
            if let header = try api.decodeIfPresent(String.self, forKey: .userHeaderName), !header.isEmpty {
                userHeaderName = header
            }
            if api.contains(.web) {
                let web = try api.nestedContainer(keyedBy: WebKeys.self, forKey: .web)
                apiURL = try web.decodeIfPresent(String.self, forKey: .url) ?? ""
                apiClient = try HTTPClientConfig(from: try api.superDecoder(forKey: .web))
            }
        }
        if container.contains(.tsdb) {
            let tsdb = try container.nestedContainer(keyedBy: TSDBKeys.self, forKey: .tsdb)
            queries = try tsdb.decodeIfPresent([String: String].self, forKey: .queries) ?? [:]
            if tsdb.contains(.web) {
                let web = try tsdb.nestedContainer(keyedBy: WebKeys.self, forKey: .web)
                tsdbURL = try web.decodeIfPresent(String.self, forKey: .url) ?? ""
                tsdbClient = try HTTPClientConfig(from: try tsdb.superDecoder(forKey: .web))
            }
        }
    }

    static let fileNames = ["config.yml", "config.yaml", "cacct.yml", "cacct.yaml"]

    /// The directories searched, in order (§3, §7): `/etc/ceems`, then a test build's extra directory, then the
    /// user's config directory, which is searched last so it cannot override the system file.
    public static func searchDirectories(extra: String?, home: String?, xdgConfigHome: String?) -> [String] {
        var directories = ["/etc/ceems"]
        if let extra, !extra.isEmpty { directories.append(extra) }
        if let xdgConfigHome, xdgConfigHome.hasPrefix("/") {
            directories.append(xdgConfigHome + "/ceems")
        } else if let home, !home.isEmpty {
            directories.append(home + "/.config/ceems")
        }
        return directories
    }

    /// The first existing file of the search path, loaded (relative client paths resolved against its
    /// directory).
    public static func discover(directories: [String]) throws -> (CacctConfig, String) {
        for directory in directories {
            for name in fileNames {
                let path = directory + "/" + name
                guard FileManager.default.isReadableFile(atPath: path) else { continue }
                var config = try YAMLConfig.load(CacctConfig.self, file: path)
                config.apiClient = config.apiClient.resolvingPaths(against: directory)
                config.tsdbClient = config.tsdbClient.resolvingPaths(against: directory)
                return (config, path)
            }
        }
        throw ConfigError.invalid(
            file: "", reason: "no config file found in \(directories.joined(separator: ", "))")
    }
}
