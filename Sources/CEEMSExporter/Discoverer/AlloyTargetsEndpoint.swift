import CEEMSCore
import CEEMSLinux
import Hummingbird
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `/alloy-targets`: one Grafana Alloy (Pyroscope) target per process of each SLURM job or pod, JSON as CEEMS
/// writes it: `[{"targets":["<id>"],"labels":{"__process_pid__":"<pid>","service_name":"<uuid>"}}]`.
final class AlloyTargetsEndpoint: Sendable {
    static let selfName = "__internal_ceems_exporter"

    let collectors: [ComputeUnitCollector]
    let environmentPrefixes: [String]
    let selfProfiler: Bool
    let maxRequests: Int
    let logger: Logger
    private let inFlight = Atomic<Int>(0)

    init(
        collectors: [ComputeUnitCollector], environmentPrefixes: [String], selfProfiler: Bool, maxRequests: Int,
        logger: Logger
    ) {
        self.collectors = collectors
        self.environmentPrefixes = environmentPrefixes
        self.selfProfiler = selfProfiler
        self.maxRequests = maxRequests
        self.logger = logger
    }

    struct Target: Sendable, Equatable {
        var id: String
        var pid: Int32
        var uuid: String
    }

    func respond() async -> Response {
        let current = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        if maxRequests > 0 && current > maxRequests {
            return WebResponses.text(
                .serviceUnavailable, "Limit of concurrent requests reached (\(maxRequests)), try again later.\n")
        }
        let targets = await gather()
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: Self.render(targets))))
    }

    func gather() async -> [Target] {
        var targets: [Target] = []
        for collector in collectors {
            let units = await collector.currentUnits(logger: logger)
            // Reading other users' environments is a privileged action (cap_sys_ptrace, cap_dac_read_search).
            targets += Privileges.perform([.sysPtrace, .dacReadSearch]) {
                var buffer: [UInt8] = []
                var found: [Target] = []
                for unit in units {
                    for pid in collector.processes(of: unit, buffer: &buffer)
                    where keeps(pid, procfs: collector.discovery.procfs, buffer: &buffer) {
                        found.append(Target(id: unit.id, pid: pid, uuid: unit.uuid))
                    }
                }
                return found
            }
        }
        if selfProfiler {
            targets.append(Target(id: Self.selfName, pid: getpid(), uuid: Self.selfName))
        }
        return targets
    }

    /// With `--discoverer.alloy-targets.env-var`, keeps a process only when its environment has a variable
    /// starting with one of the prefixes.
    private func keeps(_ pid: Int32, procfs: String, buffer: inout [UInt8]) -> Bool {
        guard !environmentPrefixes.isEmpty else { return true }
        guard let count = try? SystemFile.read(procfs + "/\(pid)/environ", into: &buffer) else { return false }
        return ProcessEnvironment.hasEntry(startingWithOneOf: environmentPrefixes, in: buffer[..<count])
    }

    /// No target gives `null` (as Go encodes a nil slice), followed by a newline.
    static func render(_ targets: [Target]) -> String {
        guard !targets.isEmpty else { return "null\n" }
        var out = "["
        for (position, target) in targets.enumerated() {
            if position > 0 { out += "," }
            out += "{\"targets\":[\(JSONString.quote(target.id))],\"labels\":{\"__process_pid__\":\"\(target.pid)\","
            out += "\"service_name\":\(JSONString.quote(target.uuid))}}"
        }
        return out + "]\n"
    }
}
