import CEEMSCore

/// The web configuration file shared by every server of the project, in the format of Prometheus'
/// exporter-toolkit (`--web.config.file`): TLS, HTTP headers, bcrypt basic auth users and a rate limit.
public struct WebConfig: Sendable, Equatable, Decodable {
    public struct TLSServerConfig: Sendable, Equatable, Decodable {
        public var certFile: String = ""
        public var keyFile: String = ""
        public var cert: String = ""
        public var key: String = ""
        public var clientCAFile: String = ""
        public var clientCA: String = ""
        public var clientAuthType: String = "NoClientCert"
        public var clientAllowedSANs: [String] = []
        public var minVersion: String = "TLS12"
        public var maxVersion: String = "TLS13"
        public var cipherSuites: [String] = []
        public var preferServerCipherSuites: Bool = true
        public var curvePreferences: [String] = []

        enum CodingKeys: String, CodingKey {
            case certFile = "cert_file"
            case keyFile = "key_file"
            case cert, key
            case clientCAFile = "client_ca_file"
            case clientCA = "client_ca"
            case clientAuthType = "client_auth_type"
            case clientAllowedSANs = "client_allowed_sans"
            case minVersion = "min_version"
            case maxVersion = "max_version"
            case cipherSuites = "cipher_suites"
            case preferServerCipherSuites = "prefer_server_cipher_suites"
            case curvePreferences = "curve_preferences"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            certFile = try c.decodeIfPresent(String.self, forKey: .certFile) ?? ""
            keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile) ?? ""
            cert = try c.decodeIfPresent(String.self, forKey: .cert) ?? ""
            key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
            clientCAFile = try c.decodeIfPresent(String.self, forKey: .clientCAFile) ?? ""
            clientCA = try c.decodeIfPresent(String.self, forKey: .clientCA) ?? ""
            clientAuthType = try c.decodeIfPresent(String.self, forKey: .clientAuthType) ?? "NoClientCert"
            clientAllowedSANs = try c.decodeIfPresent([String].self, forKey: .clientAllowedSANs) ?? []
            minVersion = try c.decodeIfPresent(String.self, forKey: .minVersion) ?? "TLS12"
            maxVersion = try c.decodeIfPresent(String.self, forKey: .maxVersion) ?? "TLS13"
            cipherSuites = try c.decodeIfPresent([String].self, forKey: .cipherSuites) ?? []
            preferServerCipherSuites = try c.decodeIfPresent(Bool.self, forKey: .preferServerCipherSuites) ?? true
            curvePreferences = try c.decodeIfPresent([String].self, forKey: .curvePreferences) ?? []
        }

        /// Whether TLS is configured at all (otherwise the server speaks plain HTTP).
        public var isEnabled: Bool {
            !(certFile.isEmpty && cert.isEmpty && keyFile.isEmpty && key.isEmpty)
        }
    }

    public struct HTTPServerConfig: Sendable, Equatable, Decodable {
        public var http2: Bool = true
        public var headers: [String: String] = [:]

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            http2 = try c.decodeIfPresent(Bool.self, forKey: .http2) ?? true
            headers = try c.decodeIfPresent([String: String].self, forKey: .headers) ?? [:]
        }

        enum CodingKeys: String, CodingKey {
            case http2, headers
        }
    }

    public struct RateLimit: Sendable, Equatable, Decodable {
        /// Minimum time between two requests (the token refill period); zero disables the limit.
        public var interval: Duration = .zero
        public var burst: Int = 0

        public init(interval: Duration = .zero, burst: Int = 0) {
            self.interval = interval
            self.burst = burst
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let text = try c.decodeIfPresent(String.self, forKey: .interval) {
                do {
                    interval = try GoDuration.parse(text)
                } catch {
                    throw DecodingError.dataCorruptedError(
                        forKey: .interval, in: c, debugDescription: error.description)
                }
            }
            burst = try c.decodeIfPresent(Int.self, forKey: .burst) ?? 0
        }

        enum CodingKeys: String, CodingKey {
            case interval, burst
        }
    }

    public var tlsServerConfig = TLSServerConfig()
    public var httpServerConfig = HTTPServerConfig()
    public var basicAuthUsers: [String: String] = [:]
    public var rateLimit = RateLimit()

    enum CodingKeys: String, CodingKey {
        case tlsServerConfig = "tls_server_config"
        case httpServerConfig = "http_server_config"
        case basicAuthUsers = "basic_auth_users"
        case rateLimit = "rate_limit"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tlsServerConfig = try c.decodeIfPresent(TLSServerConfig.self, forKey: .tlsServerConfig) ?? TLSServerConfig()
        httpServerConfig = try c.decodeIfPresent(HTTPServerConfig.self, forKey: .httpServerConfig) ?? HTTPServerConfig()
        basicAuthUsers = try c.decodeIfPresent([String: String].self, forKey: .basicAuthUsers) ?? [:]
        rateLimit = try c.decodeIfPresent(RateLimit.self, forKey: .rateLimit) ?? RateLimit()
    }

    /// The keys the file may hold (unknown keys are errors, as in exporter-toolkit's strict parsing).
    public static let schema: KeySchema = .object([
        "tls_server_config": .object([
            "cert_file": .any, "key_file": .any, "cert": .any, "key": .any, "client_ca_file": .any, "client_ca": .any,
            "client_auth_type": .any, "client_allowed_sans": .any, "min_version": .any, "max_version": .any,
            "cipher_suites": .any, "prefer_server_cipher_suites": .any, "curve_preferences": .any,
        ]),
        "http_server_config": .object(["http2": .any, "headers": .map(.any)]),
        "basic_auth_users": .map(.any),
        "rate_limit": .object(["interval": .any, "burst": .any]),
    ])

    /// The security headers that may be set, and the values some of them must have.
    public static let allowedHeaders: Set<String> = [
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "X-XSS-Protection",
        "Content-Security-Policy",
    ]

    /// Loads, resolves relative paths against the file's directory, and validates.
    public static func load(file: String) throws(ConfigError) -> WebConfig {
        var config = try YAMLConfig.load(WebConfig.self, file: file, schema: schema)
        let directory = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        config.tlsServerConfig.resolvePaths(relativeTo: directory)
        try config.validate(file: file)
        return config
    }

    /// Checks what exporter-toolkit checks when it loads the file.
    public func validate(file: String) throws(ConfigError) {
        let tls = tlsServerConfig
        if !tls.certFile.isEmpty && !tls.cert.isEmpty {
            throw .invalid(file: file, reason: "cannot specify both cert_file and cert")
        }
        if !tls.keyFile.isEmpty && !tls.key.isEmpty {
            throw .invalid(file: file, reason: "cannot specify both key_file and key")
        }
        if !tls.clientCAFile.isEmpty && !tls.clientCA.isEmpty {
            throw .invalid(file: file, reason: "cannot specify both client_ca_file and client_ca")
        }
        if tls.isEnabled {
            if tls.certFile.isEmpty && tls.cert.isEmpty { throw .invalid(file: file, reason: "missing cert_file") }
            if tls.keyFile.isEmpty && tls.key.isEmpty { throw .invalid(file: file, reason: "missing key_file") }
            guard TLSAuthType(rawValue: tls.clientAuthType) != nil else {
                throw .invalid(file: file, reason: "Invalid ClientAuth: \(tls.clientAuthType)")
            }
            if (tls.clientAuthType == "RequireAndVerifyClientCert" || tls.clientAuthType == "VerifyClientCertIfGiven")
                && tls.clientCAFile.isEmpty && tls.clientCA.isEmpty
            {
                throw .invalid(file: file, reason: "client_ca_file or client_ca is required for \(tls.clientAuthType)")
            }
            if !tls.clientAllowedSANs.isEmpty {
                throw .invalid(file: file, reason: "client_allowed_sans is not supported by this server")
            }
            for version in [tls.minVersion, tls.maxVersion] where TLSVersionName(rawValue: version) == nil {
                throw .invalid(file: file, reason: "unknown TLS version: \(version)")
            }
        }
        for (name, value) in httpServerConfig.headers {
            guard Self.allowedHeaders.contains(name) else {
                throw .invalid(file: file, reason: "HTTP header \(name) can not be configured")
            }
            if name == "X-Content-Type-Options" && value.lowercased() != "nosniff" {
                throw .invalid(
                    file: file,
                    reason: "invalid value for \(name). Expected one of: [\"nosniff\"], but got: \"\(value)\"")
            }
            if name == "X-Frame-Options" && !["deny", "sameorigin"].contains(value.lowercased()) {
                throw .invalid(
                    file: file,
                    reason:
                        "invalid value for \(name). Expected one of: [\"deny\" \"sameorigin\"], but got: \"\(value)\"")
            }
        }
        for (user, hash) in basicAuthUsers where !BasicAuthVerifier.isBcryptHash(hash) {
            throw .invalid(file: file, reason: "invalid bcrypt hash for user \(user)")
        }
        if rateLimit.burst < 0 || rateLimit.interval < .zero {
            throw .invalid(file: file, reason: "rate_limit interval and burst must not be negative")
        }
    }
}

extension WebConfig.TLSServerConfig {
    mutating func resolvePaths(relativeTo directory: String) {
        func resolve(_ path: inout String) {
            if !path.isEmpty && !path.hasPrefix("/") { path = FilePathSyntax.join(directory, path) }
        }
        resolve(&certFile)
        resolve(&keyFile)
        resolve(&clientCAFile)
    }
}

/// `client_auth_type` values (Go's `tls.ClientAuthType` names).
public enum TLSAuthType: String, Sendable {
    case noClientCert = "NoClientCert"
    case requestClientCert = "RequestClientCert"
    case requireAnyClientCert = "RequireAnyClientCert"
    case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
    case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
}

/// `min_version` / `max_version` values.
public enum TLSVersionName: String, Sendable {
    case tls10 = "TLS10"
    case tls11 = "TLS11"
    case tls12 = "TLS12"
    case tls13 = "TLS13"
}
