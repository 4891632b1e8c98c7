import CEEMSCore
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// The request pipeline of redfish-proxy.md §4: allowlist, client addresses, target, rewrite, forward.
public struct RedfishProxyHandler<Context: RequestContext & RemoteAddressRequestContext>: RouterMiddleware {
    let proxy: RedfishProxy

    public init(proxy: RedfishProxy) { self.proxy = proxy }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        await proxy.respond(to: request, remoteIP: context.remoteAddress?.ipAddress)
    }
}

/// The proxy's state: compiled allowlists, static targets and the BMC client.
public final class RedfishProxy: Sendable {
    let resources: Regex
    let targetHostPatterns: [Regex]
    /// Node address → BMC base URL.
    let staticTargets: [String: String]
    /// `host[:port]` of the configured BMC URLs.
    let configuredHosts: Set<String>
    let trustedProxies: Set<String>
    let client: ConfiguredHTTPClient
    let logger: Logger

    /// `NSRegularExpression` is immutable after creation; wrapped to cross tasks.
    struct Regex: @unchecked Sendable {
        let expression: NSRegularExpression

        func matches(_ text: String) -> Bool {
            expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
    }

    public init(config: RedfishProxyConfig, logger: Logger) throws {
        resources = Regex(expression: try config.resourcePattern())
        targetHostPatterns = try config.targetHostPatterns().map(Regex.init)
        var targets: [String: String] = [:]
        var hosts: Set<String> = []
        for target in config.targets {
            for address in target.hostAddresses where targets[address] == nil { targets[address] = target.url }
            if let host = Self.hostPort(target.url) { hosts.insert(host) }
        }
        staticTargets = targets
        configuredHosts = hosts
        trustedProxies = Set(config.trustedProxies)
        client = try ConfiguredHTTPClient(config: config.client, retryConnections: false)
        self.logger = logger
    }

    public func shutdown() async { await client.shutdown() }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-connection",
    ]

    /// `host[:port]` of a URL.
    static func hostPort(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else { return nil }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return components.port.map { "\(bracketed):\($0)" } ?? bracketed
    }

    /// Whether a header-supplied BMC URL may be used (§3 `allowed_target_hosts`, §8 #3).
    func permitted(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = Self.hostPort(url)
        else { return false }
        if !targetHostPatterns.isEmpty { return targetHostPatterns.contains { $0.matches(host) } }
        return configuredHosts.isEmpty || configuredHosts.contains(host)
    }

    /// The BMC base URL for a request: a static target of one of the client's addresses, else the header's.
    func target(remoteIP: String?, realIPs: [String], header: String?) -> String? {
        var addresses: [String] = []
        if let remoteIP {
            if trustedProxies.contains(remoteIP) { addresses += realIPs }
            addresses.append(remoteIP)
        }
        for address in addresses { if let url = staticTargets[address] { return url } }
        if let header, permitted(header) { return header }
        return nil
    }

    /// Target path + request path joined with one `/`; target query before the request's.
    static func rewrite(target: String, path: String, query: String) -> String? {
        guard var components = URLComponents(string: target) else { return nil }
        var base = components.percentEncodedPath
        if base.hasSuffix("/") { base.removeLast() }
        let joined = base + (path.hasPrefix("/") ? path : "/" + path)
        let targetQuery = components.percentEncodedQuery ?? ""
        let fullQuery = targetQuery.isEmpty || query.isEmpty ? targetQuery + query : targetQuery + "&" + query
        components.percentEncodedQuery = nil
        components.percentEncodedPath = ""
        guard let origin = components.string else { return nil }
        return origin + joined + (fullQuery.isEmpty ? "" : "?" + fullQuery)
    }

    func respond(to request: Request, remoteIP: String?) async -> Response {
        let raw = request.head.path ?? "/"
        let (path, query) = raw.firstIndex(of: "?").map { (String(raw[..<$0]), String(raw[raw.index(after: $0)...])) } ?? (raw, "")
        guard resources.matches(path) else {
            return Self.text(.unauthorized, "access to api resource \(path) is not allowed\n")
        }
        let realIPs = request.headers[values: HTTPField.Name("X-Real-IP")!].flatMap {
            $0.split(separator: ",").map { String($0).trimmingSpaces() }
        }
        let header = request.headers[HTTPField.Name("X-Redfish-Url")!]
        guard let base = target(remoteIP: remoteIP, realIPs: realIPs, header: header),
            let url = Self.rewrite(target: base, path: path, query: query)
        else {
            return Self.text(.badRequest, "failed to find redfish target\n")
        }
        var headers: [(String, String)] = []
        var forwardedFor = ""
        for field in request.headers {
            let name = field.name.canonicalName
            if Self.hopByHop.contains(name) || ["x-redfish-url", "authorization", "user-agent", "content-length"].contains(name) {
                continue
            }
            if name == "x-forwarded-for" {
                forwardedFor = forwardedFor.isEmpty ? field.value : forwardedFor + ", " + field.value
                continue
            }
            headers.append((field.name.rawName, field.value))
        }
        if let remoteIP { forwardedFor = forwardedFor.isEmpty ? remoteIP : forwardedFor + ", " + remoteIP }
        if !forwardedFor.isEmpty { headers.append(("X-Forwarded-For", forwardedFor)) }
        headers.append(("User-Agent", "ceems/redfish_proxy"))
        let body: [UInt8]?
        do {
            let collected = try await request.body.collect(upTo: 1 << 20)
            body = collected.readableBytes > 0 || request.method == .post ? Array(buffer: collected) : nil
        } catch {
            return Self.text(.badRequest, "could not read request body\n")
        }
        let result: HTTPClientResult
        do {
            result = try await client.execute(
                method: HTTPMethod(rawValue: request.method.rawValue), url: url, headers: headers, body: body,
                timeout: .seconds(10), limit: 16 << 20)
        } catch {
            logger.error("Redfish request failed", metadata: ["url": "\(url)", "err": "\(error)"])
            return Self.text(.badGateway, "Bad Gateway\n")
        }
        var responseHeaders = HTTPFields()
        for (name, value) in result.headers where !Self.hopByHop.contains(name.lowercased()) && name.lowercased() != "content-length" {
            if let field = HTTPField.Name(name) { responseHeaders.append(HTTPField(name: field, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: result.status), headers: responseHeaders,
            body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
