import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging

/// Network device counters from `/proc/net/dev`, filtered by the include/exclude regular expressions.
final class NetdevCollector: Collector {
    let name = CollectorName.netdev.rawValue

    /// Descriptors in the column order of `/proc/net/dev` (the HELP typos are part of CEEMS' interface).
    static let columns: [MetricDescriptor] = [
        ("receive_bytes_total", "Total received bytes by the network device"),
        ("receive_packets_total", "Total received packets by the network device"),
        ("receive_errors_total", "Total received errors by the network device"),
        ("receive_dropped_total", "Total received dropped packets by the network device"),
        ("receive_fifo_total", "Total received FIFO errors by the network device"),
        ("receive_frame_total", "Total received frames by the network device"),
        ("receive_compressed_total", "Total received compressed packets by the network device"),
        ("receive_multicast_total", "Total received multicast packets by the network device"),
        ("transmit_bytes_total", "Total transmitted bytes by the network device"),
        ("transmit_packets_total", "Total transmitted packets by the network device"),
        ("transmit_errors_total", "Total transmitted bytes by the network device"),
        ("transmit_dropped_total", "Total transmitted dropped packets by the network device"),
        ("transmit_fifo_total", "Total frame transmission errors FIFO by the network device"),
        ("transmit_colls_total", "Total transmitted collisions by the network device"),
        (
            "transmit_carrier_total",
            "Total frame transmission errors errors due to loss of carrier by the network device"
        ),
        ("transmit_compressed_total", "Total transmitted compressed packets by the network device"),
    ].map { suffix, help in
        MetricDescriptor("ceems_netdev_" + suffix, help: help, type: .counter, labels: ["hostname", "device"])
    }

    private let fs: LinuxFS
    private let hostname: String
    private let filter: DeviceFilter

    init(fs: LinuxFS, hostname: String, include: String?, exclude: String?) throws {
        self.fs = fs
        self.hostname = hostname
        self.filter = try DeviceFilter(include: include, exclude: exclude)
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        var buffer: [UInt8] = []
        let length = try SystemFile.read(fs.proc("net", "dev"), into: &buffer)
        for device in NetDev.parse(buffer[..<length]) where !filter.ignores(device.device) {
            for (descriptor, value) in zip(Self.columns, device.counters) {
                sink.add(descriptor, Double(value), [hostname, device.device])
            }
        }
    }
}

/// node_exporter's device filter: an unanchored include or exclude regular expression.
struct DeviceFilter: Sendable {
    enum FilterError: Error, CustomStringConvertible {
        case invalid(flag: String, reason: String)

        var description: String {
            switch self {
            case .invalid(let flag, let reason): "invalid regular expression for \(flag): \(reason)"
            }
        }
    }

    // Regex is not Sendable; the patterns are compiled per use, which costs microseconds for a few devices.
    private let include: String?
    private let exclude: String?

    init(include: String?, exclude: String?) throws {
        self.include = include
        self.exclude = exclude
        if let include { _ = try Self.compile(include, flag: "--collector.netdev.device-include") }
        if let exclude { _ = try Self.compile(exclude, flag: "--collector.netdev.device-exclude") }
    }

    func ignores(_ device: String) -> Bool {
        if let exclude, let regex = try? Self.compile(exclude, flag: ""), device.contains(regex) { return true }
        if let include, let regex = try? Self.compile(include, flag: ""), !device.contains(regex) { return true }
        return false
    }

    static func compile(_ pattern: String, flag: String) throws -> Regex<AnyRegexOutput> {
        do {
            return try Regex(pattern)
        } catch {
            throw FilterError.invalid(flag: flag, reason: "\(error)")
        }
    }
}
