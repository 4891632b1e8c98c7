/// CPU time of the node by mode, in seconds.
public struct CPUTimes: Sendable, Equatable {
    public var user: Double = 0
    public var nice: Double = 0
    public var system: Double = 0
    public var idle: Double = 0
    public var iowait: Double = 0
    public var irq: Double = 0
    public var softirq: Double = 0
    public var steal: Double = 0

    public init() {}
}

/// What the exporter uses of `/proc/stat`.
public struct ProcStat: Sendable, Equatable {
    /// The aggregate `cpu` line in seconds (USER_HZ = 100).
    public var total: CPUTimes
    /// The number of `cpuN` lines (online logical CPUs).
    public var cpuCount: Int
    /// `btime`, the boot time in seconds since the epoch.
    public var bootTime: UInt64?

    public enum ParseError: Error, Equatable {
        case missingCPULine
    }

    /// USER_HZ: the kernel exports CPU times in 1/100 s on every architecture.
    public static let userHZ: Double = 100

    public static func parse(_ bytes: ArraySlice<UInt8>) throws(ParseError) -> ProcStat {
        var total: CPUTimes?
        var count = 0
        var bootTime: UInt64?
        for line in ByteParsing.lines(bytes) {
            if ByteParsing.hasPrefix(line, "cpu") {
                let fields = ByteParsing.fields(line)
                guard let label = fields.first else { continue }
                if label.count == 3 {
                    var times = CPUTimes()
                    func value(_ index: Int) -> Double {
                        guard index < fields.count, let ticks = ByteParsing.uint64(fields[index]) else { return 0 }
                        return Double(ticks) / userHZ
                    }
                    times.user = value(1)
                    times.nice = value(2)
                    times.system = value(3)
                    times.idle = value(4)
                    times.iowait = value(5)
                    times.irq = value(6)
                    times.softirq = value(7)
                    times.steal = value(8)
                    total = times
                } else if ByteParsing.uint64(label.dropFirst(3)) != nil {
                    count += 1
                }
            } else if ByteParsing.hasPrefix(line, "btime ") {
                let fields = ByteParsing.fields(line)
                if fields.count > 1 { bootTime = ByteParsing.uint64(fields[1]) }
            }
        }
        guard let total else { throw .missingCPULine }
        return ProcStat(total: total, cpuCount: count, bootTime: bootTime)
    }
}
