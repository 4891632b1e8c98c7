import CEEMSWeb
import Hummingbird
import Logging

/// Runs `router` on a loopback port for `body`: fake Keystone/Nova, Kubernetes API, Grafana, backends.
public func withFakeServer<Context: RequestContext, Result: Sendable>(
    _ router: Router<Context>, _ body: @Sendable (Int) async throws -> Result
) async throws -> Result where Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder = router.buildResponder()
    return try await withRunningService(
        { ports in
            try await WebServer(
                responder: responder, addresses: [ListenAddress(host: "127.0.0.1", port: 0)], tls: nil,
                logger: Logger(label: "fake-server") { _ in SwiftLogNoOpLogHandler() },
                onListening: { _, port in ports.yield(port) }
            ).run()
        }, body)
}
