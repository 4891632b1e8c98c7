import ArgumentParser
import CEEMSCore
import CEEMSLinux
import CEEMSWeb
import Foundation

/// The command line of `ceems_api_server` (§2), kingpin style.
public struct APIServerOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("config.file"), help: "Configuration file path (env CEEMS_API_SERVER_CONFIG_FILE).")
    public var configFile: String?

    @Flag(
        name: .customLong("config.file.expand-env-vars"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Any environment variables that are referenced in config file will be expanded.")
    public var expandEnvironment = false

    @Option(
        name: .customLong("web.listen-address"),
        help: "Addresses on which to expose the API and web interface. Repeatable for multiple addresses.")
    public var listenAddresses: [String] = []

    @Option(
        name: .customLong("web.config.file"),
        help: "Path to configuration file that can enable TLS or authentication (env CEEMS_API_SERVER_WEB_CONFIG_FILE).")
    public var webConfigFile: String?

    @Option(name: .customLong("web.route-prefix"), help: "Prefix for the internal routes of web endpoints.")
    public var routePrefix = "/"

    @Option(name: .customLong("web.max-requests"), help: "Maximum number of requests allowed in 1 minute period per client identified by Real IP address. Use 0 to disable.")
    public var maxRequests = 0

    @Option(name: .customLong("web.cors.origin"), help: "Regex for CORS origin. It is fully anchored.")
    public var corsOrigin = ".*"

    @Flag(
        name: .customLong("web.compression"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable gzip compression of responses.")
    public var compression = false

    @Option(name: .customLong("web.compression.level"), help: "Compression level.")
    public var compressionLevel = 5

    @Flag(
        name: .customLong("web.debug-server"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable /debug endpoints (accepted for compatibility).")
    public var debugServer = false

    @Flag(
        name: .customLong("web.systemd-socket"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Use systemd socket activation listeners instead of port listeners (Linux only).")
    public var systemdSocket = false

    @Option(name: .customLong("query.max-period"), help: "Maximum allowable query period to get units (y, w, d, h, m, s, ms). 0s means unlimited.")
    public var maxPeriod = "0s"

    @Option(name: .customLong("security.run-as-user"), help: "User to run as when started as root.")
    public var runAsUser: String?

    @Option(name: .customLong("runtime.gomaxprocs"), help: "The target number of CPUs (env GOMAXPROCS).")
    public var maxProcs: Int?

    @OptionGroup public var log: LogOptions

    // MARK: hidden
    @Option(name: .customLong("web.external-url"), help: .hidden) public var externalURL = ""
    @Option(name: .customLong("web.user-header-name"), help: .hidden) public var userHeaderNames: [String] = []
    @Option(name: .customLong("web.trusted-proxies"), help: .hidden) public var trustedProxies: [String] = []
    @Flag(
        name: .customLong("storage.data.skip.delete.old.units"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var skipDeleteOldUnits = false
    @Flag(name: .customLong("test.disable.checks"), inversion: .prefixedNo, exclusivity: .chooseLast, help: .hidden)
    public var disableChecks = false
    @Flag(
        name: .customLong("security.disable-cap-awareness"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var disableCapAwareness = false
    @Flag(
        name: .customLong("security.drop-privileges"), inversion: .prefixedNo, exclusivity: .chooseLast, help: .hidden)
    public var dropPrivileges = true

    /// The `--security.*` flags as a privilege drop to complete with the server's needs.
    public var privilegeFlags: PrivilegeDrop {
        PrivilegeDrop(user: runAsUser, enabled: dropPrivileges, capabilityAware: !disableCapAwareness)
    }

    /// The server configuration from the flags and the config file.
    public func configuration() throws -> APIServerConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = configFile ?? environment["CEEMS_API_SERVER_CONFIG_FILE"] ?? ""
        let config = try APIServerConfig.load(file: file, expandEnvironment: expandEnvironment, skipChecks: disableChecks)
        var http = APIHTTPOptions()
        http.routePrefix = routePrefix
        if !userHeaderNames.isEmpty { http.userHeaderNames = userHeaderNames }
        http.corsOrigin = corsOrigin
        http.maxRequests = maxRequests
        if !trustedProxies.isEmpty {
            http.trustedProxies = try trustedProxies.map { text in
                guard let network = IPNetwork(text) else { throw ValidationError("invalid --web.trusted-proxies \(text)") }
                return network
            }
        }
        http.compression = compression
        http.compressionLevel = compressionLevel
        do {
            http.maxQueryPeriod = try GoDuration.parse(maxPeriod)
        } catch {
            throw ValidationError("invalid --query.max-period \(maxPeriod)")
        }
        http.externalURL = externalURL
        http.timeZone = WallClock.zone(named: config.server.data.timeZone) ?? .current
        var addresses: [ListenAddress] = []
        for text in listenAddresses.isEmpty ? [":9020"] : listenAddresses {
            addresses.append(try ListenAddress(parsing: text))
        }
        return APIServerConfiguration(
            config: config, http: http, listenAddresses: addresses,
            webConfigFile: webConfigFile ?? environment["CEEMS_API_SERVER_WEB_CONFIG_FILE"],
            purgeOldUnits: !skipDeleteOldUnits)
    }
}

/// Everything `buildAPIApplication` needs.
public struct APIServerConfiguration: Sendable {
    public var config: APIServerConfig
    public var http: APIHTTPOptions
    public var listenAddresses: [ListenAddress]
    public var webConfigFile: String?
    public var purgeOldUnits: Bool
    /// Timeout of `sacct`/`sacctmgr`.
    public var commandTimeout: Duration = .seconds(300)
    /// Pause between catch-up chunks.
    public var chunkPause: Duration = .seconds(1)
    /// The clock (epoch ms); tests fix it.
    public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public init(
        config: APIServerConfig, http: APIHTTPOptions, listenAddresses: [ListenAddress], webConfigFile: String?,
        purgeOldUnits: Bool
    ) {
        self.config = config
        self.http = http
        self.listenAddresses = listenAddresses
        self.webConfigFile = webConfigFile
        self.purgeOldUnits = purgeOldUnits
    }
}

extension APIServerConfiguration {
    /// How the API server gives up root (api-server.md §11): to `--security.run-as-user` (`nobody` by default),
    /// keeping cap_setuid/cap_setgid only when a SLURM cluster needs `sacct` run as root; its data (and backup)
    /// directory and web config granted by ACLs, removed at exit.
    public func privilegeDrop(_ flags: PrivilegeDrop) -> PrivilegeDrop {
        var drop = flags
        if config.clusters.contains(where: { $0.manager == "slurm" }) { drop.capabilities = [.setuid, .setgid] }
        drop.grants.append(.init(config.server.data.path, .directory(writable: true)))
        if !config.server.data.backupPath.isEmpty {
            drop.grants.append(.init(config.server.data.backupPath, .directory(writable: true)))
        }
        if let webConfigFile, !webConfigFile.isEmpty { drop.grants.append(.init(webConfigFile, .read)) }
        return drop
    }
}
