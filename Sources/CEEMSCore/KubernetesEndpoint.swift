
/// How to reach the Kubernetes API server: its URL and the HTTP client settings (TLS, credentials).
public struct KubernetesEndpoint: Sendable, Equatable {
    public var server: String
    public var client: HTTPClientConfig

    public init(server: String, client: HTTPClientConfig) {
        self.server = server
        self.client = client
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// From a kubeconfig file (its current context), or the in-cluster service account when `file` is empty.
    public static func load(
        kubeconfig file: String, environment: (String) -> String? = EnvironmentExpansion.processValue
    ) throws(ConfigError) -> Self {
        file.isEmpty ? try inCluster(environment: environment) : try fromKubeconfig(file)
    }

    /// The pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, token and CA under
    /// `/var/run/secrets/kubernetes.io/serviceaccount` (the token file is re-read on every request, as it rotates).
    public static func inCluster(
        environment: (String) -> String?, directory: String = serviceAccountDirectory
    ) throws(ConfigError) -> Self {
        guard let host = environment("KUBERNETES_SERVICE_HOST"), !host.isEmpty,
            let port = environment("KUBERNETES_SERVICE_PORT"), !port.isEmpty
        else {
            throw .invalid(
                file: "in-cluster config",
                reason: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not in a pod; "
                    + "pass --collector.k8s.kubeconfig.file")
        }
        var client = HTTPClientConfig()
        client.bearerTokenFile = directory + "/token"
        client.tlsConfig.caFile = directory + "/ca.crt"
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return Self(server: "https://\(bracketed):\(port)", client: client)
    }

    private struct Kubeconfig: Decodable {
        struct Named<Value: Decodable>: Decodable {
            var name: String
            var value: Value?

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: AnyKey.self)
                name = try container.decodeIfPresent(String.self, forKey: AnyKey("name")) ?? ""
                let key = container.allKeys.first { $0.stringValue != "name" }
                value = try key.flatMap { try container.decodeIfPresent(Value.self, forKey: $0) }
            }
        }

        struct Cluster: Decodable {
            var server: String?
            var certificateAuthority: String?
            var certificateAuthorityData: String?
            var insecureSkipTLSVerify: Bool?
            var tlsServerName: String?

            enum CodingKeys: String, CodingKey {
                case server
                case certificateAuthority = "certificate-authority"
                case certificateAuthorityData = "certificate-authority-data"
                case insecureSkipTLSVerify = "insecure-skip-tls-verify"
                case tlsServerName = "tls-server-name"
            }
        }

        struct User: Decodable {
            var token: String?
            var tokenFile: String?
            var clientCertificate: String?
            var clientCertificateData: String?
            var clientKey: String?
            var clientKeyData: String?
            var username: String?
            var password: String?
            var exec: Exec?
            var authProvider: Exec?

            struct Exec: Decodable {}

            enum CodingKeys: String, CodingKey {
                case token, tokenFile, username, password, exec
                case clientCertificate = "client-certificate"
                case clientCertificateData = "client-certificate-data"
                case clientKey = "client-key"
                case clientKeyData = "client-key-data"
                case authProvider = "auth-provider"
            }
        }

        struct Context: Decodable {
            var cluster: String?
            var user: String?
        }

        var clusters: [Named<Cluster>]?
        var users: [Named<User>]?
        var contexts: [Named<Context>]?
        var currentContext: String?

        enum CodingKeys: String, CodingKey {
            case clusters, users, contexts
            case currentContext = "current-context"
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public static func fromKubeconfig(_ file: String) throws(ConfigError) -> Self {
        let config = try YAMLConfig.load(Kubeconfig.self, file: file)
        let contextName = config.currentContext ?? ""
        let contexts = config.contexts ?? []
        guard
            let context = (contexts.first { $0.name == contextName } ?? (contextName.isEmpty ? contexts.first : nil))?
                .value
        else {
            throw .invalid(file: file, reason: "context \"\(contextName)\" not found")
        }
        guard let cluster = config.clusters?.first(where: { $0.name == context.cluster })?.value,
            let server = cluster.server, !server.isEmpty
        else {
            throw .invalid(file: file, reason: "cluster \"\(context.cluster ?? "")\" not found or has no server")
        }
        // Relative paths in a kubeconfig are relative to the file's directory.
        let directory = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : directory + "/" + path }
        func decoded(_ data: String, _ key: String) throws(ConfigError) -> String {
            guard let bytes = Base64.decode(data.filter { !$0.isWhitespace }) else {
                throw .invalidValue(file: file, key: key, reason: "not base64")
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        var client = HTTPClientConfig()
        client.tlsConfig.insecureSkipVerify = cluster.insecureSkipTLSVerify ?? false
        client.tlsConfig.serverName = cluster.tlsServerName ?? ""
        if let data = cluster.certificateAuthorityData {
            client.tlsConfig.ca = try decoded(data, "certificate-authority-data")
        } else if let path = cluster.certificateAuthority {
            client.tlsConfig.caFile = resolve(path)
        }
        if let userName = context.user, let user = config.users?.first(where: { $0.name == userName })?.value {
            if user.exec != nil || user.authProvider != nil {
                throw .invalid(
                    file: file, reason: "user \"\(userName)\": exec and auth-provider credentials are not supported")
            }
            if let token = user.token {
                client.bearerToken = token
            } else if let path = user.tokenFile {
                client.bearerTokenFile = resolve(path)
            } else if let username = user.username {
                client.basicAuth = .init(username: username, password: user.password ?? "")
            }
            if let data = user.clientCertificateData {
                client.tlsConfig.cert = try decoded(data, "client-certificate-data")
            } else if let path = user.clientCertificate {
                client.tlsConfig.certFile = resolve(path)
            }
            if let data = user.clientKeyData {
                client.tlsConfig.key = try decoded(data, "client-key-data")
            } else if let path = user.clientKey {
                client.tlsConfig.keyFile = resolve(path)
            }
        }
        return Self(server: server.hasSuffix("/") ? String(server.dropLast()) : server, client: client)
    }
}
