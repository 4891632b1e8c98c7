import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging

/// InfiniBand and Omni-Path port state and counters from `/sys/class/infiniband` (no `hostname` label, as in
/// CEEMS).
final class InfinibandCollector: Collector {
    let name = CollectorName.infiniband.rawValue

    static let info = MetricDescriptor(
        "ceems_infiniband_info", help: "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
        type: .gauge, labels: ["device", "board_id", "firmware_version", "hca_type"])
    static let state = MetricDescriptor(
        "ceems_infiniband_state_id",
        help: "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
        type: .gauge, labels: ["device", "port"])
    static let physicalState = MetricDescriptor(
        "ceems_infiniband_physical_state_id",
        help:
            "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
        type: .gauge, labels: ["device", "port"])
    static let rate = MetricDescriptor(
        "ceems_infiniband_rate_bytes_per_second", help: "Maximum signal transfer rate", type: .gauge,
        labels: ["device", "port"])

    /// A counter file and how it is exported.
    struct Counter: Sendable {
        var file: String
        var descriptor: MetricDescriptor
        /// Data counters count 32-bit words (lanes × octets / 4).
        var multiplier: Double
    }

    /// The port counters, by sysfs file name (`ext/` for `counters_ext`).
    static let counters: [Counter] = {
        let table: [(String, String, String, Double)] = [
            (
                "ext/port_multicast_rcv_packets", "legacy_multicast_packets_received_total",
                "Number of multicast packets received", 1
            ),
            (
                "ext/port_multicast_xmit_packets", "legacy_multicast_packets_transmitted_total",
                "Number of multicast packets transmitted", 1
            ),
            (
                "ext/port_rcv_data_64", "legacy_data_received_bytes_total",
                "Number of data octets received on all links", 4
            ),
            (
                "ext/port_rcv_packets_64", "legacy_packets_received_total",
                "Number of data packets received on all links", 1
            ),
            (
                "ext/port_unicast_rcv_packets", "legacy_unicast_packets_received_total",
                "Number of unicast packets received", 1
            ),
            (
                "ext/port_unicast_xmit_packets", "legacy_unicast_packets_transmitted_total",
                "Number of unicast packets transmitted", 1
            ),
            (
                "ext/port_xmit_data_64", "legacy_data_transmitted_bytes_total",
                "Number of data octets transmitted on all links", 4
            ),
            (
                "ext/port_xmit_packets_64", "legacy_packets_transmitted_total",
                "Number of data packets received on all links", 1
            ),
            (
                "excessive_buffer_overrun_errors", "excessive_buffer_overrun_errors_total",
                "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
                1
            ),
            (
                "link_downed", "link_downed_total",
                "Number of times the link failed to recover from an error state and went down", 1
            ),
            (
                "link_error_recovery", "link_error_recovery_total",
                "Number of times the link successfully recovered from an error state", 1
            ),
            (
                "local_link_integrity_errors", "local_link_integrity_errors_total",
                "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
                1
            ),
            (
                "multicast_rcv_packets", "multicast_packets_received_total",
                "Number of multicast packets received (including errors)", 1
            ),
            (
                "multicast_xmit_packets", "multicast_packets_transmitted_total",
                "Number of multicast packets transmitted (including errors)", 1
            ),
            (
                "port_rcv_constraint_errors", "port_constraint_errors_received_total",
                "Number of packets received on the switch physical port that are discarded", 1
            ),
            (
                "port_xmit_constraint_errors", "port_constraint_errors_transmitted_total",
                "Number of packets not transmitted from the switch physical port", 1
            ),
            ("port_rcv_data", "port_data_received_bytes_total", "Number of data octets received on all links", 4),
            (
                "port_xmit_data", "port_data_transmitted_bytes_total", "Number of data octets transmitted on all links",
                4
            ),
            (
                "port_rcv_discards", "port_discards_received_total",
                "Number of inbound packets discarded by the port because the port is down or congested", 1
            ),
            (
                "port_xmit_discards", "port_discards_transmitted_total",
                "Number of outbound packets discarded by the port because the port is down or congested", 1
            ),
            (
                "port_rcv_errors", "port_errors_received_total",
                "Number of packets containing an error that were received on this port", 1
            ),
            (
                "port_rcv_packets", "port_packets_received_total",
                "Number of packets received on all VLs by this port (including errors)", 1
            ),
            (
                "port_xmit_packets", "port_packets_transmitted_total",
                "Number of packets transmitted on all VLs from this port (including errors)", 1
            ),
            (
                "port_xmit_wait", "port_transmit_wait_total",
                "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
                1
            ),
            (
                "unicast_rcv_packets", "unicast_packets_received_total",
                "Number of unicast packets received (including errors)", 1
            ),
            (
                "unicast_xmit_packets", "unicast_packets_transmitted_total",
                "Number of unicast packets transmitted (including errors)", 1
            ),
            (
                "port_rcv_remote_physical_errors", "port_receive_remote_physical_errors_total",
                "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.", 1
            ),
            (
                "port_rcv_switch_relay_errors", "port_receive_switch_relay_errors_total",
                "Number of packets that could not be forwarded by the switch.", 1
            ),
            (
                "symbol_error", "symbol_error_total",
                "Number of minor link errors detected on one or more physical lanes.", 1
            ),
            (
                "VL15_dropped", "vl15_dropped_total",
                "Number of incoming VL15 packets dropped due to resource limitations.", 1
            ),
        ]
        return table.map { file, suffix, help, multiplier in
            Counter(
                file: file,
                descriptor: MetricDescriptor(
                    "ceems_infiniband_" + suffix, help: help, type: .counter, labels: ["device", "port"]),
                multiplier: multiplier)
        }
    }()

    private let reader: InfiniBandReader
    private let warnings = WarnOnce()

    init(fs: LinuxFS) {
        self.reader = InfiniBandReader(fs: fs)
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        let devices: [InfiniBandDevice]
        do {
            devices = try reader.devices()
        } catch {
            guard case .notFound = error else { throw error }
            warnings.warn(
                "absent", "No InfiniBand device on this node", metadata: ["path": "\(reader.classPath)"],
                logger: context.logger)
            throw CollectorError.noData("no infiniband class at \(reader.classPath)")
        }
        for device in devices {
            sink.add(Self.info, 1, [device.name, device.boardID, device.firmwareVersion, device.hcaType])
            for port in device.ports {
                let labels = [device.name, port.number]
                if let state = port.state { sink.add(Self.state, Double(state), labels) }
                if let physical = port.physicalState { sink.add(Self.physicalState, Double(physical), labels) }
                if let rate = port.rateBytesPerSecond { sink.add(Self.rate, Double(rate), labels) }
                for counter in Self.counters {
                    guard let value = port.counters[counter.file] else { continue }
                    sink.add(counter.descriptor, Double(value) * counter.multiplier, labels)
                }
            }
        }
    }
}
