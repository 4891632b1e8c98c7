import CEEMSMetrics

/// The descriptors of the compute-unit metrics (names, HELP and labels are CEEMS' interface; the "job" wording
/// is kept for VMs and pods).
enum UnitMetrics {
    static let unitLabels = ["manager", "hostname", "cgrouphostname", "uuid"]
    static let deviceLabels = ["manager", "hostname", "cgrouphostname", "uuid", "device"]
    static let gpuLabels = ["manager", "hostname", "cgrouphostname", "uuid", "index", "hindex", "gpuuuid", "gpuiid"]

    static func gauge(_ name: String, _ help: String, labels: [String] = unitLabels) -> MetricDescriptor {
        MetricDescriptor(name, help: help, type: .gauge, labels: labels)
    }

    static let units = MetricDescriptor(
        "ceems_compute_units", help: "Total number of jobs", type: .gauge, labels: ["manager", "hostname"])
    static let cpuUser = MetricDescriptor(
        "ceems_compute_unit_cpu_user_seconds_total", help: "Total job CPU user seconds", type: .counter,
        labels: unitLabels)
    static let cpuSystem = MetricDescriptor(
        "ceems_compute_unit_cpu_system_seconds_total", help: "Total job CPU system seconds", type: .counter,
        labels: unitLabels)
    static let cpus = gauge("ceems_compute_unit_cpus", "Total number of job CPUs")
    static let memoryRSS = gauge("ceems_compute_unit_memory_rss_bytes", "Memory RSS used in bytes")
    static let memoryCache = gauge("ceems_compute_unit_memory_cache_bytes", "Memory cache used in bytes")
    static let memoryUsed = gauge("ceems_compute_unit_memory_used_bytes", "Memory used in bytes")
    static let memoryTotal = gauge("ceems_compute_unit_memory_total_bytes", "Memory total in bytes")
    static let memoryFailCount = gauge("ceems_compute_unit_memory_fail_count", "Memory fail count")
    static let swapUsed = gauge("ceems_compute_unit_memsw_used_bytes", "Swap used in bytes")
    static let swapTotal = gauge("ceems_compute_unit_memsw_total_bytes", "Swap total in bytes")
    static let swapFailCount = gauge("ceems_compute_unit_memsw_fail_count", "Swap fail count")
    static let cpuPSI = gauge("ceems_compute_unit_cpu_psi_seconds", "Total CPU PSI in seconds")
    static let memoryPSI = gauge("ceems_compute_unit_memory_psi_seconds", "Total memory PSI in seconds")
    static let blkioReadBytes = gauge(
        "ceems_compute_unit_blkio_read_total_bytes", "Total block IO read bytes", labels: deviceLabels)
    static let blkioWriteBytes = gauge(
        "ceems_compute_unit_blkio_write_total_bytes", "Total block IO write bytes", labels: deviceLabels)
    static let blkioReadRequests = gauge(
        "ceems_compute_unit_blkio_read_total_requests", "Total block IO read requests", labels: deviceLabels)
    static let blkioWriteRequests = gauge(
        "ceems_compute_unit_blkio_write_total_requests", "Total block IO write requests", labels: deviceLabels)
    static let rdmaHandles = gauge(
        "ceems_compute_unit_rdma_hca_handles", "Current number of RDMA HCA handles", labels: deviceLabels)
    static let rdmaObjects = gauge(
        "ceems_compute_unit_rdma_hca_objects", "Current number of RDMA HCA objects", labels: deviceLabels)
    static let collectError = gauge("ceems_compute_collect_error", "Indicates collection error, 0=no error, 1=error")
    static let gpuSMCount = gauge(
        "ceems_compute_unit_gpu_sm_count", "Number of SMs/CUs in the GPU instance", labels: gpuLabels)

    static let gpuFlag: [ResourceManager: MetricDescriptor] = [
        .slurm: gauge(
            "ceems_compute_unit_gpu_index_flag", "A value > 0 indicates the job using current GPU", labels: gpuLabels),
        .libvirt: gauge(
            "ceems_compute_unit_gpu_index_flag", "A value > 0 indicates running instance using current GPU",
            labels: gpuLabels),
        .k8s: gauge(
            "ceems_compute_unit_gpu_index_flag", "A value > 0 indicates the pod using current GPU", labels: gpuLabels),
    ]

    /// Adds a unit's cgroup metrics.
    static func add(
        _ stats: UnitStats, labels: [String], options: UnitStatsOptions, to sink: inout MetricSink
    ) {
        if let user = stats.cpuUser, let system = stats.cpuSystem {
            sink.add(cpuUser, user, labels)
            sink.add(cpuSystem, system, labels)
        }
        if let value = stats.cpus { sink.add(cpus, value, labels) }
        if let value = stats.memoryRSS { sink.add(memoryRSS, value, labels) }
        if let value = stats.memoryCache { sink.add(memoryCache, value, labels) }
        if let value = stats.memoryUsed { sink.add(memoryUsed, value, labels) }
        if let value = stats.memoryTotal { sink.add(memoryTotal, value, labels) }
        if let value = stats.memoryFailCount { sink.add(memoryFailCount, value, labels) }
        if options.swap {
            if let value = stats.swapUsed { sink.add(swapUsed, value, labels) }
            if let value = stats.swapTotal { sink.add(swapTotal, value, labels) }
            if let value = stats.swapFailCount { sink.add(swapFailCount, value, labels) }
        }
        if options.psi {
            if let value = stats.cpuPSI { sink.add(cpuPSI, value, labels) }
            if let value = stats.memoryPSI { sink.add(memoryPSI, value, labels) }
        }
        if options.blockIO {
            for io in stats.blockIO {
                let deviceLabels = labels + [io.device]
                if io.readBytes > 0 { sink.add(blkioReadBytes, io.readBytes, deviceLabels) }
                if io.writeBytes > 0 { sink.add(blkioWriteBytes, io.writeBytes, deviceLabels) }
                if io.readRequests > 0 { sink.add(blkioReadRequests, io.readRequests, deviceLabels) }
                if io.writeRequests > 0 { sink.add(blkioWriteRequests, io.writeRequests, deviceLabels) }
            }
        }
        for rdma in stats.rdma where rdma.handles > 0 {
            // hca_objects carries the handle count, as the reference does (kept for existing dashboards).
            sink.add(rdmaHandles, rdma.handles, labels + [rdma.device])
            sink.add(rdmaObjects, rdma.handles, labels + [rdma.device])
        }
    }
}
