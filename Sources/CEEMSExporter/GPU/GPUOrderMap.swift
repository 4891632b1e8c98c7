import CEEMSCore

/// `--collector.slurm.gpu-order-map`: `slurmIndex:minor` or `slurmIndex:minor.gi` entries, comma separated, that
/// give GPUs (or MIG instances) the index SLURM uses for them. Entries naming nothing that exists are ignored;
/// devices the map does not name keep their index.
struct GPUOrderMap: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var index: String
        var minor: Int
        var instanceID: Int?
    }

    enum ParseError: Error, CustomStringConvertible {
        case invalid(String)

        var description: String {
            switch self {
            case .invalid(let entry):
                "invalid --collector.slurm.gpu-order-map entry \"\(entry)\": expected index:minor or index:minor.gi"
            }
        }
    }

    var entries: [Entry]

    init(parsing text: String) throws(ParseError) {
        var entries: [Entry] = []
        for raw in text.split(separator: ",") {
            let entry = raw.trimmingSpaces()
            if entry.isEmpty { continue }
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, Int(parts[0]) != nil else { throw .invalid(entry) }
            let target = parts[1].split(separator: ".", omittingEmptySubsequences: false)
            guard let minor = Int(target[0]), target.count <= 2 else { throw .invalid(entry) }
            var instance: Int?
            if target.count == 2 {
                guard let value = Int(target[1]) else { throw .invalid(entry) }
                instance = value
            }
            entries.append(Entry(index: String(parts[0]), minor: minor, instanceID: instance))
        }
        self.entries = entries
    }

    func apply(to devices: inout [GPUDevice]) {
        for entry in entries {
            guard let device = devices.firstIndex(where: { $0.minor == entry.minor }) else { continue }
            if let instanceID = entry.instanceID {
                guard let instance = devices[device].instances.firstIndex(where: { $0.instanceID == instanceID }) else {
                    continue
                }
                devices[device].instances[instance].index = entry.index
            } else if !devices[device].isPartitioned {
                devices[device].index = entry.index
            }
        }
    }
}
