import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging

/// Power and energy sensors of the hardware monitors (`/sys/class/hwmon`), e.g. AMD/ARM socket power.
final class HwmonCollector: Collector {
    let name = CollectorName.hwmon.rawValue

    private static let labels = ["hostname", "sensor", "chip", "chip_name"]
    static let powerCurrent = MetricDescriptor(
        "ceems_hwmon_power_current_watts", help: "Current Power consumption in watts", type: .gauge, labels: labels)
    static let powerMin = MetricDescriptor(
        "ceems_hwmon_power_min_watts", help: "Minimum Power consumption in watts", type: .gauge, labels: labels)
    static let powerMax = MetricDescriptor(
        "ceems_hwmon_power_max_watts", help: "Maximum Power consumption in watts", type: .gauge, labels: labels)
    static let powerAverage = MetricDescriptor(
        "ceems_hwmon_power_avg_watts", help: "Average Power consumption in watts", type: .gauge, labels: labels)
    static let energyCurrent = MetricDescriptor(
        "ceems_hwmon_energy_current_joules", help: "Current Energy consumption in joules", type: .gauge,
        labels: labels)

    private let reader: HwmonReader
    private let hostname: String
    private let warnings = WarnOnce()

    init(fs: LinuxFS, hostname: String) {
        self.reader = HwmonReader(fs: fs)
        self.hostname = hostname
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        let readings: [HwmonReading]
        do {
            readings = try reader.readings()
        } catch {
            guard case .notFound(let path) = error else { throw error }
            warnings.warn(
                "absent", "No hardware monitor on this node", metadata: ["path": "\(path)"], logger: context.logger)
            throw CollectorError.noData("no hwmon class")
        }
        var found = false
        for reading in readings where reading.value > 0 {
            let descriptor: MetricDescriptor?
            switch (reading.kind, reading.property) {
            case (.power, "input"): descriptor = Self.powerCurrent
            case (.power, "input_lowest"): descriptor = Self.powerMin
            case (.power, "input_highest"): descriptor = Self.powerMax
            case (.power, "average"): descriptor = Self.powerAverage
            case (.energy, "input"): descriptor = Self.energyCurrent
            default: descriptor = nil
            }
            guard let descriptor else { continue }
            found = true
            sink.add(descriptor, reading.value, [hostname, reading.sensor, reading.chip, reading.chipName])
        }
        if !found {
            warnings.warn("no-sensors", "No power or energy sensor among the hardware monitors", logger: context.logger)
            throw CollectorError.noData("no power or energy hwmon sensor")
        }
    }
}
