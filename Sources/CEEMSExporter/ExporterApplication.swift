import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import Hummingbird
import HummingbirdTLS
import Logging
import ServiceLifecycle

/// Errors that stop the exporter at start-up.
public enum ExporterError: Error, CustomStringConvertible {
    case collector(name: String, underlying: any Error)
    case webConfig(any Error)

    public var description: String {
        switch self {
        case .collector(let name, let error): "collector \(name): \(error)"
        case .webConfig(let error): "web config: \(error)"
        }
    }
}

/// The running exporter: its web server plus the collectors' resources to release at shutdown.
public struct ExporterApplication: Service {
    public let server: WebServer<RouterResponder<BasicRequestContext>>
    let shutdownHooks: [@Sendable () async -> Void]
    let startupMemory: StartupMemory
    let logger: Logger

    public func run() async throws {
        let fallback = startupMemory.scheduleFallback()
        defer { fallback.cancel() }
        do {
            try await server.run()
        } catch {
            await releaseResources()
            throw error
        }
        await releaseResources()
    }

    private func releaseResources() async {
        for hook in shutdownHooks { await hook() }
        logger.info("Stopped ceems_exporter")
    }
}

/// Builds the exporter from its configuration: constructs every enabled collector (a configuration error is
/// fatal, an absent source is not), the routes and the web server.
///
/// - Parameter onListening: called with each listen address and its bound port (tests listen on port 0).
public func buildExporterApplication(
    configuration: ExporterConfiguration,
    logger: Logger,
    onListening: @escaping @Sendable (ListenAddress, Int) async -> Void = { _, _ in }
) async throws -> ExporterApplication {
    let store: WebConfigStore
    let tls: TLSChannelConfiguration?
    do {
        (store, tls) = try TLSSetup.load(webConfigFile: configuration.webConfigFile, logger: logger)
    } catch {
        throw ExporterError.webConfig(error)
    }
    let (collectors, hooks, unitCollectors) = try await makeCollectors(configuration: configuration, logger: logger)
    logger.info(
        "Enabled collectors", metadata: ["collectors": "\(collectors.map(\.name).sorted().joined(separator: ","))"])
    let startupMemory = StartupMemory(enabled: configuration.releaseStartupPages, logger: logger)
    let endpoint = MetricsEndpoint(
        collectors: CollectorSet(collectors: collectors, logger: logger),
        exporterMetrics: !configuration.disableExporterMetrics,
        maxRequests: configuration.maxRequests,
        defaultTimeout: configuration.defaultScrapeTimeout,
        afterFirstScrape: { startupMemory.releaseOnce() })

    let router = Router(context: BasicRequestContext.self)
    router.middlewares.add(WebConfigMiddleware(store: store))
    router.get(RouterPath(configuration.telemetryPath)) { request, _ in
        await endpoint.respond(to: request)
    }
    let targetCollectors = unitCollectors.filter { $0.settings.manager == .slurm || $0.settings.manager == .k8s }
    if configuration.discoverer.alloyTargets && !targetCollectors.isEmpty {
        let targets = AlloyTargetsEndpoint(
            collectors: targetCollectors, environmentPrefixes: configuration.discoverer.environmentVariables,
            selfProfiler: configuration.discoverer.selfProfiler, maxRequests: configuration.maxRequests,
            logger: logger)
        router.get(RouterPath(configuration.targetsPath)) { _, _ in
            await targets.respond()
        }
    }
    router.get("/health") { _, _ in
        WebResponses.text(.ok, "CEEMS Exporter is healthy")
    }
    if configuration.telemetryPath != "/" {
        let page = LandingPage(
            name: "ceems_exporter",
            description:
                "Prometheus Exporter and Pyroscope client to export compute (job, VM, pod) resource usage and ebpf based profiling metrics.",
            version: BuildInfo.version,
            links: [
                .init(address: String(configuration.telemetryPath.dropFirst()), text: "Metrics"),
                .init(address: "alloy-targets", text: "Grafana Alloy Targets"),
            ])
        let html = page.render()
        router.get("/") { _, _ in
            WebResponses.text(.ok, html, contentType: "text/html; charset=UTF-8")
        }
    }
    let server = WebServer(
        responder: router.buildResponder(), addresses: configuration.listenAddresses, tls: tls, logger: logger,
        onListening: onListening)
    return ExporterApplication(server: server, shutdownHooks: hooks, startupMemory: startupMemory, logger: logger)
}

/// Constructs the enabled collectors in name order and primes the slow sources.
func makeCollectors(
    configuration: ExporterConfiguration, logger: Logger
) async throws -> ([any Collector], [@Sendable () async -> Void], [ComputeUnitCollector]) {
    var collectors: [any Collector] = []
    var hooks: [@Sendable () async -> Void] = []
    var primers: [@Sendable () async -> Void] = []
    let fs = configuration.fs
    let hostname = configuration.hostname
    for name in configuration.enabledCollectors.sorted() where name.resourceManager == nil {
        do {
            switch name {
            case .cpu:
                collectors.append(
                    CPUCollector(fs: fs, hostname: hostname, assumeFourPhysicalCores: configuration.emptyHostnameLabel))
            case .meminfo:
                collectors.append(MeminfoCollector(fs: fs, hostname: hostname, allStats: configuration.meminfoAllStats))
            case .rapl:
                collectors.append(RAPLCollector(fs: fs, hostname: hostname, zoneLabel: configuration.raplZoneLabel))
            case .hwmon:
                collectors.append(HwmonCollector(fs: fs, hostname: hostname))
            case .netdev:
                collectors.append(
                    try NetdevCollector(
                        fs: fs, hostname: hostname, include: configuration.netdev.deviceInclude,
                        exclude: configuration.netdev.deviceExclude))
            case .infiniband:
                collectors.append(InfinibandCollector(fs: fs))
            case .crayPMCounters:
                collectors.append(CrayPMCountersCollector(fs: fs, hostname: hostname))
            case .ipmiDCMI:
                let collector = IPMIDCMICollector(options: configuration.ipmi, hostname: hostname, logger: logger)
                collectors.append(collector)
                primers.append { await collector.prime() }
            case .redfish:
                let collector = try await RedfishCollector(
                    options: configuration.redfish, hostname: hostname, logger: logger)
                collectors.append(collector)
                primers.append { await collector.prime(logger: logger) }
                hooks.append { await collector.shutdown() }
            case .emissions:
                let collector = try EmissionsCollector(options: configuration.emissions, logger: logger)
                collectors.append(collector)
                hooks.append { await collector.shutdown() }
            case .slurm, .libvirt, .k8s:
                continue
            }
        } catch {
            logger.error(
                "Failed to create a new CEEMS collector", metadata: ["name": "\(name.rawValue)", "err": "\(error)"])
            for hook in hooks { await hook() }
            throw ExporterError.collector(name: name.rawValue, underlying: error)
        }
    }
    let managers = configuration.enabledCollectors.sorted().compactMap(\.resourceManager)
    var unitCollectors: [ComputeUnitCollector] = []
    do {
        unitCollectors = try await ComputeUnitCollectors.make(
            configuration: configuration, managers: managers, logger: logger)
        for collector in unitCollectors {
            await collector.start()
            collectors.append(collector)
            hooks.append { await collector.shutdown() }
        }
    } catch {
        logger.error("Failed to create a new CEEMS collector", metadata: ["name": "\(managers)", "err": "\(error)"])
        for hook in hooks { await hook() }
        throw ExporterError.collector(name: managers.map(\.rawValue).joined(separator: ","), underlying: error)
    }
    // First readings of BMCs and tools, in parallel, so the first scrape has values.
    await withTaskGroup(of: Void.self) { group in
        for primer in primers { group.addTask { await primer() } }
    }
    return (collectors, hooks, unitCollectors)
}

extension ExporterApplication: CustomStringConvertible {
    public var description: String { "ceems_exporter" }
}
