import AsyncHTTPClient
import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Forwards a checked request to a backend of its cluster and streams the answer back (§6): client credentials
/// and hop-by-hop headers never cross, the backend's own credentials are added, a connection-level failure
/// marks the backend dead and the request is replayed once on another one.
struct ReverseProxy: Sendable {
    let logger: Logger
    /// Deadline of one upstream request, answer included.
    var timeout: Duration = .seconds(300)
    /// Largest upstream body filtered in memory; larger ones are passed through unfiltered.
    var filterLimit = 512 << 20

    /// Request headers never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), the client's credentials, identities
    /// only the LB may assert, and what the client library sets itself.
    static let droppedRequestHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "authorization", "x-ceems-admin-user", "x-ceems-logged-user", "content-length",
        "user-agent", "x-forwarded-for",
    ]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "content-length",
    ]

    func forward<Context: RequestContext & RemoteAddressRequestContext>(
        request: Request, context: Context, parts: RequestInspector.Parts, clusterID: String, user: String?,
        pool: BackendPool
    ) async -> Response {
        var failed: Backend?
        for _ in 0..<2 {
            guard let backend = pool.pick(clusterID: clusterID, excluding: failed) else { break }
            let filtering = !backend.filterLabels.isEmpty && ResponseFilter.applies(path: parts.path)
            let upstreamRequest: HTTPClientRequest
            do {
                upstreamRequest = try makeRequest(
                    request: request, context: context, parts: parts, backend: backend, user: user,
                    filtering: filtering)
            } catch {
                logger.error("Cannot build the backend request", metadata: ["backend": "\(backend.url)", "err": "\(error)"])
                return LBResponse.unavailable
            }
            let lease = backend.lease()
            do {
                let nanoseconds = Int64(timeout.components.seconds) * 1_000_000_000
                let response = try await backend.client.client.execute(upstreamRequest, timeout: .nanoseconds(nanoseconds))
                return await makeResponse(response, lease: lease, filter: filtering ? backend.filterLabels : nil, path: parts.path)
            } catch {
                lease.release()
                if Task.isCancelled || error is CancellationError || (error as? AsyncHTTPClient.HTTPClientError) == .cancelled {
                    // The client went away: not the backend's fault, and nobody to answer.
                    return LBResponse.unavailable
                }
                backend.failures.add(1, ordering: .relaxed)
                backend.setAlive(false)
                logger.warning(
                    "Backend request failed; backend marked down",
                    metadata: ["backend": "\(backend.url)", "cluster_id": "\(clusterID)", "err": "\(error)"])
                failed = backend
            }
        }
        return LBResponse.unavailable
    }

    func makeRequest<Context: RequestContext & RemoteAddressRequestContext>(
        request: Request, context: Context, parts: RequestInspector.Parts, backend: Backend, user: String?,
        filtering: Bool
    ) throws -> HTTPClientRequest {
        var upstream = HTTPClientRequest(url: backend.upstreamURL(path: parts.path, rawQuery: parts.rawQuery))
        upstream.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        var connectionTokens = Set<String>()
        for value in request.headers[values: .connection] {
            for token in value.split(separator: ",") { connectionTokens.insert(String(token).trimmingSpaces().lowercased()) }
        }
        var forwardedFor: String?
        for field in request.headers {
            let name = field.name.canonicalName
            if name == "x-forwarded-for" {
                forwardedFor = forwardedFor.map { $0 + ", " + field.value } ?? field.value
                continue
            }
            if Self.droppedRequestHeaders.contains(name) || connectionTokens.contains(name) { continue }
            if filtering && name == "accept-encoding" { continue }
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        if let user { upstream.headers.replaceOrAdd(name: "X-Ceems-Logged-User", value: user) }
        if let address = context.remoteAddress?.ipAddress {
            upstream.headers.add(name: "X-Forwarded-For", value: forwardedFor.map { $0 + ", " + address } ?? address)
        } else if let forwardedFor {
            upstream.headers.add(name: "X-Forwarded-For", value: forwardedFor)
        }
        upstream.headers.replaceOrAdd(name: "User-Agent", value: "ceems_lb/\(backend.host)")
        if let authorization = try backend.client.config.authorizationHeader() {
            upstream.headers.replaceOrAdd(name: "Authorization", value: authorization)
        }
        for (name, value) in try backend.client.config.extraHeaders() { upstream.headers.add(name: name, value: value) }
        if !parts.body.isEmpty {
            upstream.body = .bytes(ByteBuffer(bytes: parts.body))
        }
        return upstream
    }

    func makeResponse(_ upstream: HTTPClientResponse, lease: Backend.Lease, filter labels: Set<String>?, path: String)
        async -> Response
    {
        var headers = HTTPFields()
        var connectionTokens = Set<String>()
        for value in upstream.headers["connection"] {
            for token in value.split(separator: ",") { connectionTokens.insert(String(token).trimmingSpaces().lowercased()) }
        }
        for header in upstream.headers {
            let name = header.name.lowercased()
            guard !Self.droppedResponseHeaders.contains(name), !connectionTokens.contains(name),
                let field = HTTPField.Name(header.name)
            else { continue }
            headers.append(HTTPField(name: field, value: header.value))
        }
        let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
        let contentLength = upstream.headers.first(name: "content-length").flatMap { Int($0) }
        if let labels {
            defer { lease.release() }
            let original: [UInt8]
            do {
                original = Array(buffer: try await upstream.body.collect(upTo: filterLimit))
            } catch {
                logger.warning("Backend response not filtered", metadata: ["err": "\(error)"])
                return LBResponse.unavailable
            }
            var plain = original
            let encoding = upstream.headers.first(name: "content-encoding")?.lowercased()
            if encoding == "gzip" {
                guard let decoded = try? Gzip.decompress(original, limit: filterLimit) else {
                    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: original)))
                }
                plain = decoded
            }
            guard encoding == nil || encoding == "gzip" || encoding == "identity",
                let filtered = ResponseFilter.filter(plain, path: path, labels: labels)
            else {
                return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: original)))
            }
            headers[.contentEncoding] = nil
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: filtered)))
        }
        let body = upstream.body
        return Response(
            status: status, headers: headers,
            body: ResponseBody(contentLength: contentLength) { writer in
                defer { lease.release() }
                // Backends send many small chunks; passing each on costs a round of task switches, so they are
                // gathered into writes of up to 256 KB (a 500 KB query result then costs two writes, not 60).
                var pending: ByteBuffer?
                for try await chunk in body {
                    if var gathered = pending {
                        pending = nil  // keeps `gathered` uniquely referenced: appended in place, not copied
                        var chunk = chunk
                        gathered.writeBuffer(&chunk)
                        pending = gathered
                    } else {
                        pending = chunk
                    }
                    if let full = pending, full.readableBytes >= 256 << 10 {
                        try await writer.write(full)
                        pending = nil
                    }
                }
                if let pending { try await writer.write(pending) }
                try await writer.finish(nil)
            })
    }
}
