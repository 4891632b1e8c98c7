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

/// SLURM hostlist syntax (`node[1-3,5]`, `gpu[01-02]-ib`, comma lists), as used in `gres.conf`.
enum Hostlist {
    /// More names than any node list of a gres.conf holds: a bigger expansion is cut (and cannot exhaust memory).
    static let maximumNames = 65536
    /// Longer than any host name: such names are dropped (which also bounds the memory an expansion takes).
    static let maximumNameLength = 255

    static func expand(_ text: String) -> [String] {
        var result: [String] = []
        for item in splitTopLevel(text) {
            result += expandOne(item[...], budget: maximumNames - result.count)
            if result.count >= maximumNames { break }
        }
        return result
    }

    /// Splits on commas outside brackets.
    static func splitTopLevel(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "[" { depth += 1 }
            if character == "]" { depth -= 1 }
            if character == "," && depth == 0 {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { items.append(current) }
        return items
    }

    /// Expands one item into at most `budget` names. The budget is shared down the brackets (a level with n
    /// values leaves budget/n to each suffix), so the work is bounded whatever the input.
    static func expandOne(_ item: Substring, budget: Int) -> [String] {
        guard budget > 0 else { return [] }
        guard let open = item.firstIndex(of: "["), let close = item[open...].firstIndex(of: "]") else {
            return item.utf8.count <= maximumNameLength ? [String(item)] : []
        }
        let prefix = item[..<open]
        guard prefix.utf8.count <= maximumNameLength else { return [] }
        var values: [String] = []
        ranges: for range in item[item.index(after: open)..<close].split(separator: ",") {
            let bounds = range.split(separator: "-")
            if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high {
                let width = bounds[0].count
                for value in low...high {
                    guard values.count < budget else { break ranges }
                    var text = String(value)
                    if text.count < width { text = String(repeating: "0", count: width - text.count) + text }
                    values.append(text)
                }
            } else {
                guard values.count < budget else { break }
                values.append(String(range))
            }
        }
        guard !values.isEmpty else { return [] }
        let suffixes = expandOne(item[item.index(after: close)...], budget: max(1, budget / values.count))
        var names: [String] = []
        for value in values {
            for suffix in suffixes where prefix.utf8.count + value.utf8.count + suffix.utf8.count <= maximumNameLength {
                guard names.count < budget else { return names }
                names.append(prefix + value + suffix)
            }
        }
        return names
    }
}
