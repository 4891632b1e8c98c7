import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import CLinuxSupport
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Chassis power from the node's BMC over Redfish (directly or through `redfish_proxy`).
///
/// The BMC is read behind a `RefreshingCache`: a scrape waits for it at most `waitBudget`; a BMC that is down
/// at start-up does not stop the exporter, it is retried on later scrapes and reported with success 0.
final class RedfishCollector: Collector {
    let name = CollectorName.redfish.rawValue

    private static let labels = ["hostname", "chassis"]
    static let current = MetricDescriptor(
        "ceems_redfish_current_watts", help: "Current Power consumption in watts", type: .gauge, labels: labels)
    static let minimum = MetricDescriptor(
        "ceems_redfish_min_watts", help: "Minimum Power consumption in watts", type: .gauge, labels: labels)
    static let maximum = MetricDescriptor(
        "ceems_redfish_max_watts", help: "Maximum Power consumption in watts", type: .gauge, labels: labels)
    static let average = MetricDescriptor(
        "ceems_redfish_avg_watts", help: "Average Power consumption in watts", type: .gauge, labels: labels)

    let client: RedfishClient
    private let hostname: String
    private let cache: RefreshingCache<[String: ChassisPower]>
    private let waitBudget: Duration
    private let warnings = WarnOnce()

    init(
        options: ExporterConfiguration.RedfishOptions, hostname: String, logger: Logger,
        waitBudget: Duration = .milliseconds(1500), maximumAge: Duration = .seconds(300)
    ) async throws {
        guard let file = options.configFile else {
            throw ConfigError.invalid(
                file: "--collector.redfish.config.file", reason: "the redfish collector needs a config file")
        }
        let config = try RedfishConfig.load(
            file: file, expandEnvironment: options.expandEnvironment, nodeHostname: hostname)
        var bmcHost = config.hostname
        if bmcHost.isEmpty && config.externalURL.isEmpty {
            bmcHost = await Self.discoverBMCAddress(logger: logger) ?? ""
        }
        let client = try RedfishClient(config: config, bmcHost: bmcHost, logger: logger)
        self.client = client
        self.hostname = hostname
        self.waitBudget = waitBudget
        self.cache = RefreshingCache(maximumAge: maximumAge) { try await client.readPower() }
        logger.info("Redfish collector", metadata: ["url": "\(client.baseURL)", "bmc": "\(client.targetURL)"])
    }

    /// Connects and reads once at start-up; a failure is logged, not fatal.
    func prime(logger: Logger) async {
        await cache.prime()
        if let error = cache.lastError {
            logger.warning("Redfish BMC not reachable at start-up; will retry", metadata: ["err": "\(error)"])
        }
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        guard let reading = await cache.value(waitingAtMost: min(waitBudget, context.remaining)) else {
            if let error = cache.lastError {
                warnings.warn(
                    "read", "Cannot read Redfish power", metadata: ["err": "\(error)"], logger: context.logger)
                throw error
            }
            throw CollectorError.noData("no Redfish power reading yet")
        }
        warnings.reset("read")
        for (id, power) in reading.value {
            let labels = [hostname, Self.chassisLabel(id)]
            if power.current > 0 { sink.add(Self.current, power.current, labels) }
            if power.minimum > 0 { sink.add(Self.minimum, power.minimum, labels) }
            if power.maximum > 0 { sink.add(Self.maximum, power.maximum, labels) }
            if power.average > 0 { sink.add(Self.average, power.average, labels) }
        }
    }

    func shutdown() async {
        await client.shutdown()
    }

    /// `Chassis-1` → `Chassis_1`: runs of non-alphanumeric characters become `_`.
    static func chassisLabel(_ id: String) -> String {
        var out = ""
        var inRun = false
        for character in id {
            if character.isASCII && (character.isLetter || character.isNumber) {
                out.append(character)
                inRun = false
            } else if !inRun {
                out.append("_")
                inRun = true
            }
        }
        return out
    }

    /// Asks the local BMC for its LAN IP address (IPMI "Get LAN Configuration Parameters", parameter 3) and
    /// reverse-resolves it; nil when there is no IPMI device or no answer within a second.
    static func discoverBMCAddress(logger: Logger) async -> String? {
        guard SystemFile.exists("/dev/ipmi0") else { return nil }
        let address: [UInt8]? = try? await PrivilegedIO.run([.dacOverride]) {
            for channel: UInt8 in [1, 2, 3, 8] {
                var response = [UInt8](repeating: 0, count: 32)
                let request: [UInt8] = [channel, 3, 0, 0]
                let count = request.withUnsafeBufferPointer { requestBytes in
                    response.withUnsafeMutableBufferPointer { responseBytes in
                        ceems_ipmi_request(
                            "/dev/ipmi0", 0x0C, 0x02, requestBytes.baseAddress, UInt16(requestBytes.count),
                            responseBytes.baseAddress, Int32(responseBytes.count), 1000)
                    }
                }
                if count >= 6, response[0] == 0, response[2...5].contains(where: { $0 != 0 }) {
                    return Array(response[2...5])
                }
                if count < 0 { return nil }
            }
            return nil
        }
        guard let address else {
            logger.debug("BMC address discovery over IPMI gave no address")
            return nil
        }
        let ip = address.map(String.init).joined(separator: ".")
        return reverseLookup(ip) ?? ip
    }

    static func reverseLookup(_ ip: String) -> String? {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        guard inet_pton(AF_INET, ip, &socketAddress.sin_addr) == 1 else { return nil }
        var host = [CChar](repeating: 0, count: 1025)
        let status = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo(
                    $0, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
            }
        }
        guard status == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
