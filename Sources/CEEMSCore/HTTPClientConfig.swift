/// Prometheus' common HTTP client configuration, written inline next to a `url` in CEEMS' YAML files
/// (`basic_auth`, `authorization`, `tls_config`, `proxy_url`, `http_headers`, …).
public struct HTTPClientConfig: Sendable, Equatable, Decodable {
    public struct BasicAuth: Sendable, Equatable, Decodable {
        public var username: String = ""
        public var usernameFile: String = ""
        public var password: String = ""
        public var passwordFile: String = ""

        enum CodingKeys: String, CodingKey {
            case username, password
            case usernameFile = "username_file"
            case passwordFile = "password_file"
        }

        public init(username: String = "", password: String = "") {
            self.username = username
            self.password = password
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            username = try c.decodeIfPresent(String.self, forKey: .username) ?? ""
            usernameFile = try c.decodeIfPresent(String.self, forKey: .usernameFile) ?? ""
            password = try c.decodeIfPresent(String.self, forKey: .password) ?? ""
            passwordFile = try c.decodeIfPresent(String.self, forKey: .passwordFile) ?? ""
        }
    }

    public struct Authorization: Sendable, Equatable, Decodable {
        public var type: String = "Bearer"
        public var credentials: String = ""
        public var credentialsFile: String = ""

        enum CodingKeys: String, CodingKey {
            case type, credentials
            case credentialsFile = "credentials_file"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type) ?? "Bearer"
            credentials = try c.decodeIfPresent(String.self, forKey: .credentials) ?? ""
            credentialsFile = try c.decodeIfPresent(String.self, forKey: .credentialsFile) ?? ""
        }
    }

    public struct TLSConfig: Sendable, Equatable, Decodable {
        public var caFile: String = ""
        public var ca: String = ""
        public var certFile: String = ""
        public var cert: String = ""
        public var keyFile: String = ""
        public var key: String = ""
        public var serverName: String = ""
        public var insecureSkipVerify: Bool = false
        public var minVersion: String = ""
        public var maxVersion: String = ""

        enum CodingKeys: String, CodingKey {
            case ca, cert, key
            case caFile = "ca_file"
            case certFile = "cert_file"
            case keyFile = "key_file"
            case serverName = "server_name"
            case insecureSkipVerify = "insecure_skip_verify"
            case minVersion = "min_version"
            case maxVersion = "max_version"
        }

        public init() {}

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            caFile = try c.decodeIfPresent(String.self, forKey: .caFile) ?? ""
            ca = try c.decodeIfPresent(String.self, forKey: .ca) ?? ""
            certFile = try c.decodeIfPresent(String.self, forKey: .certFile) ?? ""
            cert = try c.decodeIfPresent(String.self, forKey: .cert) ?? ""
            keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile) ?? ""
            key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
            serverName = try c.decodeIfPresent(String.self, forKey: .serverName) ?? ""
            insecureSkipVerify = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
            minVersion = try c.decodeIfPresent(String.self, forKey: .minVersion) ?? ""
            maxVersion = try c.decodeIfPresent(String.self, forKey: .maxVersion) ?? ""
        }
    }

    /// A header's values; `secrets` are values that must never be logged, `files` are read at request time.
    public struct Header: Sendable, Equatable, Decodable {
        public var values: [String] = []
        public var secrets: [String] = []
        public var files: [String] = []

        public init(values: [String] = [], secrets: [String] = [], files: [String] = []) {
            self.values = values
            self.secrets = secrets
            self.files = files
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            values = try c.decodeIfPresent([String].self, forKey: .values) ?? []
            secrets = try c.decodeIfPresent([String].self, forKey: .secrets) ?? []
            files = try c.decodeIfPresent([String].self, forKey: .files) ?? []
        }

        enum CodingKeys: String, CodingKey {
            case values, secrets, files
        }
    }

    public var basicAuth: BasicAuth?
    public var authorization: Authorization?
    public var bearerToken: String = ""
    public var bearerTokenFile: String = ""
    public var tlsConfig = TLSConfig()
    public var proxyURL: String = ""
    public var httpHeaders: [String: Header] = [:]
    public var followRedirects = true
    public var enableHTTP2 = true
    /// Whether an `oauth2` section was given (not supported: reported at start-up).
    public var hasOAuth2 = false

    enum CodingKeys: String, CodingKey {
        case authorization
        case basicAuth = "basic_auth"
        case bearerToken = "bearer_token"
        case bearerTokenFile = "bearer_token_file"
        case tlsConfig = "tls_config"
        case proxyURL = "proxy_url"
        case httpHeaders = "http_headers"
        case followRedirects = "follow_redirects"
        case enableHTTP2 = "enable_http2"
        case oauth2
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        basicAuth = try c.decodeIfPresent(BasicAuth.self, forKey: .basicAuth)
        authorization = try c.decodeIfPresent(Authorization.self, forKey: .authorization)
        bearerToken = try c.decodeIfPresent(String.self, forKey: .bearerToken) ?? ""
        bearerTokenFile = try c.decodeIfPresent(String.self, forKey: .bearerTokenFile) ?? ""
        tlsConfig = try c.decodeIfPresent(TLSConfig.self, forKey: .tlsConfig) ?? TLSConfig()
        proxyURL = try c.decodeIfPresent(String.self, forKey: .proxyURL) ?? ""
        httpHeaders = try c.decodeIfPresent([String: Header].self, forKey: .httpHeaders) ?? [:]
        followRedirects = try c.decodeIfPresent(Bool.self, forKey: .followRedirects) ?? true
        enableHTTP2 = try c.decodeIfPresent(Bool.self, forKey: .enableHTTP2) ?? true
        hasOAuth2 = c.contains(.oauth2)
    }

    /// The keys this config adds to the section it is inlined in (for strict key checking).
    public static let inlineKeys: [String: KeySchema] = [
        "basic_auth": .any, "authorization": .any, "bearer_token": .any, "bearer_token_file": .any,
        "tls_config": .any, "proxy_url": .any, "no_proxy": .any, "proxy_from_environment": .any,
        "proxy_connect_header": .any, "http_headers": .any, "follow_redirects": .any, "enable_http2": .any,
        "oauth2": .any,
    ]

    /// The `Authorization` header value this config sends, if any (files are read now).
    public func authorizationHeader() throws(SystemFileError) -> String? {
        if let basicAuth {
            var user = basicAuth.username
            if !basicAuth.usernameFile.isEmpty {
                user = try SystemFile.readString(basicAuth.usernameFile).trimmingSpaces()
            }
            var password = basicAuth.password
            if !basicAuth.passwordFile.isEmpty {
                password = try SystemFile.readString(basicAuth.passwordFile).trimmingSpaces()
            }
            return "Basic " + Base64.encode(Array("\(user):\(password)".utf8))
        }
        if let authorization {
            var credentials = authorization.credentials
            if !authorization.credentialsFile.isEmpty {
                credentials = try SystemFile.readString(authorization.credentialsFile).trimmingSpaces()
            }
            return "\(authorization.type) \(credentials)"
        }
        if !bearerTokenFile.isEmpty {
            return "Bearer " + (try SystemFile.readString(bearerTokenFile).trimmingSpaces())
        }
        if !bearerToken.isEmpty { return "Bearer \(bearerToken)" }
        return nil
    }

    /// The extra headers this config sends (`http_headers`), files read now.
    public func extraHeaders() throws(SystemFileError) -> [(String, String)] {
        var headers: [(String, String)] = []
        for name in httpHeaders.keys.sorted() {
            let header = httpHeaders[name]!
            for value in header.values + header.secrets { headers.append((name, value)) }
            for file in header.files { headers.append((name, try SystemFile.readString(file).trimmingSpaces())) }
        }
        return headers
    }
}

extension HTTPClientConfig {
    /// The config with its relative file paths (credentials, certificates, header files) made relative to
    /// `directory`, the directory of the file it was read from.
    public func resolvingPaths(against directory: String) -> HTTPClientConfig {
        guard !directory.isEmpty else { return self }
        func resolve(_ path: inout String) {
            if !path.isEmpty && !path.hasPrefix("/") { path = directory + "/" + path }
        }
        var config = self
        if config.basicAuth != nil {
            resolve(&config.basicAuth!.usernameFile)
            resolve(&config.basicAuth!.passwordFile)
        }
        if config.authorization != nil { resolve(&config.authorization!.credentialsFile) }
        resolve(&config.bearerTokenFile)
        resolve(&config.tlsConfig.caFile)
        resolve(&config.tlsConfig.certFile)
        resolve(&config.tlsConfig.keyFile)
        for name in config.httpHeaders.keys {
            for index in config.httpHeaders[name]!.files.indices { resolve(&config.httpHeaders[name]!.files[index]) }
        }
        return config
    }
}
