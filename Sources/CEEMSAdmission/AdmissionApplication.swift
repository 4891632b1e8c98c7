import ArgumentParser
import CEEMSCore
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP side of the controller (k8s-admission-controller.md §3): `/health` and the two hooks; a middleware
/// without routes, so it answers every request (405 for another method on a known path, 404 elsewhere).
public struct AdmissionHandler<Context: RequestContext>: RouterMiddleware {
    let logger: Logger
    static var bodyLimit: Int { 16 << 20 }

    public init(logger: Logger) { self.logger = logger }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let target = request.head.path ?? "/"
        let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
        switch path {
        case "/health":
            guard request.method == .get else { return Self.text(.methodNotAllowed, "Method Not Allowed\n") }
            return Self.text(.ok, "CEEMS k8s Admission Controller is healthy")
        case "/ceems-admission-controller/validate", "/ceems-admission-controller/mutate":
            guard request.method == .post else { return Self.text(.methodNotAllowed, "Method Not Allowed\n") }
            return await review(request, hook: path.hasSuffix("mutate") ? .mutate : .validate)
        default:
            return Self.text(.notFound, "404 page not found\n")
        }
    }

    func review(_ request: Request, hook: AdmissionHook) async -> Response {
        guard request.headers[.contentType] == "application/json" else {
            return Self.text(.badRequest, "only content type 'application/json' is supported\n")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.bodyLimit)
        } catch {
            return Self.text(.badRequest, "could not read request body: \(error)\n")
        }
        let review: AdmissionReview.Request
        do {
            review = try AdmissionReview.parse(Array(buffer: body))
        } catch {
            return Self.text(.badRequest, error.body + "\n")
        }
        let (decision, needed) = hook.decide(review)
        let metadata: Logger.Metadata = [
            "hook": "\(hook.rawValue)", "uid": "\(review.uid)", "operation": "\(review.operation)",
            "user": "\(review.username)",
        ]
        switch hook {
        case .mutate where !needed && decision.allowed:
            logger.info("Username annotation already exists", metadata: metadata)
        case .validate where needed:
            logger.warning("Object lacks the creator annotations; the mutation hook should have set them", metadata: metadata)
        default:
            logger.debug("Admission review", metadata: metadata)
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: .ok, headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: AdmissionReview.response(to: review, decision))))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The command line (§2).
public struct AdmissionOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("web.listen-address"), help: "Addresses on which to expose the webhooks (repeatable; default :9000).")
    public var listenAddresses: [String] = []

    @Option(
        name: .customLong("web.config.file"),
        help: "Path to configuration file that can enable TLS (required by the kube-apiserver) or authentication.")
    public var webConfigFile: String?

    @Flag(name: .customLong("web.debug-server"), inversion: .prefixedNo, exclusivity: .chooseLast, help: "Accepted for compatibility (no pprof server).")
    public var debugServer = false

    @Option(name: .customLong("runtime.gomaxprocs"), help: "The target number of CPUs (env GOMAXPROCS).")
    public var maxProcs: Int?

    @OptionGroup public var log: LogOptions

    public func listen() throws -> [ListenAddress] {
        let texts = listenAddresses.isEmpty ? [":9000"] : listenAddresses
        return try texts.map { try ListenAddress(parsing: $0) }
    }
}

/// Builds the controller's server.
public func buildAdmissionApplication(
    addresses: [ListenAddress], webConfigFile: String?, logger: Logger,
    onListening: @escaping @Sendable (ListenAddress, Int) async -> Void = { _, _ in }
) throws -> WebServer<RouterResponder<BasicRequestContext>> {
    let (store, tls) = try TLSSetup.load(webConfigFile: webConfigFile, logger: logger)
    let router = Router(context: BasicRequestContext.self)
    router.middlewares.add(WebConfigMiddleware(store: store))
    router.middlewares.add(AdmissionHandler<BasicRequestContext>(logger: logger))
    return WebServer(
        responder: router.buildResponder(), addresses: addresses, tls: tls, logger: logger, onListening: onListening)
}
