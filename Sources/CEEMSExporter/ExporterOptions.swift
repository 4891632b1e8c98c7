import ArgumentParser
import CEEMSCore
import CEEMSLinux
import CEEMSWeb

/// The command line of `ceems_exporter`, in CEEMS' kingpin style: `--a.b=v` or `--a.b v`, booleans with
/// `--no-` forms, repeatable flags repeated, hidden test flags, and environment fallbacks.
public struct ExporterOptions: ParsableArguments, Sendable {
    public init() {}

    // MARK: web
    @Option(
        name: .customLong("web.listen-address"),
        help: "Addresses on which to expose metrics and web interface. Repeatable for multiple addresses.")
    public var listenAddresses: [String] = []

    @Option(
        name: .customLong("web.config.file"),
        help: "Path to configuration file that can enable TLS or authentication (env CEEMS_EXPORTER_WEB_CONFIG_FILE).")
    public var webConfigFile: String?

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which to expose metrics.")
    public var telemetryPath = "/metrics"

    @Flag(
        name: .customLong("web.disable-exporter-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Exclude metrics about the exporter itself (process_*, promhttp_*).")
    public var disableExporterMetrics = false

    @Option(
        name: .customLong("web.max-requests"),
        help: "Maximum number of parallel scrape requests. Use 0 to disable.")
    public var maxRequests = 40

    @Flag(
        name: .customLong("web.systemd-socket"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Use systemd socket activation listeners instead of port listeners (Linux only).")
    public var systemdSocket = false

    @Flag(
        name: .customLong("web.debug-server"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable /debug endpoints (accepted for compatibility; Go's pprof has no Swift equivalent).")
    public var debugServer = false

    @Option(
        name: .customLong("runtime.gomaxprocs"),
        help: "The target number of CPUs the exporter collects on in parallel (env GOMAXPROCS).")
    public var maxProcs: Int?

    @Flag(
        name: .customLong("runtime.release-startup-pages"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var releaseStartupPages = true

    @OptionGroup public var log: LogOptions

    // MARK: paths (hidden, as in CEEMS)
    @Option(name: .customLong("path.procfs"), help: .hidden) public var procfs = "/proc"
    @Option(name: .customLong("path.sysfs"), help: .hidden) public var sysfs = "/sys"
    @Option(name: .customLong("path.cgroupfs"), help: .hidden) public var cgroupfs = "/sys/fs/cgroup"

    @Flag(
        name: .customLong("collector.empty-hostname-label"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var emptyHostnameLabel = false

    // MARK: collector switches
    @Flag(
        name: .customLong("collector.disable-defaults"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Set all collectors to disabled by default.")
    public var disableDefaults = false

    @Flag(
        name: .customLong("collector.cpu"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the cpu collector (default: enabled)."
    )
    public var cpu: Bool?
    @Flag(
        name: .customLong("collector.meminfo"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the meminfo collector (default: enabled).")
    public var meminfo: Bool?
    @Flag(
        name: .customLong("collector.rapl"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the rapl collector (default: enabled).")
    public var rapl: Bool?
    @Flag(
        name: .customLong("collector.hwmon"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the hwmon collector (default: disabled).")
    public var hwmon: Bool?
    @Flag(
        name: .customLong("collector.ipmi_dcmi"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the ipmi_dcmi collector (default: disabled).")
    public var ipmiDCMI: Bool?
    @Flag(
        name: .customLong("collector.redfish"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the redfish collector (default: disabled).")
    public var redfish: Bool?
    @Flag(
        name: .customLong("collector.cray_pm_counters"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the cray_pm_counters collector (default: disabled).")
    public var crayPMCounters: Bool?
    @Flag(
        name: .customLong("collector.emissions"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the emissions collector (default: disabled).")
    public var emissions: Bool?
    @Flag(
        name: .customLong("collector.netdev"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the netdev collector (default: disabled).")
    public var netdev: Bool?
    @Flag(
        name: .customLong("collector.infiniband"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the infiniband collector (default: disabled).")
    public var infiniband: Bool?

    // MARK: collector options
    @Flag(
        name: .customLong("collector.meminfo.all-stats"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable collecting all meminfo stats (default: disabled).")
    public var meminfoAllStats = false
    @Flag(
        name: .customLong("collector.meminfo.all.stats"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var meminfoAllStatsDeprecated = false

    @Flag(
        name: .customLong("collector.rapl.enable-zone-label"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables RAPL zone labels (default: disabled).")
    public var raplZoneLabel = false

    @Option(
        name: .customLong("collector.ipmi_dcmi.cmd"),
        help: "IPMI DCMI command to get system power statistics. Use full path to executables.")
    public var ipmiCommand = ""
    @Option(name: .customLong("collector.ipmi.dcmi.cmd"), help: .hidden) public var ipmiCommandDeprecated = ""
    @Option(
        name: .customLong("collector.ipmi_dcmi.dev-num"),
        help: "Device number of the IPMI device (/dev/ipmi<N>) used in native mode.")
    public var ipmiDeviceNumber = 0
    @Flag(
        name: .customLong("collector.ipmi_dcmi.force-native-mode"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Force native mode (ioctl on the IPMI device) even when a tool is installed.")
    public var ipmiForceNativeMode = false
    @Flag(
        name: .customLong("collector.ipmi_dcmi.test-mode"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var ipmiTestMode = false

    @Option(
        name: .customLong("collector.redfish.config.file"),
        help: "Path to the Redfish collector configuration file (env CEEMS_EXPORTER_REDFISH_COLL_CONFIG_FILE).")
    public var redfishConfigFile: String?
    @Flag(
        name: .customLong("collector.redfish.config.file.expand-env-vars"), inversion: .prefixedNo,
        exclusivity: .chooseLast,
        help: "Expand $VAR and ${VAR} in the Redfish configuration file.")
    public var redfishExpandEnvironment = false
    @Option(name: .customLong("collector.redfish.web-config"), help: .hidden) public var redfishWebConfigDeprecated:
        String?

    @Option(
        name: .customLong("collector.netdev.device-include"),
        help: "Regexp of net devices to include (mutually exclusive to device-exclude).")
    public var netdevInclude: String?
    @Option(
        name: .customLong("collector.netdev.device-exclude"),
        help: "Regexp of net devices to exclude (mutually exclusive to device-include).")
    public var netdevExclude: String?

    @Option(
        name: .customLong("collector.emissions.provider"),
        help: "Emission factor provider (repeatable): owid, emaps, rte, wt. Default: every provider that can run.")
    public var emissionProviders: [String] = []

    public mutating func validate() throws {
        if let include = netdevInclude, let exclude = netdevExclude, !include.isEmpty, !exclude.isEmpty {
            throw ValidationError(
                "--collector.netdev.device-include and --collector.netdev.device-exclude are mutually exclusive")
        }
        for provider in emissionProviders where !EmissionsCollector.providerIDs.contains(provider) {
            throw ValidationError(
                "invalid --collector.emissions.provider \"\(provider)\": expected one of owid, emaps, rte, wt")
        }
        if maxRequests < 0 { throw ValidationError("--web.max-requests must not be negative") }
    }

    /// Deprecated or unsupported flags in use, to warn about at start-up (never silently ignored).
    public var deprecationWarnings: [String] {
        var warnings: [String] = []
        if systemdSocket {
            warnings.append("--web.systemd-socket is not supported by this build: listening on --web.listen-address")
        }
        if debugServer {
            warnings.append("--web.debug-server has no effect: Go's pprof endpoints have no Swift counterpart")
        }
        if maxProcs != nil {
            warnings.append("--runtime.gomaxprocs has no effect: the Swift runtime sizes its thread pool to the CPUs")
        }
        if meminfoAllStatsDeprecated {
            warnings.append("--collector.meminfo.all.stats is deprecated, use --collector.meminfo.all-stats")
        }
        if !ipmiCommandDeprecated.isEmpty {
            warnings.append("--collector.ipmi.dcmi.cmd is deprecated, use --collector.ipmi_dcmi.cmd")
        }
        if redfishWebConfigDeprecated != nil {
            warnings.append("--collector.redfish.web-config is deprecated, use --collector.redfish.config.file")
        }
        return warnings
    }

    /// The explicit switch given on the command line for each collector (nil when not given).
    var explicitSwitches: [CollectorName: Bool] {
        var result: [CollectorName: Bool] = [:]
        let pairs: [(CollectorName, Bool?)] = [
            (.cpu, cpu), (.meminfo, meminfo), (.rapl, rapl), (.hwmon, hwmon), (.ipmiDCMI, ipmiDCMI),
            (.redfish, redfish), (.crayPMCounters, crayPMCounters), (.emissions, emissions), (.netdev, netdev),
            (.infiniband, infiniband),
        ]
        for (name, value) in pairs {
            if let value { result[name] = value }
        }
        return result
    }

    /// Turns the flags (and their environment fallbacks) into the exporter's configuration.
    public func configuration(
        environment: (String) -> String? = EnvironmentExpansion.processValue
    ) throws -> ExporterConfiguration {
        var configuration = ExporterConfiguration()
        let addresses = listenAddresses.isEmpty ? [":9010"] : listenAddresses
        configuration.listenAddresses = try addresses.map { try ListenAddress(parsing: $0) }
        configuration.webConfigFile = webConfigFile ?? environment("CEEMS_EXPORTER_WEB_CONFIG_FILE")
        if configuration.webConfigFile?.isEmpty == true { configuration.webConfigFile = nil }
        guard telemetryPath.hasPrefix("/") else {
            throw ValidationError("--web.telemetry-path must start with /")
        }
        configuration.telemetryPath = telemetryPath
        configuration.disableExporterMetrics = disableExporterMetrics
        configuration.maxRequests = maxRequests
        configuration.releaseStartupPages = releaseStartupPages
        configuration.fs = LinuxFS(procfs: procfs, sysfs: sysfs, cgroupfs: cgroupfs)
        configuration.emptyHostnameLabel = emptyHostnameLabel
        configuration.hostname = emptyHostnameLabel ? "" : Hostname.current()

        var enabled: Set<CollectorName> = []
        let explicit = explicitSwitches
        for name in CollectorName.allCases {
            let isOn = explicit[name] ?? (disableDefaults ? false : name.enabledByDefault)
            if isOn { enabled.insert(name) }
        }
        configuration.enabledCollectors = enabled

        configuration.meminfoAllStats = meminfoAllStats || meminfoAllStatsDeprecated
        configuration.raplZoneLabel = raplZoneLabel
        let command = ipmiCommandDeprecated.isEmpty ? ipmiCommand : ipmiCommandDeprecated
        configuration.ipmi.command = command.split(separator: " ").map(String.init)
        configuration.ipmi.deviceNumber = ipmiDeviceNumber
        configuration.ipmi.forceNativeMode = ipmiForceNativeMode
        configuration.ipmi.testMode = ipmiTestMode

        let deprecatedRedfish = redfishWebConfigDeprecated ?? environment("CEEMS_EXPORTER_REDFISH_COLL_WEB_CONFIG_FILE")
        let redfishFile = redfishConfigFile ?? environment("CEEMS_EXPORTER_REDFISH_COLL_CONFIG_FILE")
        configuration.redfish.configFile = [deprecatedRedfish, redfishFile].compactMap { $0 }.first { !$0.isEmpty }
        configuration.redfish.expandEnvironment = redfishExpandEnvironment

        configuration.netdev.deviceInclude = netdevInclude.flatMap { $0.isEmpty ? nil : $0 }
        configuration.netdev.deviceExclude = netdevExclude.flatMap { $0.isEmpty ? nil : $0 }
        configuration.emissions.providers = emissionProviders
        return configuration
    }
}
