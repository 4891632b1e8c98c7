import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging

/// Node, CPU, memory and accelerator power and energy of HPE Cray EX blades (`/sys/cray/pm_counters`).
final class CrayPMCountersCollector: Collector {
    let name = CollectorName.crayPMCounters.rawValue

    static let energy = MetricDescriptor(
        "ceems_cray_pm_counters_energy_joules", help: "Current energy value in joules", type: .gauge,
        labels: ["hostname", "domain"])
    static let power = MetricDescriptor(
        "ceems_cray_pm_counters_power_watts", help: "Current power value in watts", type: .gauge,
        labels: ["hostname", "domain"])
    static let powerLimit = MetricDescriptor(
        "ceems_cray_pm_counters_power_limit_watts", help: "Current power limit value in watts", type: .gauge,
        labels: ["hostname", "domain"])
    static let temperature = MetricDescriptor(
        "ceems_cray_pm_counters_temp_celsius", help: "Current temperature value in celsius", type: .gauge,
        labels: ["hostname", "domain"])

    private let reader: CrayPMCountersReader
    private let hostname: String
    private let warnings = WarnOnce()

    init(fs: LinuxFS, hostname: String) {
        self.reader = CrayPMCountersReader(fs: fs)
        self.hostname = hostname
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        let domains: [CrayPMDomain]
        do {
            domains = try reader.domains()
        } catch {
            guard case .notFound = error else { throw error }
            warnings.warn(
                "absent", "No Cray PM counters on this node", metadata: ["path": "\(reader.directory)"],
                logger: context.logger)
            throw CollectorError.noData("no pm_counters at \(reader.directory)")
        }
        for domain in domains {
            let labels = [hostname, domain.name]
            if let value = domain.energyJoules, value > 0 { sink.add(Self.energy, Double(value), labels) }
            if let value = domain.powerWatts, value > 0 { sink.add(Self.power, Double(value), labels) }
            if let value = domain.powerCapWatts, value > 0 { sink.add(Self.powerLimit, Double(value), labels) }
            if let value = domain.temperatureCelsius, value > 0 { sink.add(Self.temperature, Double(value), labels) }
        }
    }
}
