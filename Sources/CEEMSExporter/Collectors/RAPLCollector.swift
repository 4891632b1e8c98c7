import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging
import Synchronization

/// Energy counters and power limits of the RAPL zones (`/sys/class/powercap`).
///
/// Machines without RAPL (VMs, most ARM) have no powercap class: the collector then warns once and reports
/// `ceems_scrape_collector_success 0` without stopping the exporter.
final class RAPLCollector: Collector {
    let name = CollectorName.rapl.rawValue

    static let joulesWithZoneLabel = MetricDescriptor(
        "ceems_rapl_joules_total", help: "Current RAPL value in joules", type: .counter,
        labels: ["hostname", "index", "path", "rapl_zone"])
    static let powerLimitWithZoneLabel = MetricDescriptor(
        "ceems_rapl_power_limit_watts_total", help: "Current RAPL power Limit value in watts", type: .counter,
        labels: ["hostname", "index", "path", "rapl_zone"])

    private let reader: PowercapReader
    private let hostname: String
    private let zoneLabel: Bool
    private let warnings = WarnOnce()
    private let descriptors = Mutex<[String: (MetricDescriptor, MetricDescriptor)]>([:])

    init(fs: LinuxFS, hostname: String, zoneLabel: Bool) {
        self.reader = PowercapReader(fs: fs)
        self.hostname = hostname
        self.zoneLabel = zoneLabel
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        let zones: [RAPLZone]
        do {
            zones = try reader.zones()
        } catch {
            guard case .notFound = error else { throw error }
            warnings.warn(
                "absent", "RAPL is not available on this node: no powercap class",
                metadata: ["path": "\(reader.classPath)"],
                logger: context.logger)
            throw CollectorError.noData("no powercap class at \(reader.classPath)")
        }
        if zones.isEmpty { throw CollectorError.noData("no RAPL zone under \(reader.classPath)") }
        // energy_uj is root-only since Linux 5.10 (CVE-2020-8694): read as a privileged action.
        let readings = Privileges.perform([.dacReadSearch]) {
            var buffer: [UInt8] = []
            return zones.map { zone in
                Result { () throws(SystemFileError) -> UInt64 in try reader.energyMicrojoules(zone, buffer: &buffer) }
            }
        }
        var buffer: [UInt8] = []
        var firstError: SystemFileError?
        for (zone, reading) in zip(zones, readings) {
            let energy: UInt64
            do {
                energy = try reading.get()
            } catch {
                // energy_uj is root-only since Linux 5.10 (CVE-2020-8694).
                warnings.warn(
                    "energy:\(zone.path)", "Cannot read RAPL energy counter",
                    metadata: ["path": "\(zone.path)", "err": "\(error)"], logger: context.logger)
                firstError = firstError ?? error
                continue
            }
            let limit = reader.powerLimitMicrowatts(zone, buffer: &buffer)
            let index = String(zone.index)
            if zoneLabel {
                sink.add(Self.joulesWithZoneLabel, Double(energy) / 1e6, [hostname, index, zone.path, zone.name])
                sink.add(Self.powerLimitWithZoneLabel, Double(limit) / 1e6, [hostname, index, zone.path, zone.name])
            } else {
                let (joules, powerLimit) = descriptors(for: zone.name)
                sink.add(joules, Double(energy) / 1e6, [hostname, index, zone.path])
                sink.add(powerLimit, Double(limit) / 1e6, [hostname, index, zone.path])
            }
        }
        if let firstError { throw firstError }
    }

    func descriptors(for zone: String) -> (MetricDescriptor, MetricDescriptor) {
        descriptors.withLock { cache in
            if let known = cache[zone] { return known }
            let metricZone = Self.sanitise(zone)
            let made = (
                MetricDescriptor(
                    "ceems_rapl_\(metricZone)_joules_total", help: "Current RAPL \(zone) value in joules",
                    type: .counter, labels: ["hostname", "index", "path"]),
                MetricDescriptor(
                    "ceems_rapl_\(metricZone)_power_limit_watts_total",
                    help: "Current RAPL \(zone) power limit in watts",
                    type: .counter, labels: ["hostname", "index", "path"])
            )
            cache[zone] = made
            return made
        }
    }

    /// Runs of `_*[^0-9A-Za-z_]+_*` become a single `_`.
    static func sanitise(_ zone: String) -> String {
        var out = ""
        var pendingSeparator = false
        var underscores = ""
        for character in zone {
            let isWord = character.isASCII && (character.isLetter || character.isNumber)
            if character == "_" {
                underscores.append("_")
            } else if isWord {
                if pendingSeparator {
                    out.append("_")
                    pendingSeparator = false
                    underscores = ""
                } else {
                    out += underscores
                    underscores = ""
                }
                out.append(character)
            } else {
                pendingSeparator = true
                underscores = ""
            }
        }
        if pendingSeparator {
            out.append("_")
        } else {
            out += underscores
        }
        return out
    }
}
