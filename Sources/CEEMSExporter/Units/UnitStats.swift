import CEEMSCore
import CEEMSLinux

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

    static let unlimited: UInt64 = .max

    func read(_ relative: String, buffer: inout [UInt8]) -> UnitStats {
        switch layout.version {
        case .v2: readV2(layout.root + relative, buffer: &buffer)
        case .v1: readV1(relative, buffer: &buffer)
        }
    }

    /// Reads a file; nil when it does not exist (or cannot be read).
    private func content(_ path: String, _ buffer: inout [UInt8]) -> ArraySlice<UInt8>? {
        guard let count = try? SystemFile.read(path, into: &buffer, limit: 1 << 20) else { return nil }
        return buffer[..<count]
    }

    /// Two keyed values of a control file (nil when absent); a file without them is recorded as failed.
    private func pair(
        _ directory: String, _ name: String, _ keys: [StaticString], _ stats: inout UnitStats, _ present: inout Int,
        _ buffer: inout [UInt8]
    ) -> (UInt64, UInt64)? {
        guard let bytes = content(directory + "/" + name, &buffer) else { return nil }
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
        _ directory: String, _ name: String, _ stats: inout UnitStats, _ present: inout Int, _ buffer: inout [UInt8]
    ) -> Double? {
        guard let bytes = content(directory + "/" + name, &buffer) else { return nil }
        present += 1
        guard let value = CgroupFiles.singleValue(bytes) else {
            stats.failedFiles.append(name)
            return nil
        }
        return Double(value)
    }

    private func readV2(_ directory: String, buffer: inout [UInt8]) -> UnitStats {
        var stats = UnitStats()
        var present = 0
        if let (user, system) = pair(directory, "cpu.stat", ["user_usec", "system_usec"], &stats, &present, &buffer) {
            stats.cpuUser = Double(user) / 1e6
            stats.cpuSystem = Double(system) / 1e6
        }
        if let (anon, file) = pair(directory, "memory.stat", ["anon", "file"], &stats, &present, &buffer) {
            stats.memoryRSS = Double(anon)
            stats.memoryCache = Double(file)
        }
        stats.memoryUsed = single(directory, "memory.current", &stats, &present, &buffer)
        if let bytes = content(directory + "/memory.max", &buffer) {
            stats.memoryTotal = limit(bytes, fallbacks: [hostMemoryTotal])
            if stats.memoryTotal == nil { stats.failedFiles.append("memory.max") }
        }
        if let bytes = content(directory + "/memory.events", &buffer) {
            stats.memoryFailCount = CgroupFiles.keyedValues(bytes, keys: ["oom"])[0].map { Double($0) } ?? 0
        }
        if options.swap {
            if let bytes = content(directory + "/memory.swap.current", &buffer) {
                stats.swapUsed = CgroupFiles.singleValue(bytes).map { Double($0) }
                stats.swapFailCount = 0
            }
            if let bytes = content(directory + "/memory.swap.max", &buffer) {
                stats.swapTotal = limit(bytes, fallbacks: [hostSwapTotal, hostMemoryTotal])
            }
        }
        if options.psi {
            stats.cpuPSI =
                content(directory + "/cpu.pressure", &buffer).flatMap(CgroupFiles.pressureFullTotal)
                .map { Double($0) / 1e6 } ?? 0
            stats.memoryPSI =
                content(directory + "/memory.pressure", &buffer).flatMap(CgroupFiles.pressureFullTotal)
                .map { Double($0) / 1e6 } ?? 0
        }
        if options.blockIO, let bytes = content(directory + "/io.stat", &buffer) {
            stats.blockIO = CgroupFiles.ioStat(bytes).map { io in
                BlockIO(
                    device: deviceNames[io.device] ?? io.device, readBytes: Double(io.readBytes),
                    writeBytes: Double(io.writeBytes), readRequests: Double(io.readRequests),
                    writeRequests: Double(io.writeRequests))
            }
        }
        if let bytes = content(directory + "/rdma.current", &buffer) {
            stats.rdma = CgroupFiles.rdmaCurrent(bytes).map { ($0.device, Double($0.handles)) }
        }
        if options.cpusFromWeight {
            if let bytes = content(directory + "/cpu.weight", &buffer), let weight = CgroupFiles.singleValue(bytes) {
                stats.cpus = Self.cpus(fromShares: Self.shares(fromWeight: weight))
            }
        } else if let bytes = content(directory + "/cpuset.cpus.effective", &buffer) {
            stats.cpus = CgroupFiles.cpusetCount(bytes).map { Double($0) }
        } else {
            stats.cpus = 0
        }
        stats.vanished = present == 0 && !Directory.exists(directory)
        return stats
    }

    private func readV1(_ relative: String, buffer: inout [UInt8]) -> UnitStats {
        var stats = UnitStats()
        var present = 0
        let cpuacct = layout.root + "/" + layout.v1ControllerDirectory("cpuacct") + relative
        let memory = layout.root + "/memory" + relative
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
        if let bytes = content(memory + "/memory.limit_in_bytes", &buffer) {
            stats.memoryTotal = limit(bytes, fallbacks: [hostMemoryTotal])
        }
        if let bytes = content(memory + "/memory.failcnt", &buffer) {
            stats.memoryFailCount = CgroupFiles.singleValue(bytes).map { Double($0) }
        }
        if options.swap {
            if let bytes = content(memory + "/memory.memsw.usage_in_bytes", &buffer) {
                stats.swapUsed = CgroupFiles.singleValue(bytes).map { Double($0) }
            }
            if let bytes = content(memory + "/memory.memsw.limit_in_bytes", &buffer) {
                stats.swapTotal = limit(bytes, fallbacks: [hostSwapTotal, hostMemoryTotal])
            }
            if let bytes = content(memory + "/memory.memsw.failcnt", &buffer) {
                stats.swapFailCount = CgroupFiles.singleValue(bytes).map { Double($0) }
            }
        }
        if options.psi {
            stats.cpuPSI = 0
            stats.memoryPSI = 0
        }
        if options.blockIO {
            let blkio = layout.root + "/blkio" + relative
            var bytesFile = content(blkio + "/blkio.io_service_bytes_recursive", &buffer).map(CgroupFiles.blkioV1) ?? []
            if bytesFile.isEmpty {
                bytesFile =
                    content(blkio + "/blkio.throttle.io_service_bytes_recursive", &buffer).map(CgroupFiles.blkioV1)
                    ?? []
            }
            var requests = content(blkio + "/blkio.io_serviced_recursive", &buffer).map(CgroupFiles.blkioV1) ?? []
            if requests.isEmpty {
                requests =
                    content(blkio + "/blkio.throttle.io_serviced_recursive", &buffer).map(CgroupFiles.blkioV1) ?? []
            }
            var byDevice: [String: BlockIO] = [:]
            var order: [String] = []
            for entry in bytesFile {
                let name = deviceNames[entry.device] ?? entry.device
                if byDevice[name] == nil { order.append(name) }
                byDevice[
                    name, default: BlockIO(device: name, readBytes: 0, writeBytes: 0, readRequests: 0, writeRequests: 0)
                ]
                .readBytes = Double(entry.read)
                byDevice[name]!.writeBytes = Double(entry.write)
            }
            for entry in requests {
                let name = deviceNames[entry.device] ?? entry.device
                if byDevice[name] == nil { order.append(name) }
                byDevice[
                    name, default: BlockIO(device: name, readBytes: 0, writeBytes: 0, readRequests: 0, writeRequests: 0)
                ]
                .readRequests = Double(entry.read)
                byDevice[name]!.writeRequests = Double(entry.write)
            }
            stats.blockIO = order.compactMap { byDevice[$0] }
        }
        if let bytes = content(layout.root + "/rdma" + relative + "/rdma.current", &buffer) {
            stats.rdma = CgroupFiles.rdmaCurrent(bytes).map { ($0.device, Double($0.handles)) }
        }
        if options.cpusFromWeight {
            let cpu = layout.root + "/" + layout.v1ControllerDirectory("cpu") + relative
            if let bytes = content(cpu + "/cpu.shares", &buffer), let shares = CgroupFiles.singleValue(bytes) {
                stats.cpus = Self.cpus(fromShares: shares)
            }
        } else if let bytes = content(layout.root + "/cpuset" + relative + "/cpuset.cpus", &buffer) {
            stats.cpus = CgroupFiles.cpusetCount(bytes).map { Double($0) }
        } else {
            stats.cpus = 0
        }
        stats.vanished = present == 0 && !Directory.exists(cpuacct) && !Directory.exists(memory)
        return stats
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
