import CEEMSCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore

/// Applies the web config to every request: rate limit (429), basic auth (401 with `WWW-Authenticate: Basic`)
/// and the configured security headers, in exporter-toolkit's order.
public struct WebConfigMiddleware<Context: RequestContext>: RouterMiddleware {
    let store: WebConfigStore
    let verifier: BasicAuthVerifier

    public init(store: WebConfigStore, verifier: BasicAuthVerifier = BasicAuthVerifier()) {
        self.store = store
        self.verifier = verifier
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let config: WebConfig
        switch store.current() {
        case .invalid:
            return Self.plainError(.internalServerError)
        case .valid(let loaded, let limiter):
            config = loaded
            if let limiter, !limiter.allow() {
                return Self.plainError(.tooManyRequests)
            }
        }
        if !config.basicAuthUsers.isEmpty {
            guard let (user, password) = Self.basicCredentials(request.headers[.authorization]),
                verifier.verify(user: user, password: password, users: config.basicAuthUsers)
            else {
                var response = Self.plainError(.unauthorized)
                response.headers[.wwwAuthenticate] = "Basic"
                Self.addSecurityHeaders(config, to: &response)
                return response
            }
        }
        var response = try await next(request, context)
        Self.addSecurityHeaders(config, to: &response)
        return response
    }

    static func addSecurityHeaders(_ config: WebConfig, to response: inout Response) {
        for (name, value) in config.httpServerConfig.headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
    }

    /// A `text/plain` error like Go's `http.Error`: the status text and a newline.
    public static func plainError(_ status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(
            status: status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: (status.reasonPhrase) + "\n")))
    }

    /// Decodes `Basic base64(user:password)`.
    static func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Base64.decode(String(parts[1]).trimmingSpaces())
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }
}
