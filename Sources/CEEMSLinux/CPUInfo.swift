/// The CPU topology the exporter needs from `/proc/cpuinfo`.
public struct CPUInfo: Sendable, Equatable {
    /// `processor` entries.
    public var logicalCPUs: Int
    /// Σ `cpu cores` over distinct `physical id`s; 0 when the file does not say (some VMs, ARM).
    public var physicalCores: Int

    public static func parse(_ bytes: ArraySlice<UInt8>) -> CPUInfo {
        var logical = 0
        var coresBySocket: [String: Int] = [:]
        var socket: String?
        var cores: Int?
        func flush() {
            if let socket, let cores { coresBySocket[socket] = cores }
            socket = nil
            cores = nil
        }
        for line in ByteParsing.lines(bytes) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = ByteParsing.trimmed(line[..<colon])
            let value = ByteParsing.trimmed(line[(colon + 1)...])
            if key.elementsEqual("processor".utf8) {
                flush()
                logical += 1
            } else if key.elementsEqual("physical id".utf8) {
                socket = ByteParsing.string(value)
            } else if key.elementsEqual("cpu cores".utf8) {
                cores = ByteParsing.uint64(value).map { Int(clamping: $0) }
            }
        }
        flush()
        return CPUInfo(logicalCPUs: logical, physicalCores: coresBySocket.values.reduce(0, +))
    }
}
