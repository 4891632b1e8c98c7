import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The API server's HTTP pipeline (§4.2): routing, rate limit, identity, compression, CORS, then the endpoint.
/// Installed as the last middleware of a router without routes, so it answers every request itself.
public struct APIHandler<Context: RequestContext>: RouterMiddleware {
    let store: APIStore
    let options: APIHTTPOptions
    let logger: Logger
    let limiter: RateLimiter?
    let cache = UsageCache()
    let cors: CORSMatcher
    let admins = AdminCache()
    let landing: String
    let now: @Sendable () -> Int64

    public init(
        store: APIStore, options: APIHTTPOptions, logger: Logger,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        self.store = store
        self.options = options
        self.logger = logger
        self.limiter = options.maxRequests > 0 ? RateLimiter(limit: options.maxRequests) : nil
        self.cors = try CORSMatcher(pattern: options.corsOrigin)
        self.now = now
        landing = LandingPage(
            name: "ceems_api_server",
            description: "API server for reporting usage statistics for batchjobs/VMs/Pods.",
            version: BuildInfo.version,
            links: [
                .init(address: "swagger/index.html", text: "Swagger API"), .init(address: "health", text: "Health Status"),
            ]
        ).render()
    }

    enum Route {
        case landing, health, swagger(String), api(endpoint: String, mode: String?, admin: Bool), notFound
    }

    func route(_ path: String) -> Route {
        let base = options.routeBase
        guard path.hasPrefix(base) || base.isEmpty else { return .notFound }
        let rest = String(path.dropFirst(base.count))
        if rest == "/" || (rest.isEmpty && !base.isEmpty) { return .landing }
        if rest == "/health" { return .health }
        if rest.hasPrefix("/swagger/") { return .swagger(String(rest.dropFirst("/swagger/".count))) }
        guard rest.hasPrefix("/api/v1/") else { return .notFound }
        var parts = rest.dropFirst("/api/v1/".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let endpoint = parts.first, parts.allSatisfy({ !$0.isEmpty }) else { return .notFound }
        parts.removeFirst()
        let admin = parts.last == "admin"
        if admin { parts.removeLast() }
        switch (endpoint, parts.count) {
        case ("users", 0), ("projects", 0), ("units", 0):
            return .api(endpoint: endpoint, mode: nil, admin: admin)
        case ("clusters", 0) where admin:
            return .api(endpoint: endpoint, mode: nil, admin: true)
        case ("units", 1) where parts[0] == "verify" && !admin:
            return .api(endpoint: "verify", mode: nil, admin: false)
        case ("usage", 1) where ["current", "global"].contains(parts[0]):
            return .api(endpoint: endpoint, mode: parts[0], admin: admin)
        case ("stats", 1) where admin && ["current", "global"].contains(parts[0]):
            return .api(endpoint: endpoint, mode: parts[0], admin: true)
        case ("demo", 1) where !admin && ["units", "usage"].contains(parts[0]):
            return .api(endpoint: "demo", mode: parts[0], admin: false)
        default:
            return .notFound
        }
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let route = route(request.uri.path)
        if case .notFound = route {
            return Self.text(.notFound, "404 page not found\n")
        }
        var rateHeaders: [(HTTPField.Name, String)] = []
        if let limiter {
            let decision = limiter.check(key: clientKey(request, context: context), nowMilliseconds: now())
            rateHeaders = [
                (HTTPField.Name("X-RateLimit-Limit")!, String(limiter.limit)),
                (HTTPField.Name("X-RateLimit-Remaining")!, String(decision.remaining)),
                (HTTPField.Name("X-RateLimit-Reset")!, String(decision.reset)),
            ]
            if !decision.allowed {
                var response = Self.text(.tooManyRequests, "Too Many Requests\n")
                response.headers[.retryAfter] = "60"
                for (name, value) in rateHeaders { response.headers[name] = value }
                return response
            }
        }
        var response = await respond(route: route, request: request)
        for (name, value) in rateHeaders { response.headers[name] = value }
        return response
    }

    func respond(route: Route, request: Request) async -> Response {
        switch route {
        case .landing:
            return Self.text(.ok, landing, contentType: "text/html; charset=UTF-8")
        case .health:
            var response =
                store.database.ping()
                ? Self.text(.ok, "CEEMS API Server is healthy") : Self.text(.serviceUnavailable, "KO")
            addCORS(request, to: &response)
            return response
        case .swagger(let file):
            return Swagger.response(file: file, options: options)
        case .notFound:
            return Self.text(.notFound, "404 page not found\n")
        case .api(let endpoint, let mode, let admin):
            guard request.method == .get || request.method == .options else {
                return Response(status: .methodNotAllowed)
            }
            var response: Response
            if request.method == .options {
                response = Response(status: .ok, headers: [.contentLength: "0"])
            } else {
                let reply = await api(endpoint: endpoint, mode: mode, admin: admin, request: request)
                response = makeResponse(reply, request: request)
            }
            addCORS(request, to: &response)
            return response
        }
    }

    func api(endpoint: String, mode: String?, admin: Bool, request: Request) async -> Reply {
        if endpoint == "demo" {
            return Reply(.ok, Envelope.success(data: Demo.data(kind: mode ?? "units")))
        }
        let user = options.userHeaderNames.lazy.compactMap { name in
            HTTPField.Name(name).flatMap { request.headers[$0] }
        }.first { !$0.isEmpty }
        guard let user else { return Reply(.noUser) }
        let isAdmin: Bool
        do {
            isAdmin = try admins.contains(user, store: store, now: now())
        } catch {
            logger.error("Failed to read admin users", metadata: ["err": "\(error)"])
            return Reply(APIError(.internalError, Self.describe(error)))
        }
        if admin && !isAdmin { return Reply(.notAdmin) }
        var query = QueryParameters(request.uri.query ?? "")
        query.set("logged_user", [user])
        let call = APICall(user: user, isAdmin: isAdmin, adminRoute: admin, query: query)
        do {
            let (body, extraHeaders) = try endpointBody(endpoint: endpoint, mode: mode, call: call)
            var reply = Reply(.ok, bytes: body)
            reply.headers = extraHeaders
            return reply
        } catch let error as APIError {
            if error.kind == .internalError {
                logger.error("Request failed", metadata: ["path": "\(request.uri.path)", "err": "\(error.message)"])
            }
            return Reply(error)
        } catch {
            logger.error("Request failed", metadata: ["path": "\(request.uri.path)", "err": "\(Self.describe(error))"])
            return Reply(APIError(.internalError, Self.describe(error)))
        }
    }

    /// SQLite's message without GRDB's decorations (no SQL text, no arguments).
    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "database error" }
        return "internal error"
    }

    // MARK: pipeline pieces

    func clientKey(_ request: Request, context: Context) -> String {
        let peer = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress ?? ""
        guard options.trustedProxies.contains(where: { $0.contains(peer) }) else { return peer }
        for name in ["True-Client-IP", "X-Real-IP"] {
            if let value = HTTPField.Name(name).flatMap({ request.headers[$0] }), IPNetwork(value) != nil {
                return value
            }
        }
        if let forwarded = HTTPField.Name("X-Forwarded-For").flatMap({ request.headers[$0] }),
            let first = forwarded.split(separator: ",").first.map({ String($0).trimmed(of: " ") }),
            IPNetwork(first) != nil
        {
            return first
        }
        return peer
    }

    func addCORS(_ request: Request, to response: inout Response) {
        guard let origin = request.headers[.origin], !origin.isEmpty else { return }
        if cors.matches(origin) {
            response.headers[.accessControlAllowOrigin] = origin
        }
        response.headers[.accessControlAllowHeaders] =
            (["Accept", "Authorization", "Content-Type", "Origin"] + options.userHeaderNames).joined(separator: ", ")
        response.headers[.accessControlAllowMethods] = "GET"
        response.headers[.accessControlExposeHeaders] = "Date"
        response.headers[.vary] = "Origin"
    }

    /// The JSON response of a reply, gzipped when `--web.compression` is on and the client accepts it.
    func makeResponse(_ reply: Reply, request: Request) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        for (name, value) in reply.headers { headers[name] = value }
        var bytes = reply.body
        // gzip is preferred over deflate (a zlib stream, RFC 1950), as Go's compress middleware does.
        if options.compression, let accept = request.headers[.acceptEncoding]?.lowercased() {
            let encoding: (String, Gzip.Format)? =
                accept.contains("gzip") ? ("gzip", .gzip) : accept.contains("deflate") ? ("deflate", .zlib) : nil
            if let (name, format) = encoding,
                let compressed = try? Gzip.compress(
                    bytes, level: Int32(max(1, min(9, options.compressionLevel))), format: format)
            {
                bytes = compressed
                headers[.contentEncoding] = name
                headers[.vary] = "Accept-Encoding"
            }
        }
        return Response(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: responses

    static func text(_ status: HTTPResponse.Status, _ text: String, contentType: String = "text/plain; charset=utf-8")
        -> Response
    {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

}

/// One authenticated API request.
struct APICall {
    var user: String
    var isAdmin: Bool
    var adminRoute: Bool
    var query: QueryParameters
}

/// The admin names, re-read at most every 2 s (the spec allows ≤ 10 s).
final class AdminCache: Sendable {
    private let state = Mutex<(names: Set<String>, readAt: Int64)?>(nil)

    func contains(_ user: String, store: APIStore, now: Int64) throws -> Bool {
        if let cached = state.withLock({ $0 }), now - cached.readAt < 2000 { return cached.names.contains(user) }
        let names = try store.adminNames()
        state.withLock { $0 = (names, now) }
        return names.contains(user)
    }
}


/// An endpoint's answer before it becomes a response.
struct Reply {
    var status: HTTPResponse.Status
    var body: [UInt8]
    var headers: [(HTTPField.Name, String)] = []

    init(_ status: HTTPResponse.Status, _ body: String) {
        self.status = status
        self.body = Array(body.utf8)
    }

    init(_ status: HTTPResponse.Status, bytes: [UInt8]) {
        self.status = status
        self.body = bytes
    }

    init(_ error: APIError) {
        self.init(error.kind.status, Envelope.error(error))
    }
}

/// The `--web.cors.origin` regex, anchored as `^(?s:…)$`.
///
/// `@unchecked Sendable`: `Regex` is not marked Sendable because a regex built with the DSL may capture closures;
/// this one is compiled from a pattern string, holds no closures and is never mutated after `init`.
struct CORSMatcher: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    init(pattern: String) throws {
        regex = try Regex("^(?s:" + pattern + ")$")
    }

    func matches(_ origin: String) -> Bool {
        (try? regex.wholeMatch(in: origin)) != nil
    }
}
