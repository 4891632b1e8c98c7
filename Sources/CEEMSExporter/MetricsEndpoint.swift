import CEEMSCore
import CEEMSMetrics
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The telemetry endpoint: runs a scrape, writes the text format, gzips it when asked, limits concurrent
/// scrapes (`--web.max-requests`) and counts requests like promhttp.
final class MetricsEndpoint: Sendable {
    static let requestsTotal = MetricDescriptor(
        "promhttp_metric_handler_requests_total", help: "Total number of scrapes by HTTP status code.",
        type: .counter, labels: ["code"])
    static let requestsInFlight = MetricDescriptor(
        "promhttp_metric_handler_requests_in_flight", help: "Current number of scrapes being served.", type: .gauge)

    let collectors: CollectorSet
    private let process: ProcessCollector?
    private let maxRequests: Int
    private let defaultTimeout: Duration
    private let inFlight = Atomic<Int>(0)
    private let statusCounts = Mutex<[Int: Int]>([200: 0, 500: 0, 503: 0])
    /// The size of the last body, to size the next buffer in one allocation.
    private let lastSize = Atomic<Int>(16 << 10)

    private let afterFirstScrape: @Sendable () -> Void

    init(
        collectors: CollectorSet, exporterMetrics: Bool, maxRequests: Int, defaultTimeout: Duration,
        afterFirstScrape: @escaping @Sendable () -> Void = {}
    ) {
        self.collectors = collectors
        self.afterFirstScrape = afterFirstScrape
        self.process = exporterMetrics ? ProcessCollector() : nil
        self.maxRequests = maxRequests
        self.defaultTimeout = defaultTimeout
    }

    func respond(to request: Request) async -> Response {
        let current = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        defer { inFlight.wrappingSubtract(1, ordering: .relaxed) }
        if maxRequests > 0 && current > maxRequests {
            count(503)
            return WebResponses.text(
                .serviceUnavailable, "Limit of concurrent requests reached (\(maxRequests)), try again later.\n")
        }
        var sinks = await collectors.collect(timeout: scrapeTimeout(request))
        var framework = MetricSink()
        BuildInfoMetric.collect(into: &framework)
        if let process {
            process.collect(into: &framework)
            framework.add(Self.requestsInFlight, Double(current), [])
            let counts = statusCounts.withLock { $0 }
            for (code, total) in counts {
                // The scrape being served counts as a 200, as promhttp counts it before writing.
                framework.add(Self.requestsTotal, Double(total + (code == 200 ? 1 : 0)), [String(code)])
            }
        }
        sinks.append(framework)
        var body: [UInt8] = []
        body.reserveCapacity(lastSize.load(ordering: .relaxed) + 1024)
        ExpositionWriter.write(sinks, into: &body)
        lastSize.store(body.count, ordering: .relaxed)

        var headers = HTTPFields()
        headers[.contentType] = ExpositionWriter.contentType
        if Self.acceptsGzip(request.headers[.acceptEncoding]) {
            if let compressed = try? Gzip.compress(body) {
                body = compressed
                headers[.contentEncoding] = "gzip"
            }
        }
        count(200)
        afterFirstScrape()
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func count(_ status: Int) {
        statusCounts.withLock { $0[status, default: 0] += 1 }
    }

    /// Prometheus announces its scrape timeout; the scrape must answer before it, with some margin.
    func scrapeTimeout(_ request: Request) -> Duration {
        guard let header = request.headers[HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!],
            let seconds = Double(header), seconds > 0
        else { return defaultTimeout }
        let budget = min(seconds - 0.5, defaultTimeout.inSeconds)
        return .milliseconds(Int64(max(budget, 0.5) * 1000))
    }

    /// Whether `Accept-Encoding` lists gzip with a non-zero quality.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters() }
            guard let coding = pieces.first?.lowercased(), coding == "gzip" || coding == "*" else { continue }
            if let quality = pieces.dropFirst().first(where: { $0.hasPrefix("q=") }), Double(quality.dropFirst(2)) == 0
            {
                return false
            }
            return true
        }
        return false
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self).trimmingSpaces()
    }
}

/// Plain-text responses shaped like Go's `http.Error`.
enum WebResponses {
    static func text(
        _ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain; charset=utf-8"
    )
        -> Response
    {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
