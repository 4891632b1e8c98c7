import CEEMSCore

/// A RAPL zone of the powercap class (`/sys/class/powercap/intel-rapl:0` …).
public struct RAPLZone: Sendable, Equatable {
    /// Zone name without its index (`package` for `package-0`, `dram`).
    public var name: String
    /// The index from the name (`package-1` → 1) or, for names without one, the occurrence count.
    public var index: Int
    /// The zone directory, joined like Go's `filepath.Join` (this is the `path` label).
    public var path: String
}

/// Reads RAPL zones and their counters from the powercap class.
public struct PowercapReader: Sendable {
    public let fs: LinuxFS

    public init(fs: LinuxFS) {
        self.fs = fs
    }

    public var classPath: String { fs.sys("class", "powercap") }

    /// The zones, in directory order, with indices computed as the kernel documentation suggests.
    public func zones() throws(SystemFileError) -> [RAPLZone] {
        let base = classPath
        var zones: [RAPLZone] = []
        var usages: [String: Int] = [:]
        var buffer: [UInt8] = []
        for entry in try Directory.entries(base) {
            let directory = FilePathSyntax.join(base, entry.name)
            guard let count = try? SystemFile.read(directory + "/name", into: &buffer) else { continue }
            let rawName = ByteParsing.string(ByteParsing.trimmed(buffer[..<count]))
            let parts = rawName.split(separator: "-", omittingEmptySubsequences: false)
            let name: String
            let index: Int
            if parts.count == 2 {
                guard let parsed = Int(parts[1]) else { continue }
                name = String(parts[0])
                index = parsed
            } else {
                name = rawName
                index = usages[rawName, default: 0]
            }
            zones.append(RAPLZone(name: name, index: index, path: directory))
            usages[name, default: 0] += 1
        }
        return zones
    }

    /// The zone's energy counter in microjoules.
    public func energyMicrojoules(_ zone: RAPLZone, buffer: inout [UInt8]) throws(SystemFileError) -> UInt64 {
        let path = zone.path + "/energy_uj"
        let count = try SystemFile.read(path, into: &buffer)
        guard let value = ByteParsing.uint64(ByteParsing.trimmed(buffer[..<count])) else {
            throw .failed(path: path, errno: 22)  // EINVAL: not a number
        }
        return value
    }

    /// The power limit in microwatts of the constraint with the longest time window; 0 when the zone has none.
    public func powerLimitMicrowatts(_ zone: RAPLZone, buffer: inout [UInt8]) -> UInt64 {
        func number(_ file: String) -> UInt64? {
            guard let count = try? SystemFile.read(zone.path + "/" + file, into: &buffer) else { return nil }
            return ByteParsing.uint64(ByteParsing.trimmed(buffer[..<count]))
        }
        var best: (window: UInt64, constraint: Int)?
        for constraint in 0..<2 {
            guard let window = number("constraint_\(constraint)_time_window_us") else { continue }
            if best == nil || window > best!.window { best = (window, constraint) }
        }
        guard let best else { return 0 }
        return number("constraint_\(best.constraint)_power_limit_uw") ?? 0
    }
}
