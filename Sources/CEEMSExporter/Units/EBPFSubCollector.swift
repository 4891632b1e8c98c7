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
    let previousStrangers = Mutex<[String: Set<MapKey>]>([:])
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

    /// A map key: every map is keyed by a cgroup id and two 32-bit fields (mount and operation; operation and
    /// padding; protocol and family packed, and direction).
    struct MapKey: Hashable {
        var cgroup: UInt64
        var first: UInt32
        var second: UInt32

        var bytes: [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16)
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: cgroup >> UInt64(shift))) }
            for field in [first, second] {
                for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: field >> UInt32(shift))) }
            }
            return bytes
        }
    }

    /// An entry of a per-CPU map of up to three 64-bit counters, summed over the CPUs.
    struct MapEntry {
        var key: MapKey
        var values: (UInt64, UInt64, UInt64)
    }

    /// Every entry of a per-CPU map whose cgroup is one of `units`. With `prune` (after a full walk of the units),
    /// entries of other cgroups (ended units, system services) are deleted when they were strangers at the previous
    /// full walk too, so that the bounded maps never fill up with them and a cgroup created since a walk keeps its
    /// first counts.
    func entries(_ map: String, counters: Int, units: Set<UInt64>, prune: Bool) -> [MapEntry] {
        let keySize = 16
        let valueSize = counters * 8
        return handle.lock.withLock { _ in
            guard !closed.withLock({ $0 }) else { return [] }
            let fd = ceems_bpf_map_fd(handle.pointer, map)
            guard fd >= 0 else { return [] }
            let cpus = max(1, Int(ceems_bpf_possible_cpus(handle.pointer)))
            var result: [MapEntry] = []
            var strangers: Set<MapKey> = []
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
                    let offset = entry * keySize
                    let key = MapKey(
                        cgroup: Self.u64(keys, offset), first: Self.u32(keys, offset + 8),
                        second: Self.u32(keys, offset + 12))
                    guard units.contains(key.cgroup) else {
                        strangers.insert(key)
                        continue
                    }
                    var sums: [UInt64] = [0, 0, 0]
                    let base = entry * valueSize * cpus
                    for counter in 0..<counters {
                        for cpu in 0..<cpus { sums[counter] &+= Self.u64(values, base + cpu * valueSize + counter * 8) }
                    }
                    result.append(MapEntry(key: key, values: (sums[0], sums[1], sums[2])))
                }
                if status == 1 { break }
            }
            guard prune else { return result }
            let previous = previousStrangers.withLock { seen in
                defer { seen[map] = strangers }
                return seen[map] ?? []
            }
            for stranger in strangers.intersection(previous) { _ = ceems_bpf_delete(handle.pointer, fd, stranger.bytes) }
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
        var unitByCgroup: [UInt64: Int] = [:]
        for (index, unit) in units.enumerated() {
            let top = unit.directories.first ?? unit.id
            let ids = (fullWalk ? nil : known[top]) ?? collector.discovery.cgroupIDs(unit)
            current[top] = ids
            for id in ids { unitByCgroup[id] = index }
        }
        subtrees.withLock { state in
            state.ids = current
            if fullWalk { state.walkedAt = now }
        }
        let unitCgroups = Set(unitByCgroup.keys)
        let manager = manager.rawValue
        // Aggregated on integers (unit index, mount point index, operation), labelled at the end in the order the
        // exposition sorts samples, so that rendering finds them sorted.
        // VFS reads and writes per (uuid, mount point); mount points cut to 64 bytes, filtered.
        var pointNames: [String] = []
        var pointIndex: [UInt32: Int] = [:]
        var indexByName: [String: Int] = [:]
        for (mount, path) in mountPoints() {
            if !mountFilters.isEmpty && !mountFilters.contains(where: { path.contains($0) }) { continue }
            let name = path.utf8.count > 64 ? String(decoding: path.utf8.prefix(64), as: UTF8.self) : path
            if let index = indexByName[name] {
                pointIndex[mount] = index
            } else {
                indexByName[name] = pointNames.count
                pointIndex[mount] = pointNames.count
                pointNames.append(name)
            }
        }
        struct Triple: Hashable {
            var operation: UInt32
            var label: Int
            var unit: Int
        }
        var io: [Triple: (Double, Double, Double)] = [:]
        for entry in entries("io_stats", counters: 3, units: unitCgroups, prune: fullWalk) {
            // Mounts absent from mountinfo are the kernel's own: not file IO.
            guard let unit = unitByCgroup[entry.key.cgroup], let point = pointIndex[entry.key.first],
                entry.key.second < 2
            else { continue }
            let key = Triple(operation: entry.key.second, label: point, unit: unit)
            let current = io[key] ?? (0, 0, 0)
            io[key] = (
                current.0 + Double(entry.values.0), current.1 + Double(entry.values.1), current.2 + Double(entry.values.2)
            )
        }
        func uuid(_ index: Int) -> String { units[index].uuid }
        func byteOrder(_ lhs: String, _ rhs: String) -> Bool { lhs.utf8.lexicographicallyPrecedes(rhs.utf8) }
        let ioOrder = io.keys.sorted {
            if $0.operation != $1.operation { return $0.operation < $1.operation }
            if $0.label != $1.label { return byteOrder(pointNames[$0.label], pointNames[$1.label]) }
            return byteOrder(uuid($0.unit), uuid($1.unit))
        }
        for key in ioOrder {
            let (bytes, requests, errors) = io[key]!
            let descriptors = Self.io[Int(key.operation)]
            let values = [manager, hostname, uuid(key.unit), pointNames[key.label]]
            sink.add(descriptors.0, bytes, values)
            sink.add(descriptors.1, requests, values)
            sink.add(descriptors.2, errors, values)
        }
        // Open, create, unlink per uuid.
        var files: [Triple: (Double, Double)] = [:]
        for entry in entries("file_stats", counters: 2, units: unitCgroups, prune: fullWalk) {
            guard let unit = unitByCgroup[entry.key.cgroup], entry.key.first < 3 else { continue }
            let key = Triple(operation: entry.key.first, label: 0, unit: unit)
            let current = files[key] ?? (0, 0)
            files[key] = (current.0 + Double(entry.values.0), current.1 + Double(entry.values.1))
        }
        let fileOrder = files.keys.sorted {
            $0.operation != $1.operation ? $0.operation < $1.operation : byteOrder(uuid($0.unit), uuid($1.unit))
        }
        for key in fileOrder {
            let (requests, errors) = files[key]!
            let descriptors = Self.files[Int(key.operation)]
            sink.add(descriptors.0, requests, [manager, hostname, uuid(key.unit)])
            sink.add(descriptors.1, errors, [manager, hostname, uuid(key.unit)])
        }
        // TCP and UDP per (uuid, proto, family): label = family (0 ipv4, 1 ipv6) × 2 + proto (0 tcp, 1 udp).
        var network: [Triple: (Double, Double)] = [:]
        for entry in entries("net_stats", counters: 2, units: unitCgroups, prune: fullWalk) {
            guard let unit = unitByCgroup[entry.key.cgroup], entry.key.second < 3 else { continue }
            let proto = entry.key.first & 0xffff == 0 ? 0 : 1
            let family = entry.key.first >> 16 == 10 ? 1 : 0
            let key = Triple(operation: entry.key.second, label: family * 2 + proto, unit: unit)
            let current = network[key] ?? (0, 0)
            network[key] = (current.0 + Double(entry.values.0), current.1 + Double(entry.values.1))
        }
        let networkOrder = network.keys.sorted {
            if $0.operation != $1.operation { return $0.operation < $1.operation }
            if $0.label != $1.label { return $0.label < $1.label }
            return byteOrder(uuid($0.unit), uuid($1.unit))
        }
        for key in networkOrder {
            let (packets, bytes) = network[key]!
            let descriptors = Self.network[Int(key.operation)]
            let values = [
                manager, hostname, uuid(key.unit), key.label % 2 == 0 ? "tcp" : "udp", key.label / 2 == 0 ? "ipv4" : "ipv6",
            ]
            sink.add(descriptors.0, packets, values)
            sink.add(descriptors.1, bytes, values)
        }
    }
}
