import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging
import Synchronization

/// Node memory from `/proc/meminfo`: `MemTotal`, `MemFree` and `MemAvailable` by default, every field with
/// `--collector.meminfo.all-stats`.
final class MeminfoCollector: Collector {
    let name = CollectorName.meminfo.rawValue

    static let defaultFields = ["MemAvailable_bytes", "MemFree_bytes", "MemTotal_bytes"]

    private let fs: LinuxFS
    private let hostname: String
    private let allStats: Bool
    /// Descriptors by field name, made on first sight (the set of fields is fixed for a kernel).
    private let descriptors = Mutex<[String: MetricDescriptor]>([:])

    init(fs: LinuxFS, hostname: String, allStats: Bool) {
        self.fs = fs
        self.hostname = hostname
        self.allStats = allStats
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        var buffer: [UInt8] = []
        let length = try SystemFile.read(fs.proc("meminfo"), into: &buffer)
        let fields = Meminfo.parse(buffer[..<length])
        if allStats {
            for field in fields {
                sink.add(descriptor(for: field.name), field.value, [hostname])
            }
        } else {
            for name in Self.defaultFields {
                // A field the kernel does not have (MemAvailable before 3.14) is exported as 0, like CEEMS.
                let value = fields.first { $0.name == name }?.value ?? 0
                sink.add(descriptor(for: name), value, [hostname])
            }
        }
    }

    func descriptor(for field: String) -> MetricDescriptor {
        descriptors.withLock { cache in
            if let known = cache[field] { return known }
            let made = MetricDescriptor(
                "ceems_meminfo_" + field, help: "Memory information field \(field).",
                type: field.hasSuffix("_total") ? .counter : .gauge, labels: ["hostname"])
            cache[field] = made
            return made
        }
    }
}
