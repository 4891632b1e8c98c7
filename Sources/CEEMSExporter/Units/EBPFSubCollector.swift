import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import CLinuxSupport
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// VFS and TCP/UDP counters per unit from our BPF programs (bpf/ceems.bpf.c; exporter.md §7.12 eBPF): maps
/// keyed by cgroup id, summed over each unit's cgroup directories (their kernfs inode numbers), with mount ids
/// resolved to mount points.
final class EBPFSubCollector: UnitSubCollector {
    let name = "ebpf"

    static let ioLabels = ["manager", "hostname", "uuid", "mountpoint"]
    static let fileLabels = ["manager", "hostname", "uuid"]
    static let netLabels = ["manager", "hostname", "uuid", "proto", "family"]

    static func counter(_ name: String, _ help: String, _ labels: [String]) -> MetricDescriptor {
        MetricDescriptor("ceems_ebpf_" + name, help: help, type: .counter, labels: labels)
    }

    /// (bytes, requests, errors) of reads then writes.
    static let io: [(MetricDescriptor, MetricDescriptor, MetricDescriptor)] = [
        (
            counter("read_bytes_total", "Total number of bytes read from a cgroup in bytes", ioLabels),
            counter("read_requests_total", "Total number of read requests from a cgroup", ioLabels),
            counter("read_errors_total", "Total number of read errors from a cgroup", ioLabels)
        ),
        (
            counter("write_bytes_total", "Total number of bytes written from a cgroup in bytes", ioLabels),
            counter("write_requests_total", "Total number of write requests from a cgroup", ioLabels),
            counter("write_errors_total", "Total number of write errors from a cgroup", ioLabels)
        ),
    ]
    /// (requests, errors) of open, create, unlink.
    static let files: [(MetricDescriptor, MetricDescriptor)] = [
        (
            counter("open_requests_total", "Total number of open requests from a cgroup", fileLabels),
            counter("open_errors_total", "Total number of open errors from a cgroup", fileLabels)
        ),
        (
            counter("create_requests_total", "Total number of create requests from a cgroup", fileLabels),
            counter("open_create_total", "Total number of create errors from a cgroup", fileLabels)
        ),
        (
            counter("unlink_requests_total", "Total number of unlink requests from a cgroup", fileLabels),
            counter("unlink_errors_total", "Total number of unlink errors from a cgroup", fileLabels)
        ),
    ]
    /// (packets, bytes) of ingress, egress, then TCP retransmissions.
    static let network: [(MetricDescriptor, MetricDescriptor)] = [
        (
            counter("ingress_packets_total", "Total number of ingress packets from a cgroup", netLabels),
            counter("ingress_bytes_total", "Total number of ingress bytes from a cgroup", netLabels)
        ),
        (
            counter("egress_packets_total", "Total number of egress packets from a cgroup", netLabels),
            counter("egress_bytes_total", "Total number of egress bytes from a cgroup", netLabels)
        ),
        (
            counter("retrans_packets_total", "Total number of retransmission packets from a cgroup", netLabels),
            counter("retrans_bytes_total", "Total number of retransmission bytes from a cgroup", netLabels)
        ),
    ]

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// The loaded object (closed once, at shutdown).
    final class Handle: @unchecked Sendable {
        // @unchecked: the pointer is used under `lock` only.
        let pointer: OpaquePointer
        let lock = Mutex(())
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    let handle: Handle
    let closed = Mutex(false)
    /// Per map, the keys of cgroups that were no unit at the last full walk.
    let previousStrangers = Mutex<[String: Set<[UInt8]>]>([:])
    /// The cgroup ids below each unit directory, and when all were last walked.
    let subtrees = Mutex<(walkedAt: ContinuousClock.Instant?, ids: [String: [UInt64]])>((nil, [:]))
    /// How long walked subtrees serve (tests shorten it).
    let rewalkInterval = Mutex<Duration>(.seconds(30))
    let manager: ResourceManager
    let hostname: String
    let procfs: String
    let mountFilters: [String]
    let logger: Logger

    init(options: ExporterConfiguration.EBPFOptions, layout: CgroupLayout, manager: ResourceManager, hostname: String,
         fs: LinuxFS, logger: Logger) throws
    {
        guard let object = Base64.decode(BPFObject.base64.filter { !$0.isWhitespace }) else {
            throw SetupError(description: "the embedded BPF object is corrupt")
        }
        let mode: UInt32 =
            switch layout.version {
            case .v2: 0
            case .v1: layout.activeController.contains("memory") ? 2 : 1
            }
        let groups: UInt32 = (options.ioMetrics ? 1 : 0) | (options.networkMetrics ? 2 : 0)
        var error = [CChar](repeating: 0, count: 256)
        let opened = object.withUnsafeBytes { bytes in
            ceems_bpf_open(bytes.baseAddress, bytes.count, mode, groups, &error, Int32(error.count))
        }
        guard let opened else {
            let message = error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            throw SetupError(description: "eBPF: " + String(decoding: message, as: UTF8.self))
        }
        handle = Handle(opened)
        self.manager = manager
        self.hostname = hostname
        procfs = fs.procfs
        mountFilters = options.mountPoints
        self.logger = logger
        logger.info("eBPF probes attached", metadata: ["probes": "\(ceems_bpf_links(opened))", "cgroup_mode": "\(mode)"])
    }

    func shutdown() async {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if !wasClosed { handle.lock.withLock { _ in ceems_bpf_close(handle.pointer) } }
    }

    /// Every entry of a per-CPU map of 64-bit counters (key bytes, value bytes summed over the CPUs), among them
    /// those of the cgroups of `units`. With `prune` (after a full walk of the units), entries of other cgroups
    /// (ended units, system services) are deleted when they were strangers at the previous full walk too, so that
    /// the bounded maps never fill up with them and a cgroup created since a walk keeps its first counts.
    func entries(_ map: String, keySize: Int, valueSize: Int, units: Set<UInt64>, prune: Bool) -> [([UInt8], [UInt8])] {
        handle.lock.withLock { _ in
            guard !closed.withLock({ $0 }) else { return [] }
            let fd = ceems_bpf_map_fd(handle.pointer, map)
            guard fd >= 0 else { return [] }
            let cpus = max(1, Int(ceems_bpf_possible_cpus(handle.pointer)))
            var result: [([UInt8], [UInt8])] = []
            var strangers: Set<[UInt8]> = []
            // Batches of 1 024 entries: a few system calls per map, not two per entry.
            let batch = 1024
            var keys = [UInt8](repeating: 0, count: keySize * batch)
            var values = [UInt8](repeating: 0, count: valueSize * cpus * batch)
            var token: UInt32 = 0
            var nextToken: UInt32 = 0
            var first = true
            // Bounded: the maps hold at most 16 384 entries.
            for _ in 0..<(16_384 / batch + 1) {
                var count = UInt32(batch)
                let status = keys.withUnsafeMutableBytes { keyBytes in
                    values.withUnsafeMutableBytes { valueBytes in
                        withUnsafePointer(to: token) { tokenPointer in
                            ceems_bpf_lookup_batch(
                                handle.pointer, fd, first ? nil : UnsafeRawPointer(tokenPointer), &nextToken,
                                keyBytes.baseAddress, valueBytes.baseAddress, &count)
                        }
                    }
                }
                guard status >= 0 else { break }
                first = false
                token = nextToken
                for entry in 0..<Int(count) {
                    let key = Array(keys[(entry * keySize)..<((entry + 1) * keySize)])
                    guard units.contains(Self.u64(key, 0)) else {
                        strangers.insert(key)
                        continue
                    }
                    var total = [UInt8](repeating: 0, count: valueSize)
                    let base = entry * valueSize * cpus
                    for word in stride(from: 0, to: valueSize, by: 8) {
                        var sum: UInt64 = 0
                        for cpu in 0..<cpus { sum &+= Self.u64(values, base + cpu * valueSize + word) }
                        for index in 0..<8 { total[word + index] = UInt8(truncatingIfNeeded: sum >> (8 * UInt64(index))) }
                    }
                    result.append((key, total))
                }
                if status == 1 { break }
            }
            guard prune else { return result }
            let previous = previousStrangers.withLock { seen in
                defer { seen[map] = strangers }
                return seen[map] ?? []
            }
            for stranger in strangers.intersection(previous) { _ = ceems_bpf_delete(handle.pointer, fd, stranger) }
            return result
        }
    }

    /// The keys of a map (tests).
    func keys(_ map: String, keySize: Int) -> [[UInt8]] {
        handle.lock.withLock { _ in
            let fd = ceems_bpf_map_fd(handle.pointer, map)
            guard fd >= 0 else { return [] }
            var keys: [[UInt8]] = []
            var next = [UInt8](repeating: 0, count: keySize)
            while keys.count < 16_384, ceems_bpf_next_key(handle.pointer, fd, keys.last, &next) == 0 { keys.append(next) }
            return keys
        }
    }

    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        return value
    }

    static func u32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(bytes[offset + index]) << (8 * UInt32(index)) }
        return value
    }

    static func u16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    /// Mount id → mount point, from `/proc/self/mountinfo`.
    func mountPoints() -> [UInt32: String] {
        guard let text = try? SystemFile.readString(procfs + "/self/mountinfo", limit: 8 << 20) else { return [:] }
        var points: [UInt32: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count >= 5, let id = UInt32(fields[0]) else { continue }
            points[id] = Self.unescape(String(fields[4]))
        }
        return points
    }

    /// mountinfo escapes space, tab, newline and backslash as `\` and three octal digits.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        let source = Array(text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 4 <= source.count,
                let value = UInt8(String(decoding: source[(index + 1)..<(index + 4)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func collect(units: [ComputeUnit], collector: ComputeUnitCollector, into sink: inout MetricSink) async throws {
        // Cgroup id (kernfs inode of the directory) → uuid, for every directory of every unit: the unit's and every
        // cgroup below it (steps, tasks), where processes live.
        // Walked for a unit when it first shows and for all every 30 s (listing every cgroup directory is most of
        // this collector's cost); stray map entries are only deleted after such a full walk, so the counts of a
        // step created in between wait for it rather than being lost.
        let now = ContinuousClock.now
        let interval = rewalkInterval.withLock { $0 }
        let fullWalk = subtrees.withLock { $0.walkedAt.map { now - $0 >= interval } ?? true }
        let known = subtrees.withLock { $0.ids }
        var current: [String: [UInt64]] = [:]
        var uuidByCgroup: [UInt64: String] = [:]
        for unit in units {
            let top = unit.directories.first ?? unit.id
            let ids = (fullWalk ? nil : known[top]) ?? collector.discovery.cgroupIDs(unit)
            current[top] = ids
            for id in ids { uuidByCgroup[id] = unit.uuid }
        }
        subtrees.withLock { state in
            state.ids = current
            if fullWalk { state.walkedAt = now }
        }
        let unitCgroups = Set(uuidByCgroup.keys)
        let manager = manager.rawValue
        // VFS reads and writes per (uuid, mount point).
        let points = mountPoints()
        var io: [[String]: (Double, Double, Double)] = [:]
        for (key, value) in entries("io_stats", keySize: 16, valueSize: 24, units: unitCgroups, prune: fullWalk) {
            guard let uuid = uuidByCgroup[Self.u64(key, 0)] else { continue }
            // Mounts absent from mountinfo are the kernel's own (sockets, pipes): not file IO.
            guard var point = points[Self.u32(key, 8)] else { continue }
            if !mountFilters.isEmpty && !mountFilters.contains(where: { point.contains($0) }) { continue }
            if point.utf8.count > 64 { point = String(decoding: point.utf8.prefix(64), as: UTF8.self) }
            let op = Self.u32(key, 12)
            guard op < 2 else { continue }
            // Ordered as the exposition orders samples (by mountpoint, then uuid): no sort at render time.
            let labels = [String(op), point, uuid]
            let current = io[labels] ?? (0, 0, 0)
            io[labels] = (
                current.0 + Double(Self.u64(value, 0)), current.1 + Double(Self.u64(value, 8)),
                current.2 + Double(Self.u64(value, 16))
            )
        }
        for (labels, (bytes, requests, errors)) in io.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let descriptors = Self.io[Int(labels[0])!]
            let values = [manager, hostname, labels[2], labels[1]]
            sink.add(descriptors.0, bytes, values)
            sink.add(descriptors.1, requests, values)
            sink.add(descriptors.2, errors, values)
        }
        // Open, create, unlink per uuid.
        var files: [[String]: (Double, Double)] = [:]
        for (key, value) in entries("file_stats", keySize: 16, valueSize: 16, units: unitCgroups, prune: fullWalk) {
            guard let uuid = uuidByCgroup[Self.u64(key, 0)] else { continue }
            let op = Self.u32(key, 8)
            guard op < 3 else { continue }
            let labels = [String(op), uuid]
            let current = files[labels] ?? (0, 0)
            files[labels] = (current.0 + Double(Self.u64(value, 0)), current.1 + Double(Self.u64(value, 8)))
        }
        for (labels, (requests, errors)) in files.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let descriptors = Self.files[Int(labels[0])!]
            sink.add(descriptors.0, requests, [manager, hostname, labels[1]])
            sink.add(descriptors.1, errors, [manager, hostname, labels[1]])
        }
        // TCP and UDP per (uuid, proto, family).
        var network: [[String]: (Double, Double)] = [:]
        for (key, value) in entries("net_stats", keySize: 16, valueSize: 16, units: unitCgroups, prune: fullWalk) {
            guard let uuid = uuidByCgroup[Self.u64(key, 0)] else { continue }
            let proto = Self.u16(key, 8) == 0 ? "tcp" : "udp"
            let family = Self.u16(key, 10) == 10 ? "ipv6" : "ipv4"
            let direction = Self.u32(key, 12)
            guard direction < 3 else { continue }
            // Ordered as the exposition orders samples (family, proto, uuid).
            let labels = [String(direction), family, proto, uuid]
            let current = network[labels] ?? (0, 0)
            network[labels] = (current.0 + Double(Self.u64(value, 0)), current.1 + Double(Self.u64(value, 8)))
        }
        for (labels, (packets, bytes)) in network.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let descriptors = Self.network[Int(labels[0])!]
            let values = [manager, hostname, labels[3], labels[2], labels[1]]
            sink.add(descriptors.0, packets, values)
            sink.add(descriptors.1, bytes, values)
        }
    }
}
