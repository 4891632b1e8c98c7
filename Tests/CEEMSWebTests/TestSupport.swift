import AsyncHTTPClient
import CEEMSTestSupport
import CEEMSWeb
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Paths of the test TLS material next to this file.
enum TestCertificates {
    static let directory: String = {
        let path = #filePath
        return String(path[..<path.lastIndex(of: "/")!]) + "/Fixtures"
    }()
    static var caCertificate: String { directory + "/ca.crt" }
    static var serverCertificate: String { directory + "/server.crt" }
    static var serverKey: String { directory + "/server.key" }
    static var clientCertificate: String { directory + "/client.crt" }
    static var clientKey: String { directory + "/client.key" }
}

/// Runs a `WebServer` on a loopback port for the duration of `body`.
/// Routes are added after the web-config middleware (Hummingbird applies middleware to later routes only).
func withWebServer<Result: Sendable>(
    webConfig: WebConfig = WebConfig(), tlsFile: String? = nil,
    routes: (Router<BasicRequestContext>) -> Void = { $0.get("/hello") { _, _ in "hello" } },
    _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let router = Router(context: BasicRequestContext.self)
    let store: WebConfigStore
    if let tlsFile {
        store = try WebConfigStore(file: tlsFile, logger: quietLogger)
    } else {
        store = WebConfigStore(config: webConfig, logger: quietLogger)
    }
    router.middlewares.add(WebConfigMiddleware(store: store))
    routes(router)
    let tls = try TLSSetup.channelConfiguration(store: store, logger: quietLogger)
    let responder = router.buildResponder()
    return try await withRunningService(
        { ports in
            try await WebServer(
                responder: responder, addresses: [ListenAddress(host: "127.0.0.1", port: 0)], tls: tls,
                logger: quietLogger, onListening: { _, port in ports.yield(port) }
            ).run()
        }, body)
}

/// Writes a temporary file and returns its path.
func temporaryFile(_ content: String, name: String = "web-config.yml") throws -> String {
    let tree = try FixtureTree()
    try tree.file(name, content)
    return tree.path(name)
}

/// Replaces the content of a file.
func overwrite(_ path: String, _ content: String) throws {
    let file = fopen(path, "w")
    defer { fclose(file) }
    guard file != nil else { throw TestFailure("cannot write \(path)") }
    fputs(content, file)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension HTTPClientResponse {
    func text() async throws -> String {
        String(buffer: try await body.collect(upTo: 1 << 20))
    }
}
