import CEEMSCore
import CEEMSLinux

/// GPU sharing declared in SLURM's `gres.conf` (`Name=shard` or `Name=mps` lines): how many shares each device
/// (or MIG instance) offers.
struct GresSharing: Sendable, Equatable {
    /// A device key: physical GPU minor, with the MIG instance id when the line names one.
    struct Key: Sendable, Hashable {
        var minor: Int
        var instanceID: Int?
    }

    var shares: [Key: Int]

    var isEmpty: Bool { shares.isEmpty }

    /// Parses `gres.conf` for the node `hostname`. `migMinors` maps `/dev/nvidia-caps/nvidia-cap<N>` to
    /// (GPU minor, GPU instance) from `/proc/driver/nvidia-caps/mig-minors`.
    init(parsing text: String, hostname: String, devices: [GPUDevice], migMinors: [Int: (gpu: Int, instance: Int)]) {
        var shares: [Key: Int] = [:]
        for rawLine in text.split(whereSeparator: { $0 == "\n" }) {
            let line = String(rawLine.prefix { $0 != "#" }).trimmingSpaces()
            if line.isEmpty { continue }
            var fields: [String: String] = [:]
            for token in line.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                guard let equals = token.firstIndex(of: "=") else { continue }
                fields[token[..<equals].lowercased()] = String(token[token.index(after: equals)...])
            }
            guard let name = fields["name"]?.lowercased(), name == "shard" || name == "mps" else { continue }
            if let nodes = fields["nodename"], !Hostlist.expand(nodes).contains(hostname) { continue }
            let count = fields["count"].flatMap { Int($0) } ?? 0
            guard count > 0 else { continue }
            var keys: [Key] = []
            var multiple = false
            if let files = fields["multiplefiles"] {
                multiple = true
                keys = Self.deviceKeys(files, migMinors: migMinors)
            } else if let files = fields["file"] {
                keys = Self.deviceKeys(files, migMinors: migMinors)
            } else {
                // No File: every GPU, or its MIG instances.
                for device in devices {
                    if device.isPartitioned {
                        keys += device.instances.map { Key(minor: device.minor, instanceID: $0.instanceID) }
                    } else {
                        keys.append(Key(minor: device.minor, instanceID: nil))
                    }
                }
            }
            guard !keys.isEmpty else { continue }
            if multiple {
                // One GRES backed by several files: the count goes to the last one (kept from the reference).
                shares[keys.last!] = count
            } else {
                let each = max(count / keys.count, 1)
                for key in keys { shares[key] = each }
            }
        }
        self.shares = shares
    }

    init(shares: [Key: Int] = [:]) {
        self.shares = shares
    }

    /// `/dev/nvidia[0-3],/dev/nvidia5` and `/dev/nvidia-caps/nvidia-cap21` to device keys.
    static func deviceKeys(_ files: String, migMinors: [Int: (gpu: Int, instance: Int)]) -> [Key] {
        var keys: [Key] = []
        for file in Hostlist.expand(files) {
            let name = file.split(separator: "/").last ?? ""
            if name.hasPrefix("nvidia-cap"), let cap = Int(name.dropFirst(10)) {
                if let mig = migMinors[cap] { keys.append(Key(minor: mig.gpu, instanceID: mig.instance)) }
            } else if name.hasPrefix("nvidia"), let minor = Int(name.dropFirst(6)) {
                keys.append(Key(minor: minor, instanceID: nil))
            } else if name.hasPrefix("renderD"), let minor = Int(name.dropFirst(7)) {
                // AMD: render nodes start at 128.
                keys.append(Key(minor: minor - 128, instanceID: nil))
            }
        }
        return keys
    }

    /// `/proc/driver/nvidia-caps/mig-minors`: `gpu0/gi1/ci0/access 21` → cap 21 is GPU 0 instance 1.
    static func migMinors(_ text: String) -> [Int: (gpu: Int, instance: Int)] {
        var result: [Int: (Int, Int)] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let cap = Int(parts[1]), parts[0].hasSuffix("/access") else { continue }
            let path = parts[0].split(separator: "/")
            guard path.count == 4, path[0].hasPrefix("gpu"), path[1].hasPrefix("gi"),
                let gpu = Int(path[0].dropFirst(3)),
                let instance = Int(path[1].dropFirst(2))
            else { continue }
            result[cap] = (gpu, instance)
        }
        return result
    }
}
