import CEEMSCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// Serves one responder on every `--web.listen-address`, over TLS when the web config asks for it.
///
/// Each address is a Hummingbird application of its own (Hummingbird binds one address per application); they
/// share the responder and stop together on graceful shutdown.
public struct WebServer<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    public let responder: Responder
    public let addresses: [ListenAddress]
    public let tls: TLSChannelConfiguration?
    public let logger: Logger
    let onListening: @Sendable (ListenAddress, Int) async -> Void

    /// - Parameter onListening: called with each address and the port actually bound (tests bind port 0).
    public init(
        responder: Responder,
        addresses: [ListenAddress],
        tls: TLSChannelConfiguration?,
        logger: Logger,
        onListening: @escaping @Sendable (ListenAddress, Int) async -> Void = { _, _ in }
    ) {
        self.responder = responder
        self.addresses = addresses
        self.tls = tls
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        // Go's http.Server with ReadTimeout 10 s closes idle keep-alive connections after 10 s as well.
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(10)))
        let server: HTTPServerBuilder
        if let tls {
            server = try .tls(http1, configuration: tls)
        } else {
            server = http1
        }
        try await withThrowingDiscardingTaskGroup { group in
            for address in addresses {
                let logger = self.logger
                let onListening = self.onListening
                let tlsEnabled = self.tls != nil
                let application = Application(
                    responder: responder,
                    server: server,
                    configuration: ApplicationConfiguration(address: .hostname(address.bindHost, port: address.port)),
                    onServerRunning: { channel in
                        let port = channel.localAddress?.port ?? address.port
                        logger.info(
                            "Listening on",
                            metadata: [
                                "address": "\(address)", "port": "\(port)", "http2": "false",
                                "tls": "\(tlsEnabled)",
                            ])
                        await onListening(address, port)
                    },
                    logger: logger
                )
                group.addTask {
                    try await application.run()
                }
            }
        }
    }
}
