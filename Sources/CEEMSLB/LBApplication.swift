import CEEMSCore
import CEEMSWeb
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle

/// Errors that stop the LB at start-up.
public enum LBError: Error, CustomStringConvertible {
    case insufficientAddresses(expected: Int, got: Int)
    case unknownCluster(id: String, known: [String])
    case webConfig(any Error)
    case backend(url: String, underlying: any Error)
    case api(any Error)

    public var description: String {
        switch self {
        case .insufficientAddresses(let expected, let got):
            "insufficient --web.listen-address. Expected \(expected) got \(got)"
        case .unknownCluster(let id, let known):
            "unknown cluster ID: \(id). Cluster IDs in CEEMS DB are \(known.joined(separator: ","))"
        case .webConfig(let error): "web config: \(error)"
        case .backend(let url, let error): "backend \(url): \(error)"
        case .api(let error): "ceems_api_server client: \(error)"
        }
    }
}

/// The running LB: one server per backend kind, the health checker, and the access-control sources.
public struct LBApplication: Service, CustomStringConvertible {
    public let servers: [WebServer<RouterResponder<PeerAddressRequestContext>>]
    public let healthChecker: HealthChecker
    public let pools: [BackendPool]
    public let access: AccessControl?
    public let metrics: LBMetrics
    let logger: Logger

    public var description: String { "ceems_lb" }

    public func run() async throws {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for server in servers { group.addTask { try await server.run() } }
                group.addTask { try await healthChecker.run() }
                try await group.waitForAll()
            }
        } catch {
            await close()
            throw error
        }
        await close()
        logger.info("Stopped ceems_lb")
    }

    /// Releases the database and HTTP clients (done by `run()` when it ends; for an application never run).
    public func close() async {
        await access?.close()
        for backend in pools.flatMap(\.all) { await backend.client.shutdown() }
    }
}

/// Everything `buildLBApplication` needs.
public struct LBConfiguration: Sendable {
    public var config: LBConfig
    /// `--web.listen-address` values; empty means the defaults (`:9030`, `:9040`).
    public var listenAddresses: [ListenAddress]
    public var webConfigFile: String?
    public var healthCheckInterval: Duration = .seconds(20)
    public var databaseRecheckInterval: Duration = .seconds(10)

    public init(config: LBConfig, listenAddresses: [ListenAddress], webConfigFile: String?) {
        self.config = config
        self.listenAddresses = listenAddresses
        self.webConfigFile = webConfigFile
    }
}

/// Builds the LB: backends per kind and cluster, access control (database, else API server), the start-up
/// cluster check (§7), and one listener per kind in config order (§2).
public func buildLBApplication(
    configuration: LBConfiguration, logger: Logger,
    onListening: @escaping @Sendable (BackendKind, Int) async -> Void = { _, _ in }
) async throws -> LBApplication {
    let config = configuration.config
    try config.validate()
    let kinds = config.kinds
    var addresses = configuration.listenAddresses
    if addresses.isEmpty {
        addresses = [ListenAddress(host: "", port: 9030), ListenAddress(host: "", port: 9040)]
    }
    guard addresses.count >= kinds.count else {
        throw LBError.insufficientAddresses(expected: kinds.count, got: addresses.count)
    }
    let store: WebConfigStore
    let tls: TLSChannelConfiguration?
    do {
        (store, tls) = try TLSSetup.load(webConfigFile: configuration.webConfigFile, logger: logger)
    } catch {
        throw LBError.webConfig(error)
    }

    var access: AccessControl?
    if config.hasAccessControl {
        var api: APIOwnershipVerifier?
        if !config.apiURL.isEmpty {
            do {
                api = try APIOwnershipVerifier(url: config.apiURL, client: config.apiClient, logger: logger)
            } catch {
                throw LBError.api(error)
            }
        }
        let control = AccessControl(
            dataPath: config.dataPath, api: api, logger: logger, recheckInterval: configuration.databaseRecheckInterval)
        do {
            try await control.validate(backendClusterIDs: config.backends.map(\.id))
        } catch {
            await control.close()
            throw error
        }
        access = control
    } else {
        logger.warning("No CEEMS database or API server configured: access control is disabled")
    }

    var pools: [BackendPool] = []
    for kind in kinds {
        var backends: [Backend] = []
        for group in config.backends {
            for server in group.servers(kind) {
                do {
                    backends.append(try Backend(kind: kind, clusterID: group.id, server: server))
                } catch {
                    for backend in pools.flatMap(\.all) + backends { await backend.client.shutdown() }
                    await access?.close()
                    throw LBError.backend(url: server.url, underlying: error)
                }
                if kind == .pyroscope, !server.filterLabels.isEmpty {
                    logger.warning(
                        "filter_labels is not supported for Pyroscope backends and is ignored",
                        metadata: ["backend": "\(server.url)"])
                }
            }
        }
        pools.append(BackendPool(kind: kind, strategy: config.strategy, backends: backends))
    }
    let allBackends = pools.flatMap(\.all)
    let metrics = LBMetrics()
    let proxy = ReverseProxy(logger: logger)
    var servers: [WebServer<RouterResponder<PeerAddressRequestContext>>] = []
    for (index, pool) in pools.enumerated() {
        let router = Router(context: PeerAddressRequestContext.self)
        router.middlewares.add(WebConfigMiddleware(store: store))
        router.middlewares.add(
            LBHandler<PeerAddressRequestContext>(
                pool: pool, access: access, proxy: proxy, metrics: metrics, allBackends: allBackends, logger: logger))
        let kind = pool.kind
        servers.append(
            WebServer(
                responder: router.buildResponder(), addresses: [addresses[index]], tls: tls, logger: logger,
                onListening: { _, port in await onListening(kind, port) }))
        logger.info(
            "Load balancer", metadata: ["backend_type": "\(kind.rawValue)", "strategy": "\(config.strategy.rawValue)"])
    }
    let checker = HealthChecker(backends: allBackends, interval: configuration.healthCheckInterval, logger: logger)
    return LBApplication(
        servers: servers, healthChecker: checker, pools: pools, access: access, metrics: metrics, logger: logger)
}
