import CEEMSCore
import CEEMSLinux
import Logging

/// Builds the resource-manager collectors (`slurm`, `libvirt`, `k8s`) with what they share: the cgroup layout,
/// host memory totals, block device names and the GPU inventory (tools run once).
enum ComputeUnitCollectors {
    static func make(
        configuration: ExporterConfiguration, managers: [ResourceManager], logger: Logger,
        kubernetesSources: (any KubernetesSources)? = nil
    ) async throws -> [ComputeUnitCollector] {
        guard !managers.isEmpty else { return [] }
        let fs = configuration.fs
        let version: CgroupVersion =
            switch configuration.cgroups.forceVersion {
            case "v1": .v1
            case "v2": .v2
            default: CgroupVersion.detect(root: fs.cgroupfs)
            }
        let root = FilePathSyntax.clean(fs.cgroupfs)
        let layout = CgroupLayout(
            version: version, root: root,
            activeController: CgroupLayout.controllerDirectory(for: configuration.cgroups.activeSubsystem, root: root))
        logger.info("cgroup hierarchy", metadata: ["version": "\(version.rawValue)", "root": "\(layout.root)"])

        var buffer: [UInt8] = []
        var memTotal = 0.0
        var swapTotal = 0.0
        if let count = try? SystemFile.read(fs.proc("meminfo"), into: &buffer) {
            let fields = Meminfo.parse(buffer[..<count])
            memTotal = Meminfo.bytes(of: "MemTotal", in: fields) ?? 0
            swapTotal = Meminfo.bytes(of: "SwapTotal", in: fields) ?? 0
        }
        let devices =
            (try? SystemFile.read(fs.proc("diskstats"), into: &buffer)).map {
                DiskStats.deviceNames(buffer[..<$0])
            } ?? [:]

        let gpuOptions = configuration.gpu
        let loader = GPUInventoryLoader(logger: logger) {
            try await GPUDiscovery.inventory(
                options: gpuOptions, fs: fs, vgpu: managers.contains(.libvirt), migUUIDs: managers.contains(.k8s),
                logger: logger)
        }
        loader.start()
        _ = await loader.waitForResult(upTo: gpuOptions.startupWait)

        var collectors: [ComputeUnitCollector] = []
        for manager in managers {
            var settings = ComputeUnitSettings(
                manager: manager, statsOptions: UnitStatsOptions(), hostname: configuration.hostname)
            settings.gpuSMCountMetrics = configuration.gpu.smCountMetrics
            settings.reportEndedUnits = configuration.cgroups.endedUnits
            let matcher: any UnitMatcher
            let makeMapping: @Sendable ([GPUDevice]) throws -> GPUMapping
            switch manager {
            case .slurm:
                matcher = SlurmMatcher(version: version)
                settings.statsOptions.swap = configuration.slurm.swapMetrics
                settings.statsOptions.psi = configuration.slurm.psiMetrics
                settings.dropUnitsWithoutProcesses = true
                settings.statsOptions.populated = version == .v2
                settings.jobIDResolver = configuration.slurm.jobIDResolver
                let slurm = configuration.slurm
                makeMapping = { inventory in
                    var devices = inventory
                    try GPUOrderMap(parsing: slurm.gpuOrderMap).apply(to: &devices)
                    var sharing = GresSharing()
                    if let gres = try? SystemFile.readString(slurm.gresConfigFile, limit: 1 << 20) {
                        let migMinors =
                            (try? SystemFile.readString("/proc/driver/nvidia-caps/mig-minors")).map(
                                GresSharing.migMinors) ?? [:]
                        sharing = GresSharing(
                            parsing: gres, hostname: Hostname.current(), devices: devices, migMinors: migMinors)
                    }
                    return .slurm(SlurmGPUMapper(devices: devices, sharing: sharing))
                }
            case .libvirt:
                matcher = LibvirtMatcher()
                settings.statsOptions.swap = configuration.libvirt.swapMetrics
                settings.statsOptions.psi = configuration.libvirt.psiMetrics
                settings.statsOptions.blockIO = configuration.libvirt.blkioMetrics
                settings.libvirtXMLDirectory = configuration.libvirt.xmlDirectory
                makeMapping = { .libvirt($0) }
            case .k8s:
                matcher = K8sMatcher()
                settings.statsOptions.swap = true
                settings.statsOptions.blockIO = true
                settings.statsOptions.psi = configuration.k8s.psiMetrics
                settings.statsOptions.cpusFromWeight = true
                let options = configuration.k8s
                makeMapping = { inventory in
                    .kubernetes(
                        KubernetesGPUMapper(
                            devices: inventory, sources: try kubernetesSources ?? Self.kubernetesSources(options)))
                }
            }
            let gpu = GPUSource(loader: loader, make: makeMapping)
            let discovery = CgroupDiscovery(layout: layout, matcher: matcher, procfs: FilePathSyntax.clean(fs.procfs))
            if manager == .slurm && matcher.roots(layout: layout).isEmpty {
                logger.warning(
                    "No SLURM cgroup found yet (slurmstepd creates it with the first job); jobs will appear when they run",
                    metadata: ["root": "\(layout.discoveryMount)"])
            }
            let reader = UnitStatsReader(
                layout: layout, options: settings.statsOptions, hostMemoryTotal: memTotal, hostSwapTotal: swapTotal,
                deviceNames: devices)
            var subCollectors: [any UnitSubCollector] = []
            if configuration.ebpf.enabled {
                // Loading BPF programs needs cap_bpf and cap_perfmon: a privileged action.
                subCollectors.append(
                    try Privileges.perform([.bpf, .perfmon, .sysAdmin]) {
                        try EBPFSubCollector(
                            options: configuration.ebpf, layout: layout, manager: manager,
                            hostname: configuration.hostname, fs: fs, logger: logger)
                    })
            }
            if configuration.perf.enabled && manager != .libvirt {
                subCollectors.append(
                    try PerfSubCollector(
                        options: configuration.perf, manager: manager, hostname: configuration.hostname, fs: fs,
                        logger: logger))
            }
            if configuration.rdma.stats {
                if let rdma = RDMASubCollector(
                    fs: fs, command: configuration.rdma.command, manager: manager, hostname: configuration.hostname,
                    logger: logger)
                {
                    subCollectors.append(rdma)
                }
            }
            collectors.append(
                ComputeUnitCollector(
                    settings: settings, discovery: discovery, reader: reader, gpu: gpu, subCollectors: subCollectors,
                    logger: logger))
        }
        return collectors
    }

    /// The API server (kubeconfig or in-cluster) and the kubelet socket; `NODE_NAME` (set by the DaemonSet from
    /// `spec.nodeName`) restricts the pod list to this node.
    static func kubernetesSources(_ options: ExporterConfiguration.KubernetesOptions) throws -> any KubernetesSources {
        let endpoint = try KubernetesEndpoint.load(kubeconfig: options.kubeconfigFile)
        return try KubernetesAPISources(
            endpoint: endpoint, nodeName: EnvironmentExpansion.processValue("NODE_NAME") ?? "",
            socketPath: options.podResourcesSocket)
    }
}
