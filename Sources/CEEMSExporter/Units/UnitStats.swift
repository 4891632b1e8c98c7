import CEEMSCore
import CEEMSLinux
import Synchronization

/// Block IO of a unit on one device.
struct BlockIO: Sendable, Equatable {
    var device: String
    var readBytes: Double
    var writeBytes: Double
    var readRequests: Double
    var writeRequests: Double
}

/// What one scrape read of a unit's cgroup. A nil value means the file was absent (a controller not enabled
/// for this cgroup): its metrics are simply not exported.
struct UnitStats: Sendable, Equatable {
    var cpuUser: Double?
    var cpuSystem: Double?
    var cpus: Double?
    var memoryRSS: Double?
    var memoryCache: Double?
    var memoryUsed: Double?
    var memoryTotal: Double?
    var memoryFailCount: Double?
    var swapUsed: Double?
    var swapTotal: Double?
    var swapFailCount: Double?
    var cpuPSI: Double?
    var memoryPSI: Double?
    var blockIO: [BlockIO] = []
    var rdma: [(device: String, handles: Double)] = []
    /// Every control file was missing: the cgroup went away during the scrape.
    var vanished = false
    /// `cgroup.events` `populated` when asked for and present (v2).
    var populated: Bool?
    /// A file held garbage.
    var failedFiles: [String] = []

    static func == (lhs: UnitStats, rhs: UnitStats) -> Bool {
        lhs.cpuUser == rhs.cpuUser && lhs.cpuSystem == rhs.cpuSystem && lhs.cpus == rhs.cpus
            && lhs.memoryRSS == rhs.memoryRSS && lhs.memoryUsed == rhs.memoryUsed && lhs.vanished == rhs.vanished
            && lhs.blockIO == rhs.blockIO && lhs.rdma.map(\.device) == rhs.rdma.map(\.device)
    }
}

/// Which optional groups of files to read.
struct UnitStatsOptions: Sendable, Equatable {
    var swap = false
    var psi = false
    var blockIO = false
    /// How to count CPUs: from the cpuset (SLURM, libvirt) or the CPU weight/shares (Kubernetes).
    var cpusFromWeight = false
    /// Also read `cgroup.events` (v2) to tell whether the unit still has processes (SLURM's stale cgroups).
    var populated = false
}

/// Reads the control files of units, parsing bytes into a reused buffer.
struct UnitStatsReader: Sendable {
    let layout: CgroupLayout
    let options: UnitStatsOptions
    /// Host `MemTotal`/`SwapTotal` in bytes (read once at start), for unlimited (`max`) limits.
    let hostMemoryTotal: Double
    let hostSwapTotal: Double
    /// Block device names by `major:minor` (read once at start).
    let deviceNames: [String: String]
    /// Controllers the hierarchy has (v2 root `cgroup.controllers`, v1 mounted hierarchies); nil when unknown.
    /// Files of a missing controller are not looked for.
    let controllers: Set<String>?
    /// Limits (memory and swap maxima, CPUs) change seldom if ever during a unit's life: they are read again
    /// after `limitsMaximumAge` rather than on every scrape, which spares a quarter of the files of a scrape.
    let limits: UnitLimitsCache

    static let unlimited: UInt64 = .max

    init(
        layout: CgroupLayout, options: UnitStatsOptions, hostMemoryTotal: Double, hostSwapTotal: Double,
        deviceNames: [String: String], limitsMaximumAge: Duration = .seconds(60)
    ) {
        self.layout = layout
        self.options = options
        self.hostMemoryTotal = hostMemoryTotal
        self.hostSwapTotal = hostSwapTotal
        self.deviceNames = deviceNames
        self.controllers = Self.availableControllers(layout)
        self.limits = UnitLimitsCache(maximumAge: limitsMaximumAge)
    }

    /// v2: the root's `cgroup.controllers` (no descendant has a controller its root lacks); v1: the mounted
    /// hierarchies. Nil when the root does not say (a recorded tree), and then every file is tried.
    static func availableControllers(_ layout: CgroupLayout) -> Set<String>? {
        switch layout.version {
        case .v2:
            guard let text = try? SystemFile.readString(layout.root + "/cgroup.controllers", limit: 4096) else {
                return nil
            }
            return Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        case .v1:
            guard let entries = try? Directory.entries(layout.root) else { return nil }
            return Set(entries.flatMap { $0.name.split(separator: ",").map(String.init) })
        }
    }

    private func has(_ controller: String) -> Bool {
        controllers?.contains(controller) ?? true
    }

    func read(_ relative: String, buffer: inout [UInt8]) -> UnitStats {
        switch layout.version {
        case .v2: readV2(relative, buffer: &buffer)
        case .v1: readV1(relative, buffer: &buffer)
        }
    }

    /// Reads a control file of a cgroup directory; nil when the directory or the file does not exist.
    private func content(_ directory: DirectoryHandle?, _ name: String, _ buffer: inout [UInt8]) -> ArraySlice<UInt8>? {
        guard let directory, let count = try? directory.read(name, into: &buffer) else { return nil }
        return buffer[..<count]
    }

    /// Two keyed values of a control file (nil when absent); a file without them is recorded as failed.
    private func pair(
        _ directory: DirectoryHandle?, _ name: String, _ keys: [StaticString], _ stats: inout UnitStats,
        _ present: inout Int, _ buffer: inout [UInt8]
    ) -> (UInt64, UInt64)? {
        guard let bytes = content(directory, name, &buffer) else { return nil }
        present += 1
        let values = CgroupFiles.keyedValues(bytes, keys: keys)
        guard let first = values[0], let second = values[1] else {
            stats.failedFiles.append(name)
            return nil
        }
        return (first, second)
    }

    /// The number in a single-value control file (nil when absent); garbage is recorded as failed.
    private func single(
        _ directory: DirectoryHandle?, _ name: String, _ stats: inout UnitStats, _ present: inout Int,
        _ buffer: inout [UInt8]
    ) -> Double? {
        guard let bytes = content(directory, name, &buffer) else { return nil }
        present += 1
        guard let value = CgroupFiles.singleValue(bytes) else {
            stats.failedFiles.append(name)
            return nil
        }
        return Double(value)
    }

    private func readV2(_ relative: String, buffer: inout [UInt8]) -> UnitStats {
        let path = layout.root + relative
        var stats = UnitStats()
        guard let directory = DirectoryHandle(path) else {
            stats.vanished = true
            return stats
        }
        var present = 0
        if options.populated, let bytes = content(directory, "cgroup.events", &buffer) {
            stats.populated = CgroupFiles.populated(bytes)
        }
        if let (user, system) = pair(directory, "cpu.stat", ["user_usec", "system_usec"], &stats, &present, &buffer) {
            stats.cpuUser = Double(user) / 1e6
            stats.cpuSystem = Double(system) / 1e6
        }
        if has("memory") {
            if let (anon, file) = pair(directory, "memory.stat", ["anon", "file"], &stats, &present, &buffer) {
                stats.memoryRSS = Double(anon)
                stats.memoryCache = Double(file)
            }
            stats.memoryUsed = single(directory, "memory.current", &stats, &present, &buffer)
            if let bytes = content(directory, "memory.events", &buffer) {
                stats.memoryFailCount = CgroupFiles.keyedValues(bytes, keys: ["oom"])[0].map { Double($0) } ?? 0
            }
            if options.swap {
                if let bytes = content(directory, "memory.swap.current", &buffer) {
                    stats.swapUsed = CgroupFiles.singleValue(bytes).map { Double($0) }
                    stats.swapFailCount = 0
                }
            }
        }
        if options.psi {
            stats.cpuPSI =
                content(directory, "cpu.pressure", &buffer).flatMap(CgroupFiles.pressureFullTotal)
                .map { Double($0) / 1e6 } ?? 0
            stats.memoryPSI =
                content(directory, "memory.pressure", &buffer).flatMap(CgroupFiles.pressureFullTotal)
                .map { Double($0) / 1e6 } ?? 0
        }
        if options.blockIO && has("io"), let bytes = content(directory, "io.stat", &buffer) {
            stats.blockIO = CgroupFiles.ioStat(bytes).map { io in
                BlockIO(
                    device: deviceNames[io.device] ?? io.device, readBytes: Double(io.readBytes),
                    writeBytes: Double(io.writeBytes), readRequests: Double(io.readRequests),
                    writeRequests: Double(io.writeRequests))
            }
        }
        if has("rdma"), let bytes = content(directory, "rdma.current", &buffer) {
            stats.rdma = CgroupFiles.rdmaCurrent(bytes).map { ($0.device, Double($0.handles)) }
        }
        // Every file gone while the directory was open: the cgroup was removed during the scrape.
        stats.vanished = present == 0 && !Directory.exists(path)
        if !stats.vanished {
            apply(limits.cached(relative) ?? limits.store(readLimitsV2(directory, &buffer), for: relative), to: &stats)
        }
        return stats
    }

    /// The limits of a v2 cgroup: memory and swap maxima, CPUs (cpuset or weight).
    private func readLimitsV2(_ directory: DirectoryHandle, _ buffer: inout [UInt8]) -> UnitLimits {
        var limits = UnitLimits()
        if has("memory") {
            if let bytes = content(directory, "memory.max", &buffer) {
                limits.memoryTotal = limit(bytes, fallbacks: [hostMemoryTotal])
                if limits.memoryTotal == nil { limits.failedFiles.append("memory.max") }
            }
            if options.swap, let bytes = content(directory, "memory.swap.max", &buffer) {
                limits.swapTotal = limit(bytes, fallbacks: [hostSwapTotal, hostMemoryTotal])
            }
        }
        if options.cpusFromWeight {
            if let bytes = content(directory, "cpu.weight", &buffer), let weight = CgroupFiles.singleValue(bytes) {
                limits.cpus = Self.cpus(fromShares: Self.shares(fromWeight: weight))
            }
        } else if has("cpuset"), let bytes = content(directory, "cpuset.cpus.effective", &buffer) {
            limits.cpus = CgroupFiles.cpusetCount(bytes).map { Double($0) }
        } else {
            limits.cpus = 0
        }
        return limits
    }

    private func apply(_ limits: UnitLimits, to stats: inout UnitStats) {
        stats.memoryTotal = limits.memoryTotal
        stats.swapTotal = limits.swapTotal
        stats.cpus = limits.cpus
        stats.failedFiles += limits.failedFiles
    }

    private func readV1(_ relative: String, buffer: inout [UInt8]) -> UnitStats {
        var stats = UnitStats()
        var present = 0
        // One handle per controller hierarchy the unit is read from.
        let cpuacct = DirectoryHandle(layout.root + "/" + layout.v1ControllerDirectory("cpuacct") + relative)
        let memory = has("memory") ? DirectoryHandle(layout.root + "/memory" + relative) : nil
        if let (user, system) = pair(cpuacct, "cpuacct.stat", ["user", "system"], &stats, &present, &buffer) {
            // USER_HZ ticks → nanoseconds → seconds, as the reference computes them.
            stats.cpuUser = Double(user &* 10_000_000) / 1e9
            stats.cpuSystem = Double(system &* 10_000_000) / 1e9
        }
        if let (rss, cache) = pair(memory, "memory.stat", ["total_rss", "total_cache"], &stats, &present, &buffer) {
            stats.memoryRSS = Double(rss)
            stats.memoryCache = Double(cache)
        }
        stats.memoryUsed = single(memory, "memory.usage_in_bytes", &stats, &present, &buffer)
        if let bytes = content(memory, "memory.failcnt", &buffer) {
            stats.memoryFailCount = CgroupFiles.singleValue(bytes).map { Double($0) }
        }
        if options.swap {
            if let bytes = content(memory, "memory.memsw.usage_in_bytes", &buffer) {
                stats.swapUsed = CgroupFiles.singleValue(bytes).map { Double($0) }
            }
            if let bytes = content(memory, "memory.memsw.failcnt", &buffer) {
                stats.swapFailCount = CgroupFiles.singleValue(bytes).map { Double($0) }
            }
        }
        if options.psi {
            stats.cpuPSI = 0
            stats.memoryPSI = 0
        }
        if options.blockIO {
            let blkio = has("blkio") ? DirectoryHandle(layout.root + "/blkio" + relative) : nil
            let bytesFile = blkioV1(blkio, "io_service_bytes_recursive", &buffer)
            let requests = blkioV1(blkio, "io_serviced_recursive", &buffer)
            var byDevice: [String: BlockIO] = [:]
            var order: [String] = []
            func slot(_ device: String) -> String {
                let name = deviceNames[device] ?? device
                if byDevice[name] == nil {
                    order.append(name)
                    byDevice[name] = BlockIO(
                        device: name, readBytes: 0, writeBytes: 0, readRequests: 0, writeRequests: 0)
                }
                return name
            }
            for entry in bytesFile {
                let name = slot(entry.device)
                byDevice[name]!.readBytes = Double(entry.read)
                byDevice[name]!.writeBytes = Double(entry.write)
            }
            for entry in requests {
                let name = slot(entry.device)
                byDevice[name]!.readRequests = Double(entry.read)
                byDevice[name]!.writeRequests = Double(entry.write)
            }
            stats.blockIO = order.compactMap { byDevice[$0] }
        }
        if has("rdma"), let bytes = content(DirectoryHandle(layout.root + "/rdma" + relative), "rdma.current", &buffer)
        {
            stats.rdma = CgroupFiles.rdmaCurrent(bytes).map { ($0.device, Double($0.handles)) }
        }
        stats.vanished = present == 0 && cpuacct == nil && memory == nil
        if !stats.vanished {
            apply(
                limits.cached(relative) ?? limits.store(readLimitsV1(relative, memory, &buffer), for: relative),
                to: &stats)
        }
        return stats
    }

    /// The limits of a v1 unit: memory and memsw limits, CPUs (cpuset or shares).
    private func readLimitsV1(_ relative: String, _ memory: DirectoryHandle?, _ buffer: inout [UInt8]) -> UnitLimits {
        var limits = UnitLimits()
        if let bytes = content(memory, "memory.limit_in_bytes", &buffer) {
            limits.memoryTotal = limit(bytes, fallbacks: [hostMemoryTotal])
        }
        if options.swap, let bytes = content(memory, "memory.memsw.limit_in_bytes", &buffer) {
            limits.swapTotal = limit(bytes, fallbacks: [hostSwapTotal, hostMemoryTotal])
        }
        if options.cpusFromWeight {
            let cpu = DirectoryHandle(layout.root + "/" + layout.v1ControllerDirectory("cpu") + relative)
            if let bytes = content(cpu, "cpu.shares", &buffer), let shares = CgroupFiles.singleValue(bytes) {
                limits.cpus = Self.cpus(fromShares: shares)
            }
        } else if has("cpuset"),
            let bytes = content(DirectoryHandle(layout.root + "/cpuset" + relative), "cpuset.cpus", &buffer)
        {
            limits.cpus = CgroupFiles.cpusetCount(bytes).map { Double($0) }
        } else {
            limits.cpus = 0
        }
        return limits
    }

    /// A v1 blkio file (`blkio.<name>`), or its `blkio.throttle.<name>` twin when the first is absent or empty
    /// (kernels without CFQ/BFQ fill only the throttle files).
    private func blkioV1(
        _ directory: DirectoryHandle?, _ name: String, _ buffer: inout [UInt8]
    ) -> [(device: String, read: UInt64, write: UInt64)] {
        let direct = content(directory, "blkio." + name, &buffer).map(CgroupFiles.blkioV1) ?? []
        guard direct.isEmpty else { return direct }
        return content(directory, "blkio.throttle." + name, &buffer).map(CgroupFiles.blkioV1) ?? []
    }

    /// A limit file: a number, or the first positive host fallback for "no limit" (`max`, 2^64−1).
    private func limit(_ bytes: ArraySlice<UInt8>, fallbacks: [Double]) -> Double? {
        let value: UInt64
        if CgroupFiles.isMax(bytes) {
            value = Self.unlimited
        } else if let number = CgroupFiles.singleValue(bytes) {
            value = number
        } else {
            return nil
        }
        if value == Self.unlimited, let fallback = fallbacks.first(where: { $0 > 0 }) { return fallback }
        return Double(value)
    }

    /// cgroup v2 `cpu.weight` (1–10000) back to v1 shares (2–262144), the conversion the kernel documents.
    static func shares(fromWeight weight: UInt64) -> UInt64 {
        guard weight >= 1 else { return 2 }
        let shares = ((weight - 1) * 262_142) / 9999 + 2
        return min(max(shares, 2), 262_144)
    }

    /// Shares to CPUs: 1024 shares are one CPU (integer milli-CPUs, as the reference).
    static func cpus(fromShares shares: UInt64) -> Double {
        let clamped = min(max(shares, 2), 262_144)
        return Double(clamped * 1000 / 1024) / 1000
    }
}

/// The limits of a unit, as last read.
struct UnitLimits: Sendable {
    var memoryTotal: Double?
    var swapTotal: Double?
    var cpus: Double?
    var failedFiles: [String] = []
}

/// Limits by unit path, each kept until it is `maximumAge` old; entries of units gone are dropped by `prune`.
final class UnitLimitsCache: Sendable {
    private struct Entry {
        var limits: UnitLimits
        var readAt: ContinuousClock.Instant
    }

    let maximumAge: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(maximumAge: Duration) {
        self.maximumAge = maximumAge
    }

    func cached(_ path: String) -> UnitLimits? {
        guard maximumAge > .zero else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[path], now - entry.readAt < maximumAge else { return nil }
            return entry.limits
        }
    }

    func store(_ limits: UnitLimits, for path: String) -> UnitLimits {
        guard maximumAge > .zero else { return limits }
        // A limit file holding garbage is read again next time.
        if limits.failedFiles.isEmpty {
            entries.withLock { $0[path] = Entry(limits: limits, readAt: .now) }
        }
        return limits
    }

    /// Forgets the units not in `paths`.
    func prune(keeping paths: Set<String>) {
        entries.withLock { entries in entries = entries.filter { paths.contains($0.key) } }
    }
}
