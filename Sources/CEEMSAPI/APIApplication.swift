import CEEMSCore
import Foundation
import CEEMSWeb
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle

/// Errors that stop the API server at start-up.
public enum APIServerError: Error, CustomStringConvertible {
    case webConfig(any Error)
    case database(any Error)
    case cluster(id: String, underlying: any Error)
    case updater(id: String, underlying: any Error)

    public var description: String {
        switch self {
        case .webConfig(let error): "web config: \(error)"
        case .database(let error): "database: \(error)"
        case .cluster(let id, let error): "cluster \(id): \(error)"
        case .updater(let id, let error): "updater \(id): \(error)"
        }
    }
}

/// The running API server: its web server and its update loop.
public struct APIApplication: Service, CustomStringConvertible {
    public let server: WebServer<RouterResponder<APIRequestContext>>
    public let updater: UpdateService
    public let database: AppDatabase
    let logger: Logger

    public var description: String { "ceems_api_server" }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            group.addTask { try await updater.run() }
            try await group.next()
            group.cancelAll()
            try await group.waitForAll()
        }
        database.close()
        logger.info("Stopped ceems_api_server")
    }
}

/// Builds the API server: database (opened and migrated), resource managers and updaters of every cluster, the
/// update loop and the HTTP API.
public func buildAPIApplication(
    configuration: APIServerConfiguration, logger: Logger,
    onListening: @escaping @Sendable (ListenAddress, Int) async -> Void = { _, _ in }
) async throws -> APIApplication {
    let store: WebConfigStore
    let tls: TLSChannelConfiguration?
    do {
        (store, tls) = try TLSSetup.load(webConfigFile: configuration.webConfigFile, logger: logger)
    } catch {
        throw APIServerError.webConfig(error)
    }
    let config = configuration.config
    let database: AppDatabase
    do {
        database = try AppDatabase(directory: absolutePath(config.server.data.path))
    } catch {
        throw APIServerError.database(error)
    }
    logger.info("Database ready", metadata: ["path": "\(database.path)"])

    let updatersByID = Dictionary(config.updaters.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    var pipelines: [ClusterPipeline] = []
    var clusters = config.clusters
    if clusters.isEmpty { clusters = [] }  // no clusters: a no-op manager (nothing to fetch)
    for cluster in clusters {
        let manager: any ResourceManager
        do {
            manager = try await makeManager(cluster: cluster, configuration: configuration, logger: logger)
        } catch {
            throw APIServerError.cluster(id: cluster.id, underlying: error)
        }
        var updaters: [TSDBUpdater] = []
        for id in cluster.updaters {
            guard let updater = updatersByID[id] else {
                logger.error("Unknown updater ID; skipped", metadata: ["cluster": "\(cluster.id)", "updater": "\(id)"])
                continue
            }
            do {
                updaters.append(
                    try TSDBUpdater(
                        id: updater.id, url: updater.web.url, clientConfig: updater.web.client,
                        options: try TSDBUpdater.Options(extraConfig: updater.extraConfig), logger: logger))
            } catch {
                throw APIServerError.updater(id: id, underlying: error)
            }
        }
        pipelines.append(ClusterPipeline(manager: manager, updaters: updaters))
    }
    let grafanaConfig = config.server.admin.grafana
    let grafana =
        grafanaConfig.url.isEmpty || grafanaConfig.teamsIDs.isEmpty
        ? nil : try GrafanaTeams(config: grafanaConfig, logger: logger)
    var settings = UpdateService.Settings(config: config, purge: configuration.purgeOldUnits)
    settings.chunkPause = configuration.chunkPause
    let updater = try UpdateService(
        database: database, pipelines: pipelines, grafana: grafana, settings: settings, logger: logger,
        now: configuration.now)

    let router = Router(context: APIRequestContext.self)
    router.middlewares.add(WebConfigMiddleware(store: store))
    router.middlewares.add(
        try APIHandler<APIRequestContext>(
            store: APIStore(database: database), options: configuration.http, logger: logger, now: configuration.now))
    let server = WebServer(
        responder: router.buildResponder(), addresses: configuration.listenAddresses, tls: tls, logger: logger,
        onListening: onListening)
    return APIApplication(server: server, updater: updater, database: database, logger: logger)
}

func makeManager(cluster: APIServerConfig.Cluster, configuration: APIServerConfiguration, logger: Logger) async throws
    -> any ResourceManager
{
    switch cluster.manager {
    case "slurm":
        return await SlurmManager(
            cluster: cluster, logger: logger, timeout: configuration.commandTimeout, now: configuration.now)
    case "k8s":
        return try KubernetesManager(cluster: cluster, logger: logger, now: configuration.now)
    case "openstack":
        return try OpenStackManager(cluster: cluster, logger: logger, now: configuration.now)
    default:
        throw ResourceManagerError.unsupported(cluster.manager)
    }
}

func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
