import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import CLinuxSupport
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Node power from the BMC over DCMI, through `ipmi-dcmi`, `ipmitool`, `ipmiutil`, Cray's `capmc`, or the
/// OpenIPMI device directly.
///
/// BMCs are slow and sometimes hang, so the reading sits behind a `RefreshingCache`: a scrape waits for a fresh
/// reading at most `waitBudget`, otherwise it gets the last good one; readings older than `maximumAge` are not
/// served (CEEMS repeated the last reading forever).
final class IPMIDCMICollector: Collector {
    let name = CollectorName.ipmiDCMI.rawValue

    static let current = MetricDescriptor(
        "ceems_ipmi_dcmi_current_watts", help: "Current Power consumption in watts", type: .gauge, labels: ["hostname"])
    static let minimum = MetricDescriptor(
        "ceems_ipmi_dcmi_min_watts", help: "Minimum Power consumption in watts", type: .gauge, labels: ["hostname"])
    static let maximum = MetricDescriptor(
        "ceems_ipmi_dcmi_max_watts", help: "Maximum Power consumption in watts", type: .gauge, labels: ["hostname"])
    static let average = MetricDescriptor(
        "ceems_ipmi_dcmi_avg_watts", help: "Average Power consumption in watts", type: .gauge, labels: ["hostname"])

    /// Tools probed in this order, with the arguments that print the DCMI power reading.
    static let knownTools: [(name: String, arguments: [String])] = [
        ("ipmi-dcmi", ["--get-system-power-statistics"]),
        ("ipmitool", ["dcmi", "power", "reading"]),
        ("ipmiutil", ["dcmi", "power"]),
        ("capmc", ["get_system_power", "-w", "600"]),
    ]
    static let systemDirectories = ["/sbin", "/usr/sbin", "/usr/local/sbin"]

    enum Source: Sendable, Equatable {
        case command(path: String, arguments: [String])
        case native(device: String)
        case unavailable(reason: String)
    }

    enum ReadingError: Error, CustomStringConvertible {
        case unparsable(String)
        case zeroReading
        case device(String, Int32)

        var description: String {
            switch self {
            case .unparsable(let source): "cannot parse the DCMI power reading of \(source)"
            case .zeroReading: "the BMC reported 0 W"
            case .device(let path, let code): "IPMI request on \(path) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    let source: Source
    private let hostname: String
    let cache: RefreshingCache<IPMIPowerReading>
    private let waitBudget: Duration
    private let warnings = WarnOnce()

    init(
        options: ExporterConfiguration.IPMIOptions, hostname: String, logger: Logger,
        waitBudget: Duration = .milliseconds(1500), maximumAge: Duration = .seconds(300)
    ) {
        let source = Self.resolveSource(options)
        self.source = source
        self.hostname = hostname
        self.waitBudget = waitBudget
        let testMode = options.testMode
        self.cache = RefreshingCache(maximumAge: maximumAge) {
            try await Self.read(source: source, testMode: testMode)
        }
        switch source {
        case .command(let path, let arguments):
            logger.info(
                "IPMI DCMI power from command", metadata: ["cmd": "\(([path] + arguments).joined(separator: " "))"])
        case .native(let device):
            logger.info("IPMI DCMI power from the OpenIPMI device", metadata: ["device": "\(device)"])
        case .unavailable(let reason):
            logger.warning("IPMI DCMI power is not available on this node", metadata: ["reason": "\(reason)"])
        }
    }

    /// Reads once at start-up so the first scrape has a value.
    func prime() async {
        if case .unavailable = source { return }
        await cache.prime()
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        if case .unavailable(let reason) = source { throw CollectorError.noData(reason) }
        let wait = min(waitBudget, context.remaining)
        guard let reading = await cache.value(waitingAtMost: wait) else {
            if let error = cache.lastError {
                warnings.warn(
                    "read", "Cannot read the DCMI power", metadata: ["err": "\(error)"], logger: context.logger)
                throw error
            }
            throw CollectorError.noData("no DCMI power reading yet")
        }
        warnings.reset("read")
        let values: [(MetricDescriptor, Double?)] = [
            (Self.current, reading.value.current), (Self.minimum, reading.value.minimum),
            (Self.maximum, reading.value.maximum), (Self.average, reading.value.average),
        ]
        for (descriptor, value) in values {
            if let value, value > 0 { sink.add(descriptor, value, [hostname]) }
        }
    }

    /// `--collector.ipmi_dcmi.cmd` if given, else the first known tool found, else the OpenIPMI device.
    static func resolveSource(_ options: ExporterConfiguration.IPMIOptions) -> Source {
        let device = [
            "/dev/ipmi\(options.deviceNumber)", "/dev/ipmi/\(options.deviceNumber)",
            "/dev/ipmidev/\(options.deviceNumber)",
        ].first(where: SystemFile.exists)
        if options.forceNativeMode {
            if let device { return .native(device: device) }
            return .unavailable(reason: "native mode forced but no /dev/ipmi\(options.deviceNumber) device")
        }
        if let executable = options.command.first {
            guard let path = CommandRunner.lookPath(executable, extraDirectories: systemDirectories) else {
                return .unavailable(reason: "command \(executable) not found")
            }
            var arguments = Array(options.command.dropFirst())
            if arguments.isEmpty, let known = knownTools.first(where: { $0.name == FilePathSyntax.base(path) }) {
                arguments = known.arguments
            }
            return .command(path: path, arguments: arguments)
        }
        for tool in knownTools {
            if let path = CommandRunner.lookPath(tool.name, extraDirectories: systemDirectories) {
                return .command(path: path, arguments: tool.arguments)
            }
        }
        if let device { return .native(device: device) }
        return .unavailable(reason: "no IPMI tool (ipmi-dcmi, ipmitool, ipmiutil, capmc) and no IPMI device")
    }

    static func read(source: Source, testMode: Bool) async throws -> IPMIPowerReading {
        let reading: IPMIPowerReading?
        switch source {
        case .unavailable(let reason):
            throw CollectorError.noData(reason)
        case .native(let device):
            reading = try await nativeReading(device: device)
        case .command(let path, let arguments):
            let output = try await runTool(path: path, arguments: arguments, testMode: testMode)
            reading =
                FilePathSyntax.base(path) == "capmc"
                ? IPMIOutputParser.parseCapmc(output) : IPMIOutputParser.parseText(output)
        }
        guard let reading else { throw ReadingError.unparsable(FilePathSyntax.base(sourceName(source))) }
        // A BMC answering 0 W is glitching: keep serving the previous reading.
        guard let current = reading.current, current > 0 else { throw ReadingError.zeroReading }
        return reading
    }

    static func sourceName(_ source: Source) -> String {
        switch source {
        case .command(let path, _): path
        case .native(let device): device
        case .unavailable: "none"
        }
    }

    /// Runs the tool as root: directly when the exporter is root (or in test mode), as uid 0 when it dropped to
    /// its run-as user keeping cap_setuid/cap_setgid, else through `sudo -n`.
    static func runTool(path: String, arguments: [String], testMode: Bool) async throws -> String {
        let runner = CommandRunner()
        if testMode || geteuid() == 0 {
            return try await runner.run(path, arguments: arguments, timeout: .seconds(5)).text
        }
        // Dropped to the run-as user with cap_setuid/cap_setgid kept: the tool runs as root (exporter.md §10).
        if Privileges.canStartCommandsAsRoot {
            return try await RootCommand.run(path, arguments: arguments, timeout: .seconds(5)).text
        }
        if let sudo = CommandRunner.lookPath("sudo") {
            if let output = try? await runner.run(sudo, arguments: ["-n", path] + arguments, timeout: .seconds(1)) {
                return output.text
            }
        }
        return try await runner.run(path, arguments: arguments, timeout: .seconds(5)).text
    }

    /// DCMI Get Power Reading through the OpenIPMI driver (opening the device is privileged).
    static func nativeReading(device: String) async throws -> IPMIPowerReading? {
        let response: [UInt8] = try await PrivilegedIO.run([.dacOverride]) {
            var buffer = [UInt8](repeating: 0, count: 64)
            let request = IPMIOutputParser.dcmiPowerReadingRequest
            let count = request.withUnsafeBufferPointer { requestBytes in
                buffer.withUnsafeMutableBufferPointer { responseBytes in
                    ceems_ipmi_request(
                        device, 0x2C, 0x02, requestBytes.baseAddress, UInt16(requestBytes.count),
                        responseBytes.baseAddress, Int32(responseBytes.count), 1000)
                }
            }
            if count < 0 { throw ReadingError.device(device, -count) }
            return Array(buffer.prefix(Int(count)))
        }
        return IPMIOutputParser.parseDCMIResponse(response)
    }
}

extension IPMIDCMICollector {
    /// The last error of the source (tests and debugging).
    var lastErrorDescription: String? { cache.lastError.map { "\($0)" } }
}
