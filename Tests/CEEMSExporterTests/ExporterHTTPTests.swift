import AsyncHTTPClient
import CEEMSCore
import CEEMSMetrics
import CEEMSTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import NIOCore
import NIOHTTP1
import Testing

@testable import CEEMSExporter

@Suite(.serialized) struct ExporterHTTPTests {
    func configuration(_ tree: FixtureTree) -> ExporterConfiguration {
        var configuration = ExporterConfiguration()
        configuration.fs = NodeFixture.fs(tree)
        configuration.hostname = "node-1"
        configuration.enabledCollectors = [.cpu, .meminfo, .rapl, .crayPMCounters]
        return configuration
    }

    @Test func servesMetricsPlainAndGzipped() async throws {
        let tree = try NodeFixture.make()
        try await withExporter(configuration(tree)) { port, client in
            let plain = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(10))
            #expect(plain.status == .ok)
            #expect(plain.headers["Content-Type"] == ["text/plain; version=0.0.4; charset=utf-8"])
            #expect(plain.headers["Content-Encoding"].isEmpty)
            let text = String(decoding: try await plain.bytes(), as: UTF8.self)
            #expect(text.contains("ceems_cpu_seconds_total{hostname=\"node-1\",mode=\"idle\"} 89790.04\n"))
            #expect(text.contains("ceems_meminfo_MemTotal_bytes{hostname=\"node-1\"} 1.6042172416e+10\n"))
            #expect(text.contains("ceems_scrape_collector_success{collector=\"cpu\"} 1\n"))
            #expect(text.contains("ceems_exporter_build_info{"))
            #expect(text.contains("process_resident_memory_bytes "))
            #expect(text.contains("promhttp_metric_handler_requests_total{code=\"200\"} 1\n"))

            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics")
            request.headers.add(name: "Accept-Encoding", value: "deflate, gzip;q=0.8")
            let zipped = try await client.execute(request, timeout: .seconds(10))
            #expect(zipped.headers["Content-Encoding"] == ["gzip"])
            let unzipped = String(decoding: try Gzip.decompress(try await zipped.bytes()), as: UTF8.self)
            #expect(unzipped.contains("ceems_cpu_seconds_total{hostname=\"node-1\",mode=\"idle\"} 89790.04\n"))
        }
    }

    @Test func healthLandingPageAndNotFound() async throws {
        let tree = try NodeFixture.make()
        try await withExporter(configuration(tree)) { port, client in
            let health = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(5))
            #expect(health.status == .ok)
            #expect(health.headers["X-Content-Type-Options"] == ["nosniff"])
            #expect(String(decoding: try await health.bytes(), as: UTF8.self) == "CEEMS Exporter is healthy")
            let landing = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(5))
            let html = String(decoding: try await landing.bytes(), as: UTF8.self)
            #expect(html.contains("<h1>ceems_exporter</h1>"))
            #expect(html.contains("href=\"metrics\""))
            let missing = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/nope"), timeout: .seconds(5))
            #expect(missing.status == .notFound)
        }
    }

    @Test func basicAuthFromTheWebConfigFile() async throws {
        let tree = try NodeFixture.make()
        try tree.file("web.yml", "basic_auth_users:\n  prometheus: \(Bcrypt.hash("s3cret", cost: 4))\n")
        var configuration = configuration(tree)
        configuration.webConfigFile = tree.path("web.yml")
        try await withExporter(configuration) { port, client async throws in
            let url = "http://127.0.0.1:\(port)/metrics"
            #expect(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status == .unauthorized)
            var wrong = HTTPClientRequest(url: url)
            wrong.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("prometheus:guess".utf8)))
            #expect(try await client.execute(wrong, timeout: .seconds(5)).status == .unauthorized)
            var right = HTTPClientRequest(url: url)
            right.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("prometheus:s3cret".utf8)))
            #expect(try await client.execute(right, timeout: .seconds(5)).status == .ok)
        }
    }

    @Test func aBrokenWebConfigStopsTheStart() async throws {
        let tree = try NodeFixture.make()
        try tree.file("web.yml", "basic_auth_users:\n  prometheus: not-a-hash\n")
        var configuration = configuration(tree)
        configuration.webConfigFile = tree.path("web.yml")
        await #expect(throws: ExporterError.self) {
            _ = try await buildExporterApplication(configuration: configuration, logger: quietLogger)
        }
    }

    @Test func disablingExporterMetricsKeepsBuildInfo() async throws {
        let tree = try NodeFixture.make()
        var configuration = configuration(tree)
        configuration.disableExporterMetrics = true
        try await withExporter(configuration) { port, client async throws in
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
            let text = String(decoding: try await response.bytes(), as: UTF8.self)
            #expect(!text.contains("process_"))
            #expect(!text.contains("promhttp_"))
            #expect(text.contains("# TYPE ceems_exporter_build_info gauge\n"))
        }
    }

    @Test func tooManyConcurrentScrapesAnswer503() async throws {
        struct Slow: Collector {
            let name = "slow"
            func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        let endpoint = MetricsEndpoint(
            collectors: CollectorSet(collectors: [Slow()], logger: quietLogger), exporterMetrics: true, maxRequests: 1,
            defaultTimeout: .seconds(5))
        async let first = endpoint.respond(to: metricsRequest())
        try await Task.sleep(for: .milliseconds(100))
        let second = await endpoint.respond(to: metricsRequest())
        #expect(second.status == .serviceUnavailable)
        #expect(await first.status == .ok)
    }

    @Test func honoursPrometheusScrapeTimeoutHeader() {
        let endpoint = MetricsEndpoint(
            collectors: CollectorSet(collectors: [], logger: quietLogger), exporterMetrics: false, maxRequests: 0,
            defaultTimeout: .seconds(9))
        #expect(endpoint.scrapeTimeout(metricsRequest(scrapeTimeout: "3")) == .milliseconds(2500))
        #expect(endpoint.scrapeTimeout(metricsRequest(scrapeTimeout: "60")) == .seconds(9))
        #expect(endpoint.scrapeTimeout(metricsRequest(scrapeTimeout: "soon")) == .seconds(9))
    }

    @Test(arguments: [
        ("gzip", true), ("deflate, gzip;q=0.5", true), ("gzip;q=0", false), ("br", false), ("*", true), (nil, false),
    ])
    func negotiatesGzip(header: String?, accepted: Bool) {
        #expect(MetricsEndpoint.acceptsGzip(header) == accepted)
    }
}

func metricsRequest(scrapeTimeout: String? = nil) -> Request {
    var head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/metrics")
    if let scrapeTimeout {
        head.headerFields[HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!] = scrapeTimeout
    }
    return Request(head: head, body: RequestBody(buffer: ByteBuffer()))
}
