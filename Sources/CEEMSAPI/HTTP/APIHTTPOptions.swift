import Foundation

/// The HTTP behaviour of the API server, set by its flags.
public struct APIHTTPOptions: Sendable {
    /// `--web.route-prefix`.
    public var routePrefix = "/"
    /// `--web.user-header-name` (repeatable).
    public var userHeaderNames = ["X-Grafana-User"]
    /// `--web.cors.origin`, a fully anchored regex.
    public var corsOrigin = ".*"
    /// `--web.max-requests`: requests per minute per client; 0 = unlimited.
    public var maxRequests = 0
    /// `--web.trusted-proxies`.
    public var trustedProxies: [IPNetwork] = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]
    /// `--web.compression` and its level.
    public var compression = false
    public var compressionLevel = 5
    /// `--query.max-period`; zero = unlimited.
    public var maxQueryPeriod: Duration = .zero
    /// `--web.external-url` (Swagger host and scheme).
    public var externalURL = ""
    /// `data.time_zone`.
    public var timeZone: TimeZone = .current

    public init() {}

    /// `<prefix>/api/v1`, without a trailing slash.
    var apiBase: String {
        var prefix = routePrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty && !prefix.hasPrefix("/") { prefix = "/" + prefix }
        return prefix + "/api/v1"
    }

    var routeBase: String {
        var prefix = routePrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        if !prefix.isEmpty && !prefix.hasPrefix("/") { prefix = "/" + prefix }
        return prefix
    }
}
