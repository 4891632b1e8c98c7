import CEEMSCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus (Debian's `prometheus`) on a loopback port, its TSDB loaded with `promtool tsdb
/// create-blocks-from openmetrics`. Stopped by `stop()`.
public final class RealPrometheus: @unchecked Sendable {
    // @unchecked: the process handle is only touched by `stop()`, once, from the test that made it.
    public let url: String
    public let port: Int
    public let directory: String
    private let process: Process

    public static var available: Bool {
        CommandRunner.lookPath("prometheus") != nil && CommandRunner.lookPath("promtool") != nil
    }

    /// Whether CI requires it (then a missing binary fails the test instead of skipping it).
    public static var required: Bool { ProcessInfo.processInfo.environment["CEEMS_REQUIRE_PROMETHEUS"] == "1" }

    /// - Parameter scrapeConfigs: YAML appended to the configuration (e.g. a `scrape_configs:` block, whose targets
    ///   need not answer: they give `/api/v1/targets` its jobs and intervals).
    public init(
        openMetrics: String, scrapeInterval: String = "30s", evaluationInterval: String? = nil,
        scrapeConfigs: String = "", extraFlags: [String] = []
    ) async throws {
        directory = try temporaryDirectory()
        let metrics = directory + "/series.om"
        try openMetrics.write(toFile: metrics, atomically: true, encoding: .utf8)
        let data = directory + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        _ = try await CommandRunner().run(
            CommandRunner.lookPath("promtool") ?? "promtool",
            arguments: ["tsdb", "create-blocks-from", "openmetrics", metrics, data], timeout: .seconds(120))
        let config = directory + "/prometheus.yml"
        try "global:\n  scrape_interval: \(scrapeInterval)\n  evaluation_interval: \(evaluationInterval ?? scrapeInterval)\n\(scrapeConfigs)".write(
            toFile: config, atomically: true, encoding: .utf8)
        port = try Self.freePort()
        url = "http://127.0.0.1:\(port)"
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.lookPath("prometheus") ?? "prometheus")
        process.arguments =
            [
                "--config.file=\(config)", "--storage.tsdb.path=\(data)", "--web.listen-address=127.0.0.1:\(port)",
                "--storage.tsdb.retention.time=100y", "--web.enable-admin-api", "--query.lookback-delta=1m",
            ] + extraFlags
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if Self.isReady(port: port) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        stop()
        throw CocoaError(.fileReadUnknown)
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `GET /-/ready` answers 200.
    public static func isReady(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return false }
        let request = "GET /-/ready HTTP/1.0\r\nHost: localhost\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, 64, 0)
        return count > 12 && String(decoding: buffer[0..<count], as: UTF8.self).hasPrefix("HTTP/1.0 200")
    }

    /// OpenMetrics text for gauges sampled every `step` seconds over [start, end] (epoch seconds).
    public static func gauges(
        _ series: [(name: String, labels: String, value: Double, start: Int, end: Int)], step: Int = 30
    )
        -> String
    {
        var byName: [String: [String]] = [:]
        var order: [String] = []
        for item in series {
            if byName[item.name] == nil { order.append(item.name) }
            var time = item.start
            while time <= item.end {
                byName[item.name, default: []].append("\(item.name){\(item.labels)} \(item.value) \(time)")
                time += step
            }
        }
        var text = ""
        for name in order {
            text += "# TYPE \(name) gauge\n"
            text += byName[name, default: []].joined(separator: "\n") + "\n"
        }
        return text + "# EOF\n"
    }
}

/// A new empty directory under the system's temporary directory.
public func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "ceems-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
