import CEEMSCore

/// The readings of one Cray PM counters domain (`node`, `cpu`, `memory`, `accel0`…).
public struct CrayPMDomain: Sendable, Equatable {
    public var name: String
    public var energyJoules: UInt64?
    public var powerWatts: UInt64?
    public var powerCapWatts: UInt64?
    public var temperatureCelsius: UInt64?
}

/// Reads `/sys/cray/pm_counters` (HPE Cray EX blades).
public struct CrayPMCountersReader: Sendable {
    public let fs: LinuxFS

    public init(fs: LinuxFS) {
        self.fs = fs
    }

    public var directory: String { fs.sys("cray", "pm_counters") }

    static let kinds = ["energy", "power", "power_cap", "temp"]

    /// The domains found, sorted by name, with what each reports.
    public func domains() throws(SystemFileError) -> [CrayPMDomain] {
        let base = directory
        var names: Set<String> = []
        for entry in try Directory.unsortedEntries(base) {
            if let domain = Self.domain(ofFile: entry.name) { names.insert(domain) }
        }
        var buffer: [UInt8] = []
        func value(_ file: String) -> UInt64? {
            guard let count = try? SystemFile.read(base + "/" + file, into: &buffer, limit: 4096),
                let token = ByteParsing.fields(buffer[..<count]).first
            else { return nil }
            return ByteParsing.uint64(token)
        }
        return names.sorted().map { name in
            let prefix = name == "node" ? "" : name + "_"
            return CrayPMDomain(
                name: name, energyJoules: value(prefix + "energy"), powerWatts: value(prefix + "power"),
                powerCapWatts: value(prefix + "power_cap"), temperatureCelsius: value(prefix + "temp"))
        }
    }

    /// `accel0_power_cap` → `accel0`; `energy` → `node`; other files → nil.
    static func domain(ofFile name: String) -> String? {
        if kinds.contains(name) { return "node" }
        for kind in kinds where name.hasSuffix("_" + kind) {
            let domain = name.dropLast(kind.count + 1)
            for family in ["cpu", "memory", "accel"] where domain.hasPrefix(family) {
                let digits = domain.dropFirst(family.count)
                if digits.allSatisfy({ $0.isASCII && $0.isNumber }) { return String(domain) }
            }
        }
        return nil
    }
}
