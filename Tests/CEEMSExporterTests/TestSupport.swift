import AsyncHTTPClient
import CEEMSMetrics
import CEEMSTestSupport
import CEEMSWeb
import Logging
import NIOCore
import NIOHTTP1

@testable import CEEMSExporter

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Collects the given collectors once and renders the text format, without the timing samples.
func scrape(
    _ collectors: [any Collector], replacing root: String? = nil, timeout: Duration = .seconds(5)
) async -> String {
    let sinks = await CollectorSet(collectors: collectors, logger: quietLogger).collect(timeout: timeout)
    var text = ExpositionWriter.render(sinks)
    text = text.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("ceems_scrape_collector_duration_seconds{") }
        .joined(separator: "\n")
    if let root { text = text.replacingOccurrences(of: root, with: "<root>") }
    return text
}

/// Runs an exporter built from `configuration` on a loopback port for the duration of `body`.
func withExporter<Result: Sendable>(
    _ configuration: ExporterConfiguration, _ body: @Sendable (Int, HTTPClient) async throws -> Result
) async throws -> Result {
    var configuration = configuration
    configuration.listenAddresses = [ListenAddress(host: "127.0.0.1", port: 0)]
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    defer { _ = client.shutdown() }
    return try await withRunningService(
        { [configuration] ports in
            let application = try await buildExporterApplication(
                configuration: configuration, logger: quietLogger, onListening: { _, port in ports.yield(port) })
            try await application.run()
        },
        { port in try await body(port, client) })
}

extension HTTPClientResponse {
    func bytes() async throws -> [UInt8] {
        Array(buffer: try await body.collect(upTo: 16 << 20))
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
