/// Counters of one network device from `/proc/net/dev`, in the file's column order: receive bytes, packets,
/// errs, drop, fifo, frame, compressed, multicast, then transmit bytes, packets, errs, drop, fifo, colls,
/// carrier, compressed.
public struct NetDevStats: Sendable, Equatable {
    public var device: String
    public var counters: [UInt64]
}

public enum NetDev {
    public static let columnCount = 16

    /// Parses `/proc/net/dev`; the two header lines and malformed lines are skipped.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> [NetDevStats] {
        var result: [NetDevStats] = []
        for line in ByteParsing.lines(bytes) {
            guard let colon = line.lastIndex(of: UInt8(ascii: ":")) else { continue }
            let name = ByteParsing.trimmed(line[..<colon])
            guard !name.isEmpty, !name.contains(UInt8(ascii: "|")) else { continue }
            let values = ByteParsing.fields(line[(colon + 1)...])
            guard values.count >= columnCount else { continue }
            var counters: [UInt64] = []
            counters.reserveCapacity(columnCount)
            for value in values.prefix(columnCount) {
                guard let number = ByteParsing.uint64(value) else { break }
                counters.append(number)
            }
            guard counters.count == columnCount else { continue }
            result.append(NetDevStats(device: ByteParsing.string(name), counters: counters))
        }
        return result
    }
}
