/// Parsers of the `rdma` tool (iproute2) outputs used by the RDMA sub-collector.
public enum RDMAOutput {
    /// One resource line attributed to a process.
    public struct Resource: Sendable, Equatable {
        public var pid: Int32
        public var device: String
        /// The port of `link <dev>/<port>` lines (QPs); empty for device-level resources.
        public var port: String
        /// `mrlen` of memory regions, `cqe` of completion queues; 0 for QPs.
        public var length: UInt64
    }

    /// `rdma resource show mr|cq|qp`: lines whose fields include `pid <n>`; the device comes from `dev <name>`
    /// or `link <dev>/<port>`, the length from `lengthKey` (`mrlen`, `cqe`). Kernel-owned resources (no pid)
    /// are skipped.
    public static func resources(_ text: String, lengthKey: String?) -> [Resource] {
        var result: [Resource] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            var pid: Int32?
            var device = ""
            var port = ""
            var length: UInt64 = 0
            var index = 0
            while index + 1 < fields.count {
                let key = fields[index]
                let value = fields[index + 1]
                switch key {
                case "dev":
                    device = String(value)
                case "link":
                    let parts = value.split(separator: "/", omittingEmptySubsequences: false)
                    device = String(parts[0])
                    port = parts.count > 1 ? String(parts[1]) : ""
                case "pid":
                    pid = Int32(value)
                default:
                    if let lengthKey, key == lengthKey { length = UInt64(value) ?? 0 }
                }
                index += 1
            }
            guard let pid, !device.isEmpty else { continue }
            result.append(Resource(pid: pid, device: device, port: port, length: length))
        }
        return result
    }

    /// `rdma statistic qp mode`: `link mlx5_0/1 qp auto off` or `link mlx5_0/1 qp auto type,pid on`; returns
    /// each link with whether per-PID automatic counters are on.
    public static func qpModes(_ text: String) -> [(link: String, enabled: Bool)] {
        var result: [(String, Bool)] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 5, fields[0] == "link", fields[2] == "qp", fields[3] == "auto" else { continue }
            let enabled = fields.count >= 6 ? fields[5] == "on" && fields[4].contains("pid") : false
            result.append((String(fields[1]), enabled))
        }
        return result
    }

    /// Per-PID hardware counters of `rdma statistic qp show`.
    public struct QPCounters: Sendable, Equatable {
        public var pid: Int32
        public var device: String
        public var port: String
        public var counters: [String: UInt64]
    }

    public static func qpCounters(_ text: String) -> [QPCounters] {
        var result: [QPCounters] = []
        for line in text.split(separator: "\n") where line.hasPrefix("link ") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { continue }
            let link = fields[1].split(separator: "/", omittingEmptySubsequences: false)
            var entry = QPCounters(
                pid: -1, device: String(link[0]), port: link.count > 1 ? String(link[1]) : "", counters: [:])
            var index = 2
            while index + 1 < fields.count {
                let key = String(fields[index])
                if key == "pid" {
                    entry.pid = Int32(fields[index + 1]) ?? -1
                    index += 2
                } else if let value = UInt64(fields[index + 1]) {
                    entry.counters[key] = value
                    index += 2
                } else {
                    index += 1
                }
            }
            if entry.pid > 0 { result.append(entry) }
        }
        return result
    }
}
