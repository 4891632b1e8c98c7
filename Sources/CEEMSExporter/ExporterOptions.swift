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

    @Option(name: .customLong("web.targets-path"), help: "Path under which to expose Grafana Alloy targets.")
    public var targetsPath = "/alloy-targets"

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

    @Option(
        name: .customLong("security.run-as-user"),
        help: "User to run as when started as root, keeping only the capabilities the enabled collectors need (name or uid).")
    public var runAsUser: String?
    @Flag(
        name: .customLong("security.drop-privileges"), inversion: .prefixedNo, exclusivity: .chooseLast, help: .hidden)
    public var dropPrivileges = true
    @Flag(
        name: .customLong("security.disable-cap-awareness"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var disableCapAwareness = false

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
    @Flag(
        name: .customLong("collector.slurm"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the slurm collector (default: disabled).")
    public var slurm: Bool?
    @Flag(
        name: .customLong("collector.libvirt"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the libvirt collector (default: disabled).")
    public var libvirt: Bool?
    @Flag(
        name: .customLong("collector.k8s"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable the k8s collector (default: disabled).")
    public var k8s: Bool?

    // MARK: cgroups, resource managers, GPUs
    @Option(
        name: .customLong("collector.cgroups.active-subsystem"),
        help: "Active cgroup subsystem for cgroups v1 (cpuacct, memory, …).")
    public var activeSubsystem = "cpuacct"
    @Option(name: .customLong("collector.cgroups.force-version"), help: .hidden)
    public var forceCgroupVersion: String?
    @Flag(
        name: .customLong("collector.cgroups.ended-units"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Export a compute unit once more after it ends, with its final counters (default: enabled).")
    public var endedUnits = true

    @Flag(
        name: .customLong("collector.slurm.swap-memory-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of swap memory metrics (default: disabled).")
    public var slurmSwap = false
    @Flag(
        name: .customLong("collector.slurm.swap.memory.metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var slurmSwapDeprecated = false
    @Flag(
        name: .customLong("collector.slurm.psi-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of PSI metrics (default: disabled).")
    public var slurmPSI = false
    @Flag(
        name: .customLong("collector.slurm.psi.metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: .hidden)
    public var slurmPSIDeprecated = false
    @Option(
        name: .customLong("collector.slurm.gres-config-file"),
        help: "SLURM GRES config file (GPU sharing with shards or MPS).")
    public var gresConfigFile = "/etc/slurm/gres.conf"
    @Option(
        name: .customLong("collector.slurm.gpu-order-map"),
        help: "GPU order mapping between SLURM and the GPU tool, e.g. 0:1,1:0.3,2:0.4,3:0.5,4:0.6.")
    public var gpuOrderMap = ""
    @Option(
        name: .customLong("collector.slurm.job-id-resolver"),
        help: "Command printing the job id of a SLUID-named job cgroup (Slurm 26.05+); the SLUID is appended.")
    public var jobIDResolver = ""

    @Flag(
        name: .customLong("collector.libvirt.swap-memory-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of swap memory metrics (default: disabled).")
    public var libvirtSwap = false
    @Flag(
        name: .customLong("collector.libvirt.blkio-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of block IO metrics (default: disabled).")
    public var libvirtBlkio = false
    @Flag(
        name: .customLong("collector.libvirt.psi-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of PSI metrics (default: disabled).")
    public var libvirtPSI = false
    @Option(name: .customLong("collector.libvirt.xml-dir"), help: .hidden)
    public var libvirtXMLDirectory = "/etc/libvirt/qemu"

    @Option(
        name: .customLong("collector.k8s.kubeconfig.file"),
        help: "Kubeconfig file (empty: in-cluster configuration).")
    public var kubeconfigFile = ""
    @Option(name: .customLong("collector.k8s.kube-config-file"), help: .hidden)
    public var kubeconfigFileDeprecated: String?
    @Option(
        name: .customLong("collector.k8s.kubelet-podresources-socket.file"),
        help: "Kubelet PodResources socket.")
    public var podResourcesSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"
    @Option(name: .customLong("collector.k8s.kubelet-socket-file"), help: .hidden)
    public var podResourcesSocketDeprecated: String?
    @Flag(
        name: .customLong("collector.k8s.psi-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of PSI metrics (default: disabled).")
    public var k8sPSI = false

    @Option(name: .customLong("collector.gpu.type"), help: .hidden) public var gpuType: String?
    @Option(name: .customLong("collector.gpu.nvidia-smi-path"), help: .hidden) public var nvidiaSMIPath: String?
    @Option(name: .customLong("collector.gpu.rocm-smi-path"), help: .hidden) public var rocmSMIPath: String?
    @Option(name: .customLong("collector.gpu.amd-smi-path"), help: .hidden) public var amdSMIPath: String?
    @Flag(
        name: .customLong("collector.gpu.sm-count-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Export ceems_compute_unit_gpu_sm_count (default: disabled).")
    public var gpuSMCountMetrics = false

    @Flag(
        name: .customLong("collector.rdma.stats"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of RDMA stats (default: disabled).")
    public var rdmaStats = false
    @Option(name: .customLong("collector.rdma.cmd"), help: .hidden) public var rdmaCommand = ""
    @Flag(
        name: .customLong("collector.perf.hardware-events"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of perf hardware events (default: disabled).")
    public var perfHardwareEvents = false
    @Option(
        name: .customLong("collector.perf.hardware-profilers"),
        help: "perf hardware profilers to collect (repeatable; default: all): CpuCycles, CpuInstr, CacheRef, CacheMisses, BranchInstr, BranchMisses, RefCpuCycles.")
    public var perfHardwareProfilers: [String] = []
    @Flag(
        name: .customLong("collector.perf.software-events"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of perf software events (default: disabled).")
    public var perfSoftwareEvents = false
    @Option(
        name: .customLong("collector.perf.software-profilers"),
        help: "perf software profilers to collect (repeatable; default: all): PageFault, ContextSwitch, CpuMigration, MinorFault, MajorFault.")
    public var perfSoftwareProfilers: [String] = []
    @Flag(
        name: .customLong("collector.perf.hardware-cache-events"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of perf hardware cache events (default: disabled).")
    public var perfCacheEvents = false
    @Option(
        name: .customLong("collector.perf.cache-profilers"),
        help: "perf cache profilers to collect (repeatable; default: all): L1DataReadHit, L1DataReadMiss, L1DataWriteHit, L1InstrReadMiss, LLReadHit, LLReadMiss, LLWriteHit, LLWriteMiss, InstrTLBReadHit, InstrTLBReadMiss, BPUReadHit, BPUReadMiss.")
    public var perfCacheProfilers: [String] = []
    @Flag(
        name: .customLong("collector.ebpf.io-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of IO metrics using eBPF (default: disabled).")
    public var ebpfIOMetrics = false
    @Flag(
        name: .customLong("collector.ebpf.network-metrics"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enables collection of network metrics using eBPF (default: disabled).")
    public var ebpfNetworkMetrics = false
    @Option(
        name: .customLong("collector.ebpf.fs-mount-point"),
        help: "Report IO only on mount points containing this text (repeatable; default: all).")
    public var ebpfMountPoints: [String] = []
    @Option(
        name: .customLong("collector.perf.env-var"),
        help: "Profile only processes whose environment has a variable with this prefix (repeatable; value ignored).")
    public var perfEnvironmentVariables: [String] = []

    @Flag(
        name: .customLong("discoverer.alloy-targets"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Enable Grafana Alloy targets discoverer (needs the slurm or k8s collector).")
    public var alloyTargets = false
    @Option(
        name: .customLong("discoverer.alloy-targets.env-var"),
        help: "Keep only processes whose environment has a variable with this prefix (repeatable).")
    public var alloyTargetsEnvironment: [String] = []
    @Flag(
        name: .customLong("discoverer.alloy-targets.self-profiler"), inversion: .prefixedNo, exclusivity: .chooseLast,
        help: "Add the exporter itself as an Alloy target.")
    public var alloyTargetsSelf = false

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
        if let version = forceCgroupVersion, version != "v1", version != "v2" {
            throw ValidationError("invalid --collector.cgroups.force-version \"\(version)\": expected v1 or v2")
        }
        if let type = gpuType, !["nvidia", "amd", "nogpu"].contains(type) {
            throw ValidationError("invalid --collector.gpu.type \"\(type)\": expected nvidia, amd or nogpu")
        }
        do {
            _ = try GPUOrderMap(parsing: gpuOrderMap)
        } catch {
            throw ValidationError(error.description)
        }
        guard targetsPath.hasPrefix("/") else { throw ValidationError("--web.targets-path must start with /") }
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
        if slurmSwapDeprecated {
            warnings.append(
                "--collector.slurm.swap.memory.metrics is deprecated, use --collector.slurm.swap-memory-metrics")
        }
        if slurmPSIDeprecated {
            warnings.append("--collector.slurm.psi.metrics is deprecated, use --collector.slurm.psi-metrics")
        }
        if kubeconfigFileDeprecated != nil {
            warnings.append("--collector.k8s.kube-config-file is deprecated, use --collector.k8s.kubeconfig.file")
        }
        if podResourcesSocketDeprecated != nil {
            warnings.append(
                "--collector.k8s.kubelet-socket-file is deprecated, use --collector.k8s.kubelet-podresources-socket.file"
            )
        }
        return warnings
    }

    /// The explicit switch given on the command line for each collector (nil when not given).
    var explicitSwitches: [CollectorName: Bool] {
        var result: [CollectorName: Bool] = [:]
        let pairs: [(CollectorName, Bool?)] = [
            (.cpu, cpu), (.meminfo, meminfo), (.rapl, rapl), (.hwmon, hwmon), (.ipmiDCMI, ipmiDCMI),
            (.redfish, redfish), (.crayPMCounters, crayPMCounters), (.emissions, emissions), (.netdev, netdev),
            (.infiniband, infiniband), (.slurm, slurm), (.libvirt, libvirt), (.k8s, k8s),
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
        configuration.cgroups.endedUnits = endedUnits
        configuration.emissions.providers = emissionProviders

        configuration.cgroups.activeSubsystem = activeSubsystem
        configuration.cgroups.forceVersion = forceCgroupVersion
        configuration.slurm.swapMetrics = slurmSwap || slurmSwapDeprecated
        configuration.slurm.psiMetrics = slurmPSI || slurmPSIDeprecated
        configuration.slurm.gresConfigFile = gresConfigFile
        configuration.slurm.gpuOrderMap = gpuOrderMap
        configuration.slurm.jobIDResolver = jobIDResolver.split(separator: " ").map(String.init)
        configuration.libvirt.swapMetrics = libvirtSwap
        configuration.libvirt.blkioMetrics = libvirtBlkio
        configuration.libvirt.psiMetrics = libvirtPSI
        configuration.libvirt.xmlDirectory = libvirtXMLDirectory
        // Deprecated flags win when given (the reference let the socket one win even when not given).
        configuration.k8s.kubeconfigFile = kubeconfigFileDeprecated ?? kubeconfigFile
        configuration.k8s.podResourcesSocket = podResourcesSocketDeprecated ?? podResourcesSocket
        configuration.k8s.psiMetrics = k8sPSI
        configuration.gpu.type = gpuType
        configuration.gpu.nvidiaSMIPath = nvidiaSMIPath
        configuration.gpu.rocmSMIPath = rocmSMIPath
        configuration.gpu.amdSMIPath = amdSMIPath
        configuration.gpu.smCountMetrics = gpuSMCountMetrics
        configuration.ebpf.ioMetrics = ebpfIOMetrics
        configuration.ebpf.networkMetrics = ebpfNetworkMetrics
        configuration.ebpf.mountPoints = ebpfMountPoints
        configuration.perf.hardwareEvents = perfHardwareEvents
        configuration.perf.hardwareProfilers = perfHardwareProfilers
        configuration.perf.softwareEvents = perfSoftwareEvents
        configuration.perf.softwareProfilers = perfSoftwareProfilers
        configuration.perf.cacheEvents = perfCacheEvents
        configuration.perf.cacheProfilers = perfCacheProfilers
        configuration.perf.environmentVariables = perfEnvironmentVariables
        configuration.rdma.stats = rdmaStats
        configuration.rdma.command = rdmaCommand
        configuration.discoverer.alloyTargets = alloyTargets
        configuration.discoverer.environmentVariables = alloyTargetsEnvironment
        configuration.discoverer.selfProfiler = alloyTargetsSelf
        configuration.targetsPath = targetsPath
        return configuration
    }
}
