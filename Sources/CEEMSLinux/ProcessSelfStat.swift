/// What the `process_*` self metrics need of `/proc/<pid>/stat`.
public struct ProcessSelfStat: Sendable, Equatable {
    /// User + system CPU time in clock ticks.
    public var cpuTicks: UInt64
    /// Start time after boot in clock ticks.
    public var startTicks: UInt64
    public var virtualBytes: UInt64
    public var residentPages: UInt64

    /// Parses the stat line; the command name (field 2) may contain spaces and parentheses, so fields are counted
    /// from the last `)`.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> ProcessSelfStat? {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let rest = ByteParsing.fields(bytes[(close + 1)...])
        // rest[0] is field 3 (state); field N is rest[N - 3].
        func field(_ number: Int) -> UInt64? {
            let index = number - 3
            guard index >= 0, index < rest.count else { return nil }
            return ByteParsing.uint64(rest[index])
        }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
            let rss = field(24)
        else { return nil }
        return ProcessSelfStat(
            cpuTicks: utime &+ stime, startTicks: start, virtualBytes: vsize, residentPages: rss)
    }
}

/// Soft limits from `/proc/<pid>/limits`.
public enum ProcessLimits {
    /// The soft limit of a row (`Max open files`); nil when absent, `-1` for `unlimited`.
    public static func softLimit(_ row: String, in bytes: ArraySlice<UInt8>) -> Double? {
        for line in ByteParsing.lines(bytes) where line.starts(with: row.utf8) {
            let fields = ByteParsing.fields(line.dropFirst(row.utf8.count))
            guard let soft = fields.first else { return nil }
            if soft.elementsEqual("unlimited".utf8) { return -1 }
            return ByteParsing.uint64(soft).map { Double($0) }
        }
        return nil
    }
}
