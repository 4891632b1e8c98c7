/// Parsers of cgroup control files (v1 and v2), on bytes. Every parser tolerates truncated or garbage input:
/// unknown lines are skipped, malformed numbers give nil.
public enum CgroupFiles {
    /// `cgroup.procs`/`tasks`: one PID per line.
    public static func pids(_ bytes: ArraySlice<UInt8>) -> [Int32] {
        var result: [Int32] = []
        for line in ByteParsing.lines(bytes) {
            if let value = ByteParsing.uint64(ByteParsing.trimmed(line)), value > 0, value <= UInt64(Int32.max) {
                result.append(Int32(value))
            }
        }
        return result
    }

    /// The number of CPUs in a cpuset list (`0-3,7,9-10` → 7); nil when malformed.
    public static func cpusetCount(_ bytes: ArraySlice<UInt8>) -> Int? {
        let text = ByteParsing.trimmed(bytes)
        if text.isEmpty { return 0 }
        var count = 0
        for part in text.split(separator: UInt8(ascii: ",")) {
            let range = part.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
            switch range.count {
            case 1:
                guard ByteParsing.uint64(ByteParsing.trimmed(range[0])) != nil else { return nil }
                count += 1
            case 2:
                guard let low = ByteParsing.uint64(ByteParsing.trimmed(range[0])),
                    let high = ByteParsing.uint64(ByteParsing.trimmed(range[1])), high >= low, high - low < 1 << 20
                else { return nil }
                count += Int(high - low) + 1
            default:
                return nil
            }
        }
        return count
    }

    /// A single-value file (`memory.current`, `memory.max`): a number, or nil for `max`/garbage.
    public static func singleValue(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        ByteParsing.uint64(ByteParsing.trimmed(bytes))
    }

    /// Whether a single-value file says `max` (no limit).
    public static func isMax(_ bytes: ArraySlice<UInt8>) -> Bool {
        ByteParsing.trimmed(bytes).elementsEqual("max".utf8)
    }

    /// Values of a flat keyed file (`cpu.stat`, `memory.stat`, `memory.events`, `cpuacct.stat`) for the keys
    /// asked, in their order; absent keys give nil.
    public static func keyedValues(_ bytes: ArraySlice<UInt8>, keys: [StaticString]) -> [UInt64?] {
        var values = [UInt64?](repeating: nil, count: keys.count)
        var found = 0
        for line in ByteParsing.lines(bytes) {
            guard let space = line.firstIndex(where: ByteParsing.isSpace) else { continue }
            let key = line[..<space]
            for (index, wanted) in keys.enumerated() where values[index] == nil && matches(key, wanted) {
                values[index] = ByteParsing.uint64(ByteParsing.trimmed(line[space...]))
                found += 1
                break
            }
            if found == keys.count { break }
        }
        return values
    }

    static func matches(_ key: ArraySlice<UInt8>, _ wanted: StaticString) -> Bool {
        guard key.count == wanted.utf8CodeUnitCount else { return false }
        return wanted.withUTF8Buffer { buffer in key.elementsEqual(buffer) }
    }

    /// `cgroup.events` `populated` (v2): whether any process lives in the cgroup or below.
    public static func populated(_ bytes: ArraySlice<UInt8>) -> Bool? {
        keyedValues(bytes, keys: ["populated"])[0].map { $0 != 0 }
    }

    /// PSI files (`cpu.pressure`, `memory.pressure`): the `total=` microseconds of the `full` line.
    public static func pressureFullTotal(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        for line in ByteParsing.lines(bytes) where ByteParsing.hasPrefix(line, "full ") {
            for field in ByteParsing.fields(line) where ByteParsing.hasPrefix(field, "total=") {
                return ByteParsing.uint64(field.dropFirst(6))
            }
        }
        return nil
    }

    /// One device of `io.stat` (v2): `8:0 rbytes=… wbytes=… rios=… wios=…`.
    public struct IOStat: Sendable, Equatable {
        public var device: String
        public var readBytes: UInt64 = 0
        public var writeBytes: UInt64 = 0
        public var readRequests: UInt64 = 0
        public var writeRequests: UInt64 = 0

        public init(device: String) {
            self.device = device
        }
    }

    public static func ioStat(_ bytes: ArraySlice<UInt8>) -> [IOStat] {
        var result: [IOStat] = []
        for line in ByteParsing.lines(bytes) {
            let fields = ByteParsing.fields(line)
            guard let first = fields.first, first.contains(UInt8(ascii: ":")) else { continue }
            var stat = IOStat(device: ByteParsing.string(first))
            for field in fields.dropFirst() {
                guard let equals = field.firstIndex(of: UInt8(ascii: "=")),
                    let value = ByteParsing.uint64(field[(equals + 1)...])
                else { continue }
                let key = field[..<equals]
                if key.elementsEqual("rbytes".utf8) {
                    stat.readBytes = value
                } else if key.elementsEqual("wbytes".utf8) {
                    stat.writeBytes = value
                } else if key.elementsEqual("rios".utf8) {
                    stat.readRequests = value
                } else if key.elementsEqual("wios".utf8) {
                    stat.writeRequests = value
                }
            }
            result.append(stat)
        }
        return result
    }

    /// v1 `blkio.io_service_bytes_recursive` / `blkio.io_serviced_recursive` (`8:0 Read 123`): per device,
    /// (read, write).
    public static func blkioV1(_ bytes: ArraySlice<UInt8>) -> [(device: String, read: UInt64, write: UInt64)] {
        var order: [String] = []
        var values: [String: (UInt64, UInt64)] = [:]
        for line in ByteParsing.lines(bytes) {
            let fields = ByteParsing.fields(line)
            guard fields.count == 3, fields[0].contains(UInt8(ascii: ":")), let value = ByteParsing.uint64(fields[2])
            else { continue }
            let device = ByteParsing.string(fields[0])
            if values[device] == nil {
                order.append(device)
                values[device] = (0, 0)
            }
            if fields[1].elementsEqual("Read".utf8) {
                values[device]!.0 = value
            } else if fields[1].elementsEqual("Write".utf8) {
                values[device]!.1 = value
            }
        }
        return order.map { ($0, values[$0]!.0, values[$0]!.1) }
    }

    /// `rdma.current`: `mlx5_0 hca_handle=2 hca_object=20` per device.
    public static func rdmaCurrent(_ bytes: ArraySlice<UInt8>) -> [(device: String, handles: UInt64, objects: UInt64)] {
        var result: [(String, UInt64, UInt64)] = []
        for line in ByteParsing.lines(bytes) {
            let fields = ByteParsing.fields(line)
            guard let device = fields.first, !device.contains(UInt8(ascii: "=")) else { continue }
            var handles: UInt64 = 0
            var objects: UInt64 = 0
            for field in fields.dropFirst() {
                if ByteParsing.hasPrefix(field, "hca_handle="), let value = ByteParsing.uint64(field.dropFirst(11)) {
                    handles = value
                } else if ByteParsing.hasPrefix(field, "hca_object="),
                    let value = ByteParsing.uint64(field.dropFirst(11))
                {
                    objects = value
                }
            }
            result.append((ByteParsing.string(device), handles, objects))
        }
        return result
    }
}
