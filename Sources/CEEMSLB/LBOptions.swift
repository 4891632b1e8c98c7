import ArgumentParser
import CEEMSCore
import CEEMSLinux
import CEEMSWeb
import Foundation

/// The command line of `ceems_lb` (§2), kingpin style.
public struct LBOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("config.file"), help: "Configuration file path (env CEEMS_LB_CONFIG_FILE).")
    public var configFile: String?

    @Flag(
        name: .customLong("config.file.expand-env-vars"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Any environment variables that are referenced in config file will be expanded.")
    public var expandEnvironment = false

    @Option(
        name: .customLong("web.listen-address"),
        help: "Addresses on which to expose the load balancers: the first serves the first backend type of the config (TSDB before Pyroscope). Repeatable (default :9030, :9040).")
    public var listenAddresses: [String] = []

    @Option(
        name: .customLong("web.config.file"),
        help: "Path to configuration file that can enable TLS or authentication (env CEEMS_LB_WEB_CONFIG_FILE).")
    public var webConfigFile: String?

    @Flag(
        name: .customLong("web.systemd-socket"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Use systemd socket activation listeners instead of port listeners (Linux only).")
    public var systemdSocket = false

    @Option(name: .customLong("runtime.gomaxprocs"), help: "The target number of CPUs (env GOMAXPROCS).")
    public var maxProcs: Int?

    @Option(name: .customLong("security.run-as-user"), help: "User to run as when started as root.")
    public var runAsUser: String?

    @OptionGroup public var log: LogOptions

    // MARK: hidden
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

    /// The LB configuration from the flags and the config file.
    public func configuration() throws -> LBConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let file = configFile ?? environment["CEEMS_LB_CONFIG_FILE"] ?? ""
        let config = try LBConfig.load(file: file, expandEnvironment: expandEnvironment)
        var addresses: [ListenAddress] = []
        for text in listenAddresses { addresses.append(try ListenAddress(parsing: text)) }
        return LBConfiguration(
            config: config, listenAddresses: addresses,
            webConfigFile: webConfigFile ?? environment["CEEMS_LB_WEB_CONFIG_FILE"])
    }
}

extension LBConfiguration {
    /// How the LB gives up root (lb.md §8): to `--security.run-as-user` (`nobody` by default), with no capability;
    /// the API server's data directory (read; SQLite's WAL index read-write) and the web config granted by ACLs,
    /// removed at exit.
    public func privilegeDrop(_ flags: PrivilegeDrop) -> PrivilegeDrop {
        var drop = flags
        if !config.dataPath.isEmpty, SystemFile.isDirectory(config.dataPath) {
            drop.grants.append(.init(config.dataPath, .directory(writable: false)))
        }
        if let webConfigFile, !webConfigFile.isEmpty { drop.grants.append(.init(webConfigFile, .read)) }
        return drop
    }
}
