import CEEMSCore
import CEEMSMetrics
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request pipeline of one LB listener (§5): `/health`, cluster id, identity, path allowlist, query
/// inspection and ownership, then the proxy. Installed as the last middleware of a router without routes, so
/// it answers every request itself.
public struct LBHandler<Context: RequestContext & RemoteAddressRequestContext>: RouterMiddleware {
    let pool: BackendPool
    let access: AccessControl?
    let proxy: ReverseProxy
    let metrics: LBMetrics
    let allBackends: [Backend]
    let logger: Logger

    var kind: BackendKind { pool.kind }

    /// Largest request body read (queries are small; the body is kept for a retry).
    static var bodyLimit: Int { 32 << 20 }

    init(
        pool: BackendPool, access: AccessControl?, proxy: ReverseProxy, metrics: LBMetrics, allBackends: [Backend],
        logger: Logger
    ) {
        self.pool = pool
        self.access = access
        self.proxy = proxy
        self.metrics = metrics
        self.allBackends = allBackends
        self.logger = logger
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let response = await respond(to: request, context: context)
        metrics.recordResponse(kind: kind, code: response.status.code)
        return response
    }

    func respond(to request: Request, context: Context) async -> Response {
        let target = request.head.path ?? "/"
        let path: String
        let rawQuery: String
        if let question = target.firstIndex(of: "?") {
            path = String(target[..<question])
            rawQuery = String(target[target.index(after: question)...])
        } else {
            path = target
            rawQuery = ""
        }
        // Step 0: answered before any check (§12 #4).
        if path == "/health" { return LBResponse.text(.ok, "CEEMS LB Server is healthy") }
        let headerCluster = request.headers[LBResponse.clusterHeader]
        if headerCluster == nil, path == "/metrics", request.method == .get {
            var headers = HTTPFields()
            headers[.contentType] = ExpositionWriter.contentType
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render(backends: allBackends))))
        }
        // Step 1.
        guard var clusterID = headerCluster, pool.hasCluster(clusterID) else { return LBResponse.badCluster }

        let body: [UInt8]
        do {
            body = Array(buffer: try await request.body.collect(upTo: Self.bodyLimit))
        } catch {
            return LBResponse.text(.contentTooLarge, "Request body too large")
        }
        let parts = RequestInspector.Parts(
            path: path, rawQuery: rawQuery, body: body, contentType: request.headers[.contentType],
            contentEncoding: request.headers[.contentEncoding])

        var user: String?
        if let access {
            // Steps 4 to 7.
            guard let name = request.headers[LBResponse.userHeader], !name.isEmpty else { return LBResponse.noUser }
            user = name
            guard let verifier = access.verifier() else {
                logger.error("No CEEMS database or API server to check access with")
                return LBResponse.unavailable
            }
            // Inspection is cheap and needed by admins too (routing), so it comes first and one lookup then
            // answers both questions: admin, and owner of the units.
            let scope = try? RequestInspector.scope(of: parts, kind: kind)
            let target = scope?.clusterID ?? clusterID
            let pathAllowed = RequestInspector.isAllowed(path: path, kind: kind)
            var uuids: [String] = []
            if let scope, scope.denial == nil, pathAllowed, pool.hasCluster(target) { uuids = scope.uuids }
            let start = ContinuousClock.now
            let answer: AccessAnswer
            if let now = verifier.accessNow(user: name, clusterID: target, uuids: uuids) {
                answer = now
            } else {
                answer = await verifier.access(user: name, clusterID: target, uuids: uuids)
            }
            if !uuids.isEmpty { metrics.recordCheck(ContinuousClock.now - start) }
            if !answer.admin {
                guard pathAllowed else {
                    metrics.recordDenial("path")
                    logger.debug("Path not allowed", metadata: ["user": "\(name)", "path": "\(path)"])
                    return LBResponse.forbiddenResource
                }
                guard let scope else {
                    metrics.recordDenial("invalid_parameters")
                    return LBResponse.text(.badRequest, "Invalid query parameters")
                }
                if let denial = scope.denial {
                    metrics.recordDenial("query")
                    logger.debug("Query denied", metadata: ["user": "\(name)", "reason": "\(denial)"])
                    return LBResponse.forbiddenView
                }
                guard pool.hasCluster(target) else { return LBResponse.unavailable }
                guard answer.owns else {
                    metrics.recordDenial("ownership")
                    logger.debug(
                        "Units not owned", metadata: ["user": "\(name)", "cluster_id": "\(target)", "uuids": "\(uuids)"])
                    return LBResponse.forbiddenView
                }
            }
            clusterID = target
        } else if let scope = try? RequestInspector.scope(of: parts, kind: kind), let override = scope.clusterID {
            // Without access control the cluster id is still taken from the query (§12 #13).
            clusterID = override
        }
        return await proxy.forward(
            request: request, context: context, parts: parts, clusterID: clusterID, user: user, pool: pool)
    }
}

/// The LB's own answers, verbatim from the reference (§5): Grafana shows them to users.
enum LBResponse {

    static var clusterHeader: HTTPField.Name { HTTPField.Name("X-Ceems-Cluster-Id")! }
    static var userHeader: HTTPField.Name { HTTPField.Name("X-Grafana-User")! }

    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }

    static func json(_ status: HTTPResponse.Status, errorType: String, error: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let body = "{\"status\":\"error\",\"data\":null,\"errorType\":\"\(errorType)\",\"error\":\"\(error)\"}\n"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static var badCluster: Response {
        json(
            .badRequest, errorType: "bad_request",
            error: "invalid cluster ID. Set cluster ID using X-Ceems-Cluster-Id header in Prometheus datasource.")
    }

    static var noUser: Response {
        json(
            .unauthorized, errorType: "unauthorized",
            error:
                "no user header found. Make sure to set send_user_header = true in [dataproxy] section of Grafana configuration file."
        )
    }

    static var forbiddenResource: Response {
        json(.forbidden, errorType: "forbidden", error: "user do not have permissions to this resource")
    }

    static var forbiddenView: Response {
        json(.forbidden, errorType: "forbidden", error: "user do not have permissions to view unit metrics")
    }

    static var unavailable: Response { text(.serviceUnavailable, "Service not available") }
}
