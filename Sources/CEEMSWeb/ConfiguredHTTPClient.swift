import AsyncHTTPClient
import CEEMSCore
import NIOCore
import NIOHTTP1
import NIOSSL

/// The answer to a request made with `ConfiguredHTTPClient`, body collected.
public struct HTTPClientResult: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Errors of `ConfiguredHTTPClient`.
public enum HTTPClientError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case invalidURL(String)
    case credentials(String)
    case transport(url: String, reason: String)

    public var description: String {
        switch self {
        case .invalidConfig(let reason): "invalid HTTP client configuration: \(reason)"
        case .invalidURL(let url): "invalid URL \(url)"
        case .credentials(let reason): "cannot read HTTP client credentials: \(reason)"
        case .transport(let url, let reason): "request to \(url) failed: \(reason)"
        }
    }
}

/// An AsyncHTTPClient configured from Prometheus' common HTTP client config (TLS, proxy, redirects, HTTP/2),
/// adding the config's authorization and headers to every request. Call `shutdown()` when done.
public final class ConfiguredHTTPClient: Sendable {
    public let client: HTTPClient
    public let config: HTTPClientConfig

    /// - Parameter hostOverrides: names resolved to fixed addresses (`dnsOverride`), e.g. an empty BMC host name.
    /// - Parameter retryConnections: whether a failed connection attempt is retried with backoff until the
    ///   connect timeout (AsyncHTTPClient's default) instead of failing the request at once; a load balancer that
    ///   can try another backend wants the failure now.
    /// - Parameter connectionsPerHost: connections kept per host (requests beyond wait for one).
    public init(
        config: HTTPClientConfig, connectTimeout: Duration = .seconds(5), hostOverrides: [String: String] = [:],
        retryConnections: Bool = true, connectionsPerHost: Int = 8
    )
        throws(HTTPClientError)
    {
        self.config = config
        var tls = TLSConfiguration.makeClientConfiguration()
        let tlsConfig = config.tlsConfig
        if tlsConfig.insecureSkipVerify { tls.certificateVerification = .none }
        do {
            if !tlsConfig.ca.isEmpty {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(tlsConfig.ca.utf8)))
            } else if !tlsConfig.caFile.isEmpty {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(tlsConfig.caFile))
            }
            if !tlsConfig.cert.isEmpty || !tlsConfig.certFile.isEmpty {
                let chain =
                    tlsConfig.cert.isEmpty
                    ? try NIOSSLCertificate.fromPEMFile(tlsConfig.certFile)
                    : try NIOSSLCertificate.fromPEMBytes(Array(tlsConfig.cert.utf8))
                tls.certificateChain = chain.map { .certificate($0) }
                let key =
                    tlsConfig.key.isEmpty
                    ? try NIOSSLPrivateKey(file: tlsConfig.keyFile, format: .pem)
                    : try NIOSSLPrivateKey(bytes: Array(tlsConfig.key.utf8), format: .pem)
                tls.privateKey = .privateKey(key)
            }
        } catch {
            throw .invalidConfig("tls_config: \(error)")
        }
        switch tlsConfig.minVersion {
        case "TLS10": tls.minimumTLSVersion = .tlsv1
        case "TLS11": tls.minimumTLSVersion = .tlsv11
        case "TLS13": tls.minimumTLSVersion = .tlsv13
        default: tls.minimumTLSVersion = .tlsv12
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            redirectConfiguration: config.followRedirects ? .follow(max: 10, allowCycles: false) : .disallow,
            timeout: .init(connect: .nanoseconds(Int64(connectTimeout.inSeconds * 1e9)))
        )
        configuration.httpVersion = config.enableHTTP2 ? .automatic : .http1Only
        configuration.dnsOverride = hostOverrides
        configuration.connectionPool.retryConnectionEstablishment = retryConnections
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        if !config.proxyURL.isEmpty {
            guard let (host, port) = Self.hostAndPort(config.proxyURL) else {
                throw .invalidConfig("proxy_url \(config.proxyURL)")
            }
            configuration.proxy = .server(host: host, port: port)
        }
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends a request and collects the answer (up to `limit` bytes), with the config's authorization and
    /// headers added before the caller's.
    public func execute(
        method: HTTPMethod = .GET, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration, limit: Int = 64 << 20, useConfiguredAuthorization: Bool = true
    ) async throws(HTTPClientError) -> HTTPClientResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        do {
            if useConfiguredAuthorization, let authorization = try config.authorizationHeader() {
                request.headers.add(name: "Authorization", value: authorization)
            }
            for (name, value) in try config.extraHeaders() { request.headers.add(name: name, value: value) }
        } catch {
            throw .credentials(error.description)
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let nanoseconds = Int64(timeout.inSeconds * 1e9)
            let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
            let collected = try await response.body.collect(upTo: limit)
            return HTTPClientResult(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer: collected))
        } catch {
            throw .transport(url: url, reason: "\(error)")
        }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// `http://host:port` → (host, port), with the scheme's default port.
    public static func hostAndPort(_ url: String) -> (String, Int)? {
        var rest = Substring(url)
        var port = 80
        if let range = rest.firstRange(of: "://") {
            if rest[..<range.lowerBound] == "https" { port = 443 }
            rest = rest[range.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            let host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":"), let value = Int(after.dropFirst()) { port = value }
            return (String(host), port)
        }
        if let colon = rest.lastIndex(of: ":") {
            guard let value = Int(rest[rest.index(after: colon)...]) else { return nil }
            return (String(rest[..<colon]), value)
        }
        return rest.isEmpty ? nil : (String(rest), port)
    }
}
