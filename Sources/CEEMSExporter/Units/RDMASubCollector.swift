import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// RDMA resources and counters per unit (`rdma` tool) and per port (`/sys/class/infiniband`).
///
/// Memory regions, completion queues and queue pairs are summed per (unit, device[, port]) — the reference
/// gave all of a unit's resources the device of its first line. Per-PID hardware counters exist only on links
/// whose automatic per-PID QP counters are on; started as root, the exporter turns them on for Mellanox links
/// and off again at shutdown.
final class RDMASubCollector: UnitSubCollector {
    let name = "rdma"

    private static let unitLabels = ["manager", "hostname", "device", "port", "uuid"]
    private static let portLabels = ["manager", "hostname", "device", "port"]
    static let qps = MetricDescriptor(
        "ceems_rdma_qps_active", help: "Number of active QPs", type: .gauge, labels: unitLabels)
    static let cqs = MetricDescriptor(
        "ceems_rdma_cqs_active", help: "Number of active CQs", type: .gauge, labels: unitLabels)
    static let mrs = MetricDescriptor(
        "ceems_rdma_mrs_active", help: "Number of active MRs", type: .gauge, labels: unitLabels)
    static let cqeLength = MetricDescriptor(
        "ceems_rdma_cqe_len_active", help: "Length of active CQs", type: .gauge, labels: unitLabels)
    static let mrLength = MetricDescriptor(
        "ceems_rdma_mrs_len_active", help: "Length of active MRs", type: .gauge, labels: unitLabels)
    static let state = MetricDescriptor(
        "ceems_rdma_state_id",
        help: "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
        type: .gauge, labels: portLabels)

    /// Per-PID hardware counters of `rdma statistic qp show`.
    static let hardwareCounters: [(key: String, descriptor: MetricDescriptor)] = [
        ("rx_write_requests", "Number of received write requests for the associated QPs"),
        ("rx_read_requests", "Number of received read requests for the associated QPs"),
        ("rx_atomic_requests", "Number of received atomic request for the associated QPs"),
        ("req_cqe_error", "Number of times requester detected CQEs completed with errors"),
        ("req_cqe_flush_error", "Number of times requester detected CQEs completed with flushed errors"),
        ("req_remote_access_errors", "Number of times requester detected remote access errors"),
        ("req_remote_invalid_request", "Number of times requester detected remote invalid request errors"),
        ("resp_cqe_error", "Number of times responder detected CQEs completed with errors"),
        ("resp_cqe_flush_error", "Number of times responder detected CQEs completed with flushed errors"),
        ("resp_local_length_error", "Number of times responder detected local length errors"),
        ("resp_remote_access_errors", "Number of times responder detected remote access errors"),
    ].map { key, help in
        (key, MetricDescriptor("ceems_rdma_" + key, help: help, type: .counter, labels: unitLabels))
    }

    /// Port counters from sysfs, with the InfiniBand collector's HELP.
    static let portCounters: [(file: String, multiplier: Double, descriptor: MetricDescriptor)] = [
        ("port_rcv_constraint_errors", 1, "constraint_errors_received_total"),
        ("port_xmit_constraint_errors", 1, "constraint_errors_transmitted_total"),
        ("port_rcv_data", 4, "data_received_bytes_total"),
        ("port_xmit_data", 4, "data_transmitted_bytes_total"),
        ("port_rcv_discards", 1, "discards_received_total"),
        ("port_xmit_discards", 1, "discards_transmitted_total"),
        ("port_rcv_errors", 1, "errors_received_total"),
        ("port_rcv_packets", 1, "packets_received_total"),
        ("port_xmit_packets", 1, "packets_transmitted_total"),
    ].map { file, multiplier, suffix in
        let help =
            InfinibandCollector.counters.first { $0.descriptor.name == "ceems_infiniband_port_" + suffix }?
            .descriptor.help ?? suffix
        return (
            file, multiplier,
            MetricDescriptor("ceems_rdma_port_" + suffix, help: help, type: .counter, labels: portLabels)
        )
    }

    let command: String
    let manager: ResourceManager
    let hostname: String
    private let reader: InfiniBandReader
    private let countersEnabled: Mutex<Set<String>>
    private let enabledByUs: Mutex<[String]>
    private let logger: Logger

    /// Nil when the node has no InfiniBand class or no `rdma` tool (warned once).
    init?(fs: LinuxFS, command: String, manager: ResourceManager, hostname: String, logger: Logger) {
        self.reader = InfiniBandReader(fs: fs)
        guard Directory.exists(reader.classPath) else {
            logger.warning(
                "RDMA stats enabled but the node has no InfiniBand device", metadata: ["path": "\(reader.classPath)"])
            return nil
        }
        let tool = command.isEmpty ? CommandRunner.lookPath("rdma", extraDirectories: ["/sbin", "/usr/sbin"]) : command
        guard let tool, SystemFile.isExecutable(tool) else {
            logger.warning("RDMA stats enabled but the rdma tool (iproute2) is not installed")
            return nil
        }
        self.command = tool
        self.manager = manager
        self.hostname = hostname
        self.logger = logger
        self.countersEnabled = Mutex([])
        self.enabledByUs = Mutex([])
    }

    /// Reads which links have per-PID QP counters and, as root, turns them on for Mellanox links.
    func start() async {
        guard
            let output = try? await CommandRunner().run(
                command, arguments: ["statistic", "qp", "mode"], timeout: .seconds(5))
        else { return }
        var enabled: Set<String> = []
        for (link, on) in RDMAOutput.qpModes(output.text) {
            if on {
                enabled.insert(link)
            } else if link.hasPrefix("mlx"), Privileges.canStartCommandsAsRoot {
                let arguments = ["statistic", "qp", "set", "link", link, "auto", "type,pid", "on"]
                if (try? await RootCommand.run(command, arguments: arguments, timeout: .seconds(5))) != nil {
                    enabled.insert(link)
                    enabledByUs.withLock { $0.append(link) }
                }
            }
        }
        countersEnabled.withLock { $0 = enabled }
    }

    /// Turns off the counters this exporter turned on.
    func shutdown() async {
        for link in enabledByUs.withLock({ $0 }) {
            _ = try? await RootCommand.run(
                command, arguments: ["statistic", "qp", "set", "link", link, "auto", "off"], timeout: .seconds(5))
        }
    }

    func collect(units: [ComputeUnit], collector: ComputeUnitCollector, into sink: inout MetricSink) async throws {
        let managerName = manager.rawValue
        // Port state and counters.
        for device in (try? reader.devices()) ?? [] {
            for port in device.ports {
                let labels = [managerName, hostname, device.name, port.number]
                if let state = port.state { sink.add(Self.state, Double(state), labels) }
                for counter in Self.portCounters {
                    if let value = port.counters[counter.file], value > 0 {
                        sink.add(counter.descriptor, Double(value) * counter.multiplier, labels)
                    }
                }
            }
        }
        // Processes of every unit.
        var uuidByPID: [Int32: String] = [:]
        var buffer: [UInt8] = []
        for unit in units {
            for pid in collector.processes(of: unit, buffer: &buffer) where uuidByPID[pid] == nil {
                uuidByPID[pid] = unit.uuid
            }
        }
        guard !uuidByPID.isEmpty else { return }
        let runner = CommandRunner()
        async let mrOutput = runner.run(command, arguments: ["resource", "show", "mr"], timeout: .seconds(5))
        async let cqOutput = runner.run(command, arguments: ["resource", "show", "cq"], timeout: .seconds(5))
        async let qpOutput = runner.run(command, arguments: ["resource", "show", "qp"], timeout: .seconds(5))
        struct Key: Hashable {
            var uuid: String
            var device: String
            var port: String
        }
        func aggregate(_ resources: [RDMAOutput.Resource], port: Bool) -> [Key: (count: Double, length: Double)] {
            var result: [Key: (Double, Double)] = [:]
            for resource in resources {
                guard let uuid = uuidByPID[resource.pid] else { continue }
                let key = Key(uuid: uuid, device: resource.device, port: port ? resource.port : "")
                let current = result[key] ?? (0, 0)
                result[key] = (current.0 + 1, current.1 + Double(resource.length))
            }
            return result
        }
        var firstError: (any Error)?
        do {
            for (key, value) in aggregate(
                RDMAOutput.resources(try await mrOutput.text, lengthKey: "mrlen"), port: false)
            {
                let labels = [managerName, hostname, key.device, key.port, key.uuid]
                sink.add(Self.mrs, value.count, labels)
                sink.add(Self.mrLength, value.length, labels)
            }
        } catch { firstError = firstError ?? error }
        do {
            for (key, value) in aggregate(RDMAOutput.resources(try await cqOutput.text, lengthKey: "cqe"), port: false)
            {
                let labels = [managerName, hostname, key.device, key.port, key.uuid]
                sink.add(Self.cqs, value.count, labels)
                sink.add(Self.cqeLength, value.length, labels)
            }
        } catch { firstError = firstError ?? error }
        do {
            for (key, value) in aggregate(RDMAOutput.resources(try await qpOutput.text, lengthKey: nil), port: true) {
                sink.add(Self.qps, value.count, [managerName, hostname, key.device, key.port, key.uuid])
            }
        } catch { firstError = firstError ?? error }

        let enabled = countersEnabled.withLock { $0 }
        if !enabled.isEmpty {
            let output = try await runner.run(command, arguments: ["statistic", "qp", "show"], timeout: .seconds(5))
            var sums: [Key: [String: UInt64]] = [:]
            for entry in RDMAOutput.qpCounters(output.text) where enabled.contains(entry.device + "/" + entry.port) {
                guard let uuid = uuidByPID[entry.pid] else { continue }
                let key = Key(uuid: uuid, device: entry.device, port: entry.port)
                for (name, value) in entry.counters { sums[key, default: [:]][name, default: 0] += value }
            }
            for (key, counters) in sums {
                for counter in Self.hardwareCounters {
                    if let value = counters[counter.key], value > 0 {
                        sink.add(
                            counter.descriptor, Double(value), [managerName, hostname, key.device, key.port, key.uuid])
                    }
                }
            }
        }
        if let firstError { throw firstError }
    }
}
