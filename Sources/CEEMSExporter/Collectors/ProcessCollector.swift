import CEEMSCore
import CEEMSLinux
import CEEMSMetrics

#if canImport(Glibc)
import Glibc
#endif

/// The exporter's own `process_*` metrics, as Go's client exports them (read from the real `/proc/self`).
struct ProcessCollector: Sendable {
    static let cpuSeconds = MetricDescriptor(
        "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", type: .counter)
    static let maxFDs = MetricDescriptor(
        "process_max_fds", help: "Maximum number of open file descriptors.", type: .gauge)
    static let openFDs = MetricDescriptor("process_open_fds", help: "Number of open file descriptors.", type: .gauge)
    static let residentMemory = MetricDescriptor(
        "process_resident_memory_bytes", help: "Resident memory size in bytes.", type: .gauge)
    static let startTime = MetricDescriptor(
        "process_start_time_seconds", help: "Start time of the process since unix epoch in seconds.", type: .gauge)
    static let virtualMemory = MetricDescriptor(
        "process_virtual_memory_bytes", help: "Virtual memory size in bytes.", type: .gauge)
    static let virtualMemoryMax = MetricDescriptor(
        "process_virtual_memory_max_bytes", help: "Maximum amount of virtual memory available in bytes.",
        type: .gauge)

    private let bootTime: Double
    private let ticksPerSecond: Double
    private let pageSize: Double

    init() {
        var buffer: [UInt8] = []
        if let count = try? SystemFile.read("/proc/stat", into: &buffer),
            let stat = try? ProcStat.parse(buffer[..<count]), let boot = stat.bootTime
        {
            bootTime = Double(boot)
        } else {
            bootTime = 0
        }
        ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
    }

    func collect(into sink: inout MetricSink) {
        var buffer: [UInt8] = []
        if let count = try? SystemFile.read("/proc/self/stat", into: &buffer),
            let stat = ProcessSelfStat.parse(buffer[..<count])
        {
            sink.add(Self.cpuSeconds, Double(stat.cpuTicks) / ticksPerSecond, [])
            sink.add(Self.residentMemory, Double(stat.residentPages) * pageSize, [])
            sink.add(Self.virtualMemory, Double(stat.virtualBytes), [])
            sink.add(Self.startTime, bootTime + Double(stat.startTicks) / ticksPerSecond, [])
        }
        if let entries = try? Directory.unsortedEntries("/proc/self/fd") {
            sink.add(Self.openFDs, Double(entries.count), [])
        }
        if let count = try? SystemFile.read("/proc/self/limits", into: &buffer) {
            if let files = ProcessLimits.softLimit("Max open files", in: buffer[..<count]) {
                sink.add(Self.maxFDs, files, [])
            }
            if let address = ProcessLimits.softLimit("Max address space", in: buffer[..<count]) {
                sink.add(Self.virtualMemoryMax, address, [])
            }
        }
    }
}

/// `ceems_exporter_build_info`, always exported.
enum BuildInfoMetric {
    static let descriptor = MetricDescriptor(
        "ceems_exporter_build_info",
        help:
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which ceems_exporter was built, and the goos and goarch for the build.",
        type: .gauge, labels: ["branch", "goarch", "goos", "goversion", "revision", "tags", "version"])

    static func collect(into sink: inout MetricSink) {
        sink.add(
            descriptor, 1,
            [
                BuildInfo.branch, BuildInfo.architecture, BuildInfo.operatingSystem, BuildInfo.toolchain,
                BuildInfo.revision, BuildInfo.tags, BuildInfo.version,
            ])
    }
}
