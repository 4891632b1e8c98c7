import CEEMSCore
import CEEMSLinux
import CEEMSWeb

/// Everything `ceems_exporter` is configured with, as plain values (flags are parsed into this).
public struct ExporterConfiguration: Sendable {
    public var listenAddresses: [ListenAddress] = [ListenAddress(host: "", port: 9010)]
    public var webConfigFile: String?
    public var telemetryPath = "/metrics"
    public var disableExporterMetrics = false
    /// Concurrent scrapes allowed (0 = unlimited).
    public var maxRequests = 40
    public var fs = LinuxFS()
    /// `hostname` label value (empty with the hidden `--collector.empty-hostname-label`).
    public var hostname = ""
    /// `--collector.empty-hostname-label`: also makes the cpu collector assume 4 physical cores.
    public var emptyHostnameLabel = false
    public var enabledCollectors: Set<CollectorName> = Set(CollectorName.allCases.filter(\.enabledByDefault))
    /// Scrape budget when Prometheus does not send `X-Prometheus-Scrape-Timeout-Seconds` (below the 10 s write
    /// timeout of the HTTP server).
    public var defaultScrapeTimeout: Duration = .seconds(9)
    /// Give start-up-only code pages back to the kernel once serving (see `ResidentPages`).
    public var releaseStartupPages = false

    public var meminfoAllStats = false
    public var raplZoneLabel = false
    public var ipmi = IPMIOptions()
    public var redfish = RedfishOptions()
    public var netdev = NetdevOptions()
    public var emissions = EmissionsOptions()
    public var cgroups = CgroupOptions()
    public var slurm = SlurmOptions()
    public var libvirt = LibvirtOptions()
    public var k8s = KubernetesOptions()
    public var gpu = GPUOptions()
    public var rdma = RDMAOptions()
    public var perf = PerfOptions()
    public var ebpf = EBPFOptions()
    public var discoverer = DiscovererOptions()
    public var targetsPath = "/alloy-targets"

    public init() {}

    public struct CgroupOptions: Sendable {
        /// `--collector.cgroups.active-subsystem` (v1 only).
        public var activeSubsystem = "cpuacct"
        /// `--collector.cgroups.force-version`: `v1` or `v2` (auto-detected when nil).
        public var forceVersion: String?
        /// `--collector.cgroups.ended-units`: report each unit once more after it ends.
        public var endedUnits = true
        public init() {}
    }

    public struct SlurmOptions: Sendable {
        public var swapMetrics = false
        public var psiMetrics = false
        public var gresConfigFile = "/etc/slurm/gres.conf"
        public var gpuOrderMap = ""
        /// Command printing the job id of a SLUID-named job cgroup (split on spaces; the SLUID is appended).
        public var jobIDResolver: [String] = []
        public init() {}
    }

    public struct LibvirtOptions: Sendable {
        public var swapMetrics = false
        public var blkioMetrics = false
        public var psiMetrics = false
        public var xmlDirectory = "/etc/libvirt/qemu"
        public init() {}
    }

    public struct KubernetesOptions: Sendable {
        public var kubeconfigFile = ""
        public var podResourcesSocket = "/var/lib/kubelet/pod-resources/kubelet.sock"
        public var psiMetrics = false
        public init() {}
    }

    /// `--collector.perf.*` (§7.12).
    public struct PerfOptions: Sendable {
        public var hardwareEvents = false
        public var hardwareProfilers: [String] = []
        public var softwareEvents = false
        public var softwareProfilers: [String] = []
        public var cacheEvents = false
        public var cacheProfilers: [String] = []
        /// Only processes whose environment has a variable with one of these prefixes.
        public var environmentVariables: [String] = []
        public var enabled: Bool { hardwareEvents || softwareEvents || cacheEvents }
        public init() {}
    }

    /// `--collector.ebpf.*` (§7.12).
    public struct EBPFOptions: Sendable {
        public var ioMetrics = false
        public var networkMetrics = false
        /// Substrings a mount point must contain to be reported (empty: all).
        public var mountPoints: [String] = []
        public var enabled: Bool { ioMetrics || networkMetrics }
        public init() {}
    }

    public struct RDMAOptions: Sendable {
        public var stats = false
        public var command = ""
        public init() {}
    }

    public struct DiscovererOptions: Sendable {
        public var alloyTargets = false
        public var environmentVariables: [String] = []
        public var selfProfiler = false
        public init() {}
    }

    public struct IPMIOptions: Sendable {
        /// `--collector.ipmi_dcmi.cmd` split on spaces (empty: auto-detect).
        public var command: [String] = []
        public var deviceNumber = 0
        public var forceNativeMode = false
        public var testMode = false
        public init() {}
    }

    public struct RedfishOptions: Sendable {
        public var configFile: String?
        public var expandEnvironment = false
        public init() {}
    }

    public struct NetdevOptions: Sendable {
        public var deviceInclude: String?
        public var deviceExclude: String?
        public init() {}
    }

    public struct EmissionsOptions: Sendable {
        /// Providers asked for with `--collector.emissions.provider` (empty: every provider that can run).
        public var providers: [String] = []
        public init() {}
    }
}

extension ExporterConfiguration {
    /// How the exporter gives up root (exporter.md §10): to `--security.run-as-user` (`nobody` by default when it
    /// reads the real /proc and /sys and can reach them and its tools), keeping the enabled collectors' capabilities; the
    /// web config and the kubelet socket granted by ACLs.
    public func privilegeDrop(_ options: ExporterOptions) -> PrivilegeDrop {
        var drop = PrivilegeDrop(
            user: options.runAsUser, enabled: options.dropPrivileges, capabilityAware: !options.disableCapAwareness)
        drop.capabilities = requiredCapabilities
        if let webConfigFile { drop.grants.append(.init(webConfigFile, .read)) }
        if enabledCollectors.contains(.k8s), SystemFile.exists(k8s.podResourcesSocket) {
            drop.grants.append(.init(k8s.podResourcesSocket, .readWrite))
        }
        drop.requiredPaths = [fs.procfs, fs.sysfs]
        if fs.procfs != "/proc" || fs.sysfs != "/sys" {
            drop.keepRootUnlessNamed = "--path.procfs/--path.sysfs point at copies of the pseudo-file systems"
        }
        for tool in [gpu.nvidiaSMIPath, gpu.rocmSMIPath, gpu.amdSMIPath].compactMap({ $0 }) where SystemFile.exists(tool) {
            drop.requiredPaths.append(tool)
        }
        return drop
    }

    /// The capabilities the enabled collectors need (exporter.md §10), kept when the exporter drops to its
    /// run-as user.
    public var requiredCapabilities: Set<Capability> {
        var capabilities: Set<Capability> = []
        let collectors = enabledCollectors
        if collectors.contains(.slurm) { capabilities.formUnion([.sysPtrace, .dacReadSearch]) }
        if collectors.contains(.libvirt) || collectors.contains(.rapl) { capabilities.insert(.dacReadSearch) }
        if collectors.contains(.ipmiDCMI) {
            if ipmi.forceNativeMode || ipmi.command.isEmpty { capabilities.insert(.dacOverride) }
            if !ipmi.forceNativeMode { capabilities.formUnion([.setuid, .setgid]) }
        }
        if perf.enabled {
            capabilities.insert(.perfmon)
            if !perf.environmentVariables.isEmpty { capabilities.formUnion([.sysPtrace, .dacReadSearch]) }
        }
        if rdma.stats { capabilities.formUnion([.setuid, .setgid]) }
        if ebpf.enabled { capabilities.formUnion([.bpf, .perfmon]) }
        if discoverer.alloyTargets && !discoverer.environmentVariables.isEmpty {
            capabilities.formUnion([.sysPtrace, .dacReadSearch])
        }
        if collectors.contains(.redfish) { capabilities.insert(.dacOverride) }
        if listenAddresses.contains(where: { $0.port > 0 && $0.port < 1024 }) { capabilities.insert(.netBindService) }
        return capabilities
    }
}
