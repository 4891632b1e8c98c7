import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import CLinuxSupport
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Hardware, software and cache events per unit (exporter.md §7.12 perf): one `perf_event_open` counter per
/// (process, event), opened when a unit's process is first seen and closed when it is gone; the unit's value is
/// the sum over its processes of each counter scaled by time enabled / time running. Events the CPU or the
/// hypervisor does not offer are found at the first open and skipped from then on, with one log line.
final class PerfSubCollector: UnitSubCollector {
    let name = "perf"

    /// A profiler name of the flags, its perf type/config and its metric.
    struct Event: Sendable {
        var profiler: String
        var type: UInt32
        var config: UInt64
        var descriptor: MetricDescriptor
    }

    static let labels = ["manager", "hostname", "uuid"]

    static func counter(_ name: String, _ help: String) -> MetricDescriptor {
        MetricDescriptor("ceems_perf_" + name, help: help, type: .counter, labels: labels)
    }

    // PERF_TYPE_HARDWARE = 0, PERF_TYPE_SOFTWARE = 1, PERF_TYPE_HW_CACHE = 3 (linux/perf_event.h).
    static let hardware: [Event] = [
        Event(profiler: "CpuCycles", type: 0, config: 0, descriptor: counter("cpucycles_total", "Number of CPU cycles (frequency scaled)")),
        Event(profiler: "CpuInstr", type: 0, config: 1, descriptor: counter("instructions_total", "Number of CPU instructions")),
        Event(profiler: "CacheRef", type: 0, config: 2, descriptor: counter("cache_refs_total", "Number of cache references (non frequency scaled)")),
        Event(profiler: "CacheMisses", type: 0, config: 3, descriptor: counter("cache_misses_total", "Number of cache misses")),
        Event(profiler: "BranchInstr", type: 0, config: 4, descriptor: counter("branch_instructions_total", "Number of CPU branch instructions")),
        Event(profiler: "BranchMisses", type: 0, config: 5, descriptor: counter("branch_misses_total", "Number of CPU branch misses")),
        Event(profiler: "RefCpuCycles", type: 0, config: 9, descriptor: counter("ref_cpucycles_total", "Number of CPU cycles")),
    ]

    static let software: [Event] = [
        Event(profiler: "PageFault", type: 1, config: 2, descriptor: counter("page_faults_total", "Number of page faults")),
        Event(profiler: "ContextSwitch", type: 1, config: 3, descriptor: counter("context_switches_total", "Number of context switches")),
        Event(profiler: "CpuMigration", type: 1, config: 4, descriptor: counter("cpu_migrations_total", "Number of CPU process migrations")),
        Event(profiler: "MinorFault", type: 1, config: 5, descriptor: counter("minor_faults_total", "Number of minor page faults")),
        Event(profiler: "MajorFault", type: 1, config: 6, descriptor: counter("major_faults_total", "Number of major page faults")),
    ]

    /// Cache events: cache id | operation << 8 | result << 16.
    static func cache(_ profiler: String, _ id: UInt64, _ write: Bool, _ miss: Bool, _ name: String, _ help: String) -> Event {
        Event(
            profiler: profiler, type: 3, config: id | (write ? 1 : 0) << 8 | (miss ? 1 : 0) << 16,
            descriptor: counter(name, help))
    }

    static let caches: [Event] = [
        cache("L1DataReadHit", 0, false, false, "cache_l1d_read_hits_total", "Number L1 data cache read hits"),
        cache("L1DataReadMiss", 0, false, true, "cache_l1d_read_misses_total", "Number L1 data cache read misses"),
        cache("L1DataWriteHit", 0, true, false, "cache_l1d_write_hits_total", "Number L1 data cache write hits"),
        cache("L1InstrReadMiss", 1, false, true, "cache_l1_instr_read_misses_total", "Number instruction L1 instruction read misses"),
        cache("InstrTLBReadHit", 4, false, false, "cache_tlb_instr_read_hits_total", "Number instruction TLB read hits"),
        cache("InstrTLBReadMiss", 4, false, true, "cache_tlb_instr_read_misses_total", "Number instruction TLB read misses"),
        cache("LLReadHit", 2, false, false, "cache_ll_read_hits_total", "Number last level read hits"),
        cache("LLReadMiss", 2, false, true, "cache_ll_read_misses_total", "Number last level read misses"),
        cache("LLWriteHit", 2, true, false, "cache_ll_write_hits_total", "Number last level write hits"),
        cache("LLWriteMiss", 2, true, true, "cache_ll_write_misses_total", "Number last level write misses"),
        cache("BPUReadHit", 5, false, false, "cache_bpu_read_hits_total", "Number BPU read hits"),
        cache("BPUReadMiss", 5, false, true, "cache_bpu_read_misses_total", "Number BPU read misses"),
    ]

    enum SetupError: Error, CustomStringConvertible {
        case paranoid(Int)
        case unknownProfiler(String)

        var description: String {
            switch self {
            case .paranoid(let level):
                "perf events need /proc/sys/kernel/perf_event_paranoid ≤ 2 (it is \(level))"
            case .unknownProfiler(let name): "unknown perf profiler \(name)"
            }
        }
    }

    /// Open counters of one process: event index → fd (events unsupported for it are absent).
    struct Process {
        var fds: [Int: Int32] = [:]
    }

    struct State {
        var processes: [Int32: Process] = [:]
        /// Events the kernel refused with "not supported" (never retried).
        var unsupported: Set<Int> = []
    }

    let events: [Event]
    let manager: ResourceManager
    let hostname: String
    let procfs: String
    let environmentPrefixes: [String]
    let excludeKernel: Bool
    let state = Mutex(State())
    let logger: Logger

    init(options: ExporterConfiguration.PerfOptions, manager: ResourceManager, hostname: String, fs: LinuxFS, logger: Logger)
        throws
    {
        let paranoid = (try? SystemFile.readString(fs.proc("sys", "kernel", "perf_event_paranoid")))
            .flatMap { Int($0.trimmingSpaces()) } ?? 2
        if paranoid > 2 { throw SetupError.paranoid(paranoid) }
        func select(_ enabled: Bool, _ all: [Event], _ names: [String]) throws -> [Event] {
            guard enabled else { return [] }
            guard !names.isEmpty else { return all }
            return try names.map { name in
                guard let event = all.first(where: { $0.profiler == name }) else { throw SetupError.unknownProfiler(name) }
                return event
            }
        }
        events =
            try select(options.hardwareEvents, Self.hardware, options.hardwareProfilers)
            + select(options.softwareEvents, Self.software, options.softwareProfilers)
            + select(options.cacheEvents, Self.caches, options.cacheProfilers)
        self.manager = manager
        self.hostname = hostname
        procfs = fs.procfs
        environmentPrefixes = options.environmentVariables
        // Unprivileged at paranoid 2 may count only user space; root (or CAP_PERFMON) counts both.
        excludeKernel = geteuid() != 0 && paranoid >= 2
        self.logger = logger
    }

    func shutdown() async {
        state.withLock { state in
            for process in state.processes.values { for fd in process.fds.values { close(fd) } }
            state.processes = [:]
        }
    }

    /// SLURM's own processes of a job, ignored when filtering by environment (they carry the job's variables).
    static func isSlurmHelper(_ commandLine: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: commandLine.prefix(256), as: UTF8.self).replacingNUL()
        return text.hasPrefix("slurmstepd:") || text.hasPrefix("sleep ")
            || (text.hasPrefix("/bin/bash ") && text.contains("slurm_script"))
    }

    func selected(_ pid: Int32, buffer: inout [UInt8]) -> Bool {
        guard !environmentPrefixes.isEmpty else { return true }
        if manager == .slurm, let count = try? SystemFile.read(procfs + "/\(pid)/cmdline", into: &buffer),
            Self.isSlurmHelper(buffer[..<count])
        {
            return false
        }
        guard let count = try? SystemFile.read(procfs + "/\(pid)/environ", into: &buffer) else { return false }
        return ProcessEnvironment.hasEntry(startingWithOneOf: environmentPrefixes, in: buffer[..<count])
    }

    func collect(units: [ComputeUnit], collector: ComputeUnitCollector, into sink: inout MetricSink) async throws {
        // Reading environments and opening counters on other users' processes are privileged actions.
        let totals = Privileges.perform([.perfmon, .sysPtrace, .dacReadSearch]) {
            var buffer: [UInt8] = []
            var pidsByUnit: [(String, [Int32])] = []
            for unit in units {
                let pids = collector.processes(of: unit, buffer: &buffer).filter { selected($0, buffer: &buffer) }
                pidsByUnit.append((unit.uuid, pids))
            }
            return state.withLock { state in measure(pidsByUnit, state: &state) }
        }
        for (uuid, values) in totals {
            for (index, value) in values.sorted(by: { $0.key < $1.key }) where value > 0 {
                sink.add(events[index].descriptor, value, [manager.rawValue, hostname, uuid])
            }
        }
    }

    /// Opens counters for new processes, reads all, closes those of processes gone; uuid → event → value.
    func measure(_ pidsByUnit: [(String, [Int32])], state: inout State) -> [(String, [Int: Double])] {
        var seen: Set<Int32> = []
        var totals: [(String, [Int: Double])] = []
        for (uuid, pids) in pidsByUnit {
            var values: [Int: Double] = [:]
            for pid in pids where seen.insert(pid).inserted {
                if state.processes[pid] == nil { state.processes[pid] = open(pid, state: &state) }
                for (index, fd) in state.processes[pid]?.fds ?? [:] {
                    var value: UInt64 = 0
                    var enabled: UInt64 = 0
                    var running: UInt64 = 0
                    guard ceems_perf_read(fd, &value, &enabled, &running) == 0, running > 0 else { continue }
                    values[index, default: 0] += Double(value) * Double(enabled) / Double(running)
                }
            }
            totals.append((uuid, values))
        }
        for (pid, process) in state.processes where !seen.contains(pid) {
            for fd in process.fds.values { close(fd) }
            state.processes[pid] = nil
        }
        return totals
    }

    func open(_ pid: Int32, state: inout State) -> Process {
        var process = Process()
        for (index, event) in events.enumerated() where !state.unsupported.contains(index) {
            let fd = ceems_perf_event_open(event.type, event.config, pid, excludeKernel ? 1 : 0)
            if fd >= 0 {
                process.fds[index] = fd
            } else if fd == -ENOENT || fd == -EOPNOTSUPP || fd == -ENODEV || fd == -EINVAL {
                // Not offered by this CPU or hypervisor: skipped for good, said once.
                state.unsupported.insert(index)
                logger.info(
                    "perf event not supported here; skipped",
                    metadata: ["event": "\(event.profiler)", "err": "\(String(cString: strerror(-fd)))"])
            } else {
                logger.debug(
                    "perf_event_open failed", metadata: ["pid": "\(pid)", "event": "\(event.profiler)", "errno": "\(-fd)"])
            }
        }
        return process
    }
}

extension String {
    fileprivate func replacingNUL() -> String { String(map { $0 == "\0" ? " " : $0 }) }
}
