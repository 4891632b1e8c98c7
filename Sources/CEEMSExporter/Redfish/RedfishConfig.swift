import CEEMSCore

/// The Redfish collector's configuration file (`redfish_collector:`, or the deprecated `redfish_web_config:`).
///
/// Unknown keys are ignored (recorded configs carry keys such as `host:` that CEEMS never read).
struct RedfishConfig: Sendable, Decodable {
    var `protocol` = "https"
    var hostname = ""
    var port = 443
    var username = ""
    var password = ""
    var useSessionToken = true
    /// HTTP timeout; ≤ 0 means the default 5 s.
    var timeout: Duration = .milliseconds(5000)
    var externalURL = ""
    var httpClient = HTTPClientConfig()

    enum CodingKeys: String, CodingKey {
        case `protocol`, hostname, port, username, password, timeout
        case useSessionToken = "use_session_token"
        case externalURL = "external_url"
        case insecureSkipVerify = "insecure_skip_verify"
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        `protocol` = try c.decodeIfPresent(String.self, forKey: .protocol) ?? "https"
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname) ?? ""
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? (`protocol` == "http" ? 80 : 443)
        username = try c.decodeIfPresent(String.self, forKey: .username) ?? ""
        password = try c.decodeIfPresent(String.self, forKey: .password) ?? ""
        useSessionToken = try c.decodeIfPresent(Bool.self, forKey: .useSessionToken) ?? true
        let milliseconds = try c.decodeIfPresent(Int.self, forKey: .timeout) ?? 5000
        timeout = .milliseconds(milliseconds > 0 ? milliseconds : 5000)
        externalURL = try c.decodeIfPresent(String.self, forKey: .externalURL) ?? ""
        httpClient = try HTTPClientConfig(from: decoder)
        // The deprecated flag only sets this one TLS field (CEEMS replaced the whole tls_config).
        if try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) == true {
            httpClient.tlsConfig.insecureSkipVerify = true
        }
    }

    private struct File: Decodable {
        var redfishCollector: RedfishConfig?
        var redfishWebConfig: RedfishConfig?

        enum CodingKeys: String, CodingKey {
            case redfishCollector = "redfish_collector"
            case redfishWebConfig = "redfish_web_config"
        }
    }

    /// Loads the file, applies `REDFISH_WEB_USERNAME`/`REDFISH_WEB_PASSWORD` and `{hostname}`.
    static func load(
        file: String, expandEnvironment: Bool, nodeHostname: String,
        environment: (String) -> String? = EnvironmentExpansion.processValue
    ) throws(ConfigError) -> RedfishConfig {
        let parsed = try YAMLConfig.load(File.self, file: file, expandEnvironment: expandEnvironment)
        guard var config = parsed.redfishCollector ?? parsed.redfishWebConfig else {
            throw .invalid(file: file, reason: "missing redfish_collector section")
        }
        if let user = environment("REDFISH_WEB_USERNAME"), !user.isEmpty { config.username = user }
        if let password = environment("REDFISH_WEB_PASSWORD"), !password.isEmpty { config.password = password }
        config.hostname = config.hostname.replacingOccurrences(of: "{hostname}", with: nodeHostname)
        config.externalURL = config.externalURL.replacingOccurrences(of: "{hostname}", with: nodeHostname)
        return config
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
