import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging
import Synchronization

/// Node CPU time by mode (`/proc/stat`) and the CPU topology (`/proc/cpuinfo`, read once).
///
/// The kernel's counters can jitter backwards (iowait notably); the exported counters keep their maximum and
/// restart only when idle time goes back by 3 s or more (a real reset such as CPU hot-plug).
final class CPUCollector: Collector {
    let name = CollectorName.cpu.rawValue

    static let seconds = MetricDescriptor(
        "ceems_cpu_seconds_total", help: "Seconds the CPUs spent in each mode.", type: .counter,
        labels: ["hostname", "mode"])
    static let count = MetricDescriptor(
        "ceems_cpu_count", help: "Number of CPUs.", type: .gauge, labels: ["hostname"])
    static let perCore = MetricDescriptor(
        "ceems_cpu_per_core_count", help: "Number of logical CPUs per physical core.", type: .gauge,
        labels: ["hostname"])

    private let fs: LinuxFS
    private let hostname: String
    private let physicalCores: Int
    private let last = Mutex<CPUTimes?>(nil)

    init(fs: LinuxFS, hostname: String, assumeFourPhysicalCores: Bool) {
        self.fs = fs
        self.hostname = hostname
        if assumeFourPhysicalCores {
            physicalCores = 4
        } else if let bytes = try? SystemFile.readAll(fs.proc("cpuinfo")) {
            physicalCores = CPUInfo.parse(bytes[...]).physicalCores
        } else {
            physicalCores = 0
        }
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        var buffer: [UInt8] = []
        let length = try SystemFile.read(fs.proc("stat"), into: &buffer)
        let stat = try ProcStat.parse(buffer[..<length])
        let times = monotonic(stat.total)
        let modes: [(String, Double)] = [
            ("user", times.user), ("nice", times.nice), ("system", times.system), ("idle", times.idle),
            ("iowait", times.iowait), ("irq", times.irq), ("softirq", times.softirq), ("steal", times.steal),
        ]
        for (mode, value) in modes {
            sink.add(Self.seconds, value, [hostname, mode])
        }
        let logical = stat.cpuCount
        sink.add(Self.count, Double(logical), [hostname])
        let physical = physicalCores > 0 ? physicalCores : logical
        sink.add(Self.perCore, Double(max(1, physical > 0 ? logical / physical : 1)), [hostname])
    }

    /// Applies the never-decrease rule against the previous scrape.
    func monotonic(_ current: CPUTimes) -> CPUTimes {
        last.withLock { last in
            guard let previous = last, previous.idle - current.idle < 3 else {
                last = current
                return current
            }
            var merged = current
            merged.user = max(previous.user, current.user)
            merged.nice = max(previous.nice, current.nice)
            merged.system = max(previous.system, current.system)
            merged.idle = max(previous.idle, current.idle)
            merged.iowait = max(previous.iowait, current.iowait)
            merged.irq = max(previous.irq, current.irq)
            merged.softirq = max(previous.softirq, current.softirq)
            merged.steal = max(previous.steal, current.steal)
            last = merged
            return merged
        }
    }
}
