import CEEMSCore
import Foundation

/// The `redfish_proxy:` section (redfish-proxy.md §3), or the deprecated `redfish_config:`.
public struct RedfishProxyConfig: Sendable {
    public struct Target: Sendable, Equatable {
        public var hostAddresses: [String]
        public var url: String
    }

    public static let defaultResources = [
        "^/redfish/v1/$", "^/redfish/v1/Sessions$", "^/redfish/v1/SessionService/Sessions$",
        "^/redfish/v1/SessionService/Sessions/[a-zA-Z0-9-_]*$", "^/redfish/v1/Chassis$",
        "^/redfish/v1/Chassis/[a-zA-Z0-9-_]*$", "^/redfish/v1/Chassis/[a-zA-Z0-9-_]*/Power$",
    ]

    public var targets: [Target] = []
    public var allowedResources = RedfishProxyConfig.defaultResources
    public var client = HTTPClientConfig()
    public var trustedProxies = ["127.0.0.1", "::1"]
    public var allowedTargetHosts: [String] = []
    /// Set when the deprecated section name was used.
    public var deprecatedSection = false

    public init() {}

    struct Section: Decodable {
        struct TargetEntry: Decodable {
            var hostIPAddrs: [String]?
            var url: String?
            enum CodingKeys: String, CodingKey { case hostIPAddrs = "host_ip_addrs", url }
        }

        var targets: [TargetEntry]?
        var allowedAPIResources: [String]?
        var insecureSkipVerify: Bool?
        var trustedProxies: [String]?
        var allowedTargetHosts: [String]?
        var client: HTTPClientConfig

        enum CodingKeys: String, CodingKey {
            case targets, allowedAPIResources = "allowed_api_resources", insecureSkipVerify = "insecure_skip_verify"
            case trustedProxies = "trusted_proxies", allowedTargetHosts = "allowed_target_hosts"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            targets = try container.decodeIfPresent([TargetEntry].self, forKey: .targets)
            allowedAPIResources = try container.decodeIfPresent([String].self, forKey: .allowedAPIResources)
            insecureSkipVerify = try container.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify)
            trustedProxies = try container.decodeIfPresent([String].self, forKey: .trustedProxies)
            allowedTargetHosts = try container.decodeIfPresent([String].self, forKey: .allowedTargetHosts)
            client = try HTTPClientConfig(from: decoder)
        }
    }

    struct Document: Decodable {
        var current: Section?
        var deprecated: Section?
        enum CodingKeys: String, CodingKey { case current = "redfish_proxy", deprecated = "redfish_config" }
    }

    /// Reads the file; an empty path gives the defaults (the allowlist always applies, §8 #4).
    public static func load(file: String, expandEnvironment: Bool) throws -> RedfishProxyConfig {
        var config = RedfishProxyConfig()
        guard !file.isEmpty else { return config }
        let document = try YAMLConfig.load(Document.self, file: file, expandEnvironment: expandEnvironment)
        guard let section = document.current ?? document.deprecated else { return config }
        config.deprecatedSection = document.current == nil
        for entry in section.targets ?? [] {
            let url = entry.url ?? ""
            guard let components = URLComponents(string: url), components.scheme != nil, components.host?.isEmpty == false
            else { throw ConfigError.invalid(file: file, reason: "invalid url string: \(url)") }
            config.targets.append(Target(hostAddresses: entry.hostIPAddrs ?? [], url: url))
        }
        if let resources = section.allowedAPIResources, !resources.isEmpty { config.allowedResources = resources }
        config.client = section.client
        // Deprecated key: only that TLS field (§8 #8).
        if section.insecureSkipVerify == true { config.client.tlsConfig.insecureSkipVerify = true }
        if let proxies = section.trustedProxies { config.trustedProxies = proxies }
        config.allowedTargetHosts = section.allowedTargetHosts ?? []
        let directory = (file as NSString).deletingLastPathComponent
        config.client = config.client.resolvingPaths(against: directory.isEmpty ? "." : directory)
        _ = try config.resourcePattern(file: file)
        _ = try config.targetHostPatterns(file: file)
        return config
    }

    /// The allowlist as one regular expression (the entries joined with `|`).
    public func resourcePattern(file: String = "<config>") throws -> NSRegularExpression {
        do {
            return try NSRegularExpression(pattern: allowedResources.joined(separator: "|"))
        } catch {
            throw ConfigError.invalid(file: file, reason: "invalid regexp in allowed_resources: \(error)")
        }
    }

    func targetHostPatterns(file: String = "<config>") throws -> [NSRegularExpression] {
        try allowedTargetHosts.map { text in
            do {
                return try NSRegularExpression(pattern: "^(?:" + text + ")$")
            } catch {
                throw ConfigError.invalid(file: file, reason: "invalid regexp in allowed_target_hosts: \(text)")
            }
        }
    }
}
