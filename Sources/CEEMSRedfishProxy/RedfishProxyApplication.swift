import ArgumentParser
import CEEMSCore
import CEEMSWeb
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The command line of redfish-proxy.md §2.
public struct RedfishProxyOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("config.file"), help: "Configuration file path (env REDFISH_PROXY_CONFIG_FILE).")
    public var configFile: String?

    @Flag(
        name: .customLong("config.file.expand-env-vars"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Any environment variables that are referenced in config file will be expanded.")
    public var expandEnvironment = false

    @Option(name: .customLong("web.listen-address"), help: "Addresses on which to expose the proxy (repeatable; default :5000).")
    public var listenAddresses: [String] = []

    @Option(
        name: .customLong("web.config.file"),
        help: "Path to configuration file that can enable TLS or authentication (env REDFISH_PROXY_WEB_CONFIG_FILE).")
    public var webConfigFile: String?

    @Flag(name: .customLong("web.debug-server"), inversion: .prefixedNo, exclusivity: .chooseLast, help: "Accepted for compatibility (no pprof server).")
    public var debugServer = false

    @Flag(
        name: .customLong("web.systemd-socket"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Use systemd socket activation listeners instead of port listeners (Linux only).")
    public var systemdSocket = false

    @Option(name: .customLong("runtime.gomaxprocs"), help: "The target number of CPUs (env GOMAXPROCS).")
    public var maxProcs: Int?

    @OptionGroup public var log: LogOptions

    public var environment: [String: String] { ProcessInfo.processInfo.environment }
    public var resolvedConfigFile: String { configFile ?? environment["REDFISH_PROXY_CONFIG_FILE"] ?? "" }
    public var resolvedWebConfigFile: String? { webConfigFile ?? environment["REDFISH_PROXY_WEB_CONFIG_FILE"] }

    public func addresses() throws -> [ListenAddress] {
        try (listenAddresses.isEmpty ? [":5000"] : listenAddresses).map { try ListenAddress(parsing: $0) }
    }
}

/// The running proxy: its server and the BMC client it closes when it stops.
public struct RedfishProxyApplication: Service {
    public let server: WebServer<RouterResponder<PeerAddressRequestContext>>
    public let proxy: RedfishProxy

    public func run() async throws {
        do {
            try await server.run()
        } catch {
            await proxy.shutdown()
            throw error
        }
        await proxy.shutdown()
    }
}

public func buildRedfishProxyApplication(
    config: RedfishProxyConfig, addresses: [ListenAddress], webConfigFile: String?, logger: Logger,
    onListening: @escaping @Sendable (ListenAddress, Int) async -> Void = { _, _ in }
) throws -> RedfishProxyApplication {
    if config.deprecatedSection {
        logger.warning("Config key redfish_config is deprecated; use redfish_proxy")
    }
    let (store, tls) = try TLSSetup.load(webConfigFile: webConfigFile, logger: logger)
    let proxy = try RedfishProxy(config: config, logger: logger)
    let router = Router(context: PeerAddressRequestContext.self)
    router.middlewares.add(WebConfigMiddleware(store: store))
    router.middlewares.add(RedfishProxyHandler<PeerAddressRequestContext>(proxy: proxy))
    let server = WebServer(
        responder: router.buildResponder(), addresses: addresses, tls: tls, logger: logger, onListening: onListening)
    return RedfishProxyApplication(server: server, proxy: proxy)
}
