import CEEMSMetrics
import Synchronization

/// The LB's own metrics, served at `/metrics` to requests without `X-Ceems-Cluster-Id` (a Prometheus scrape;
/// Grafana's proxied requests always carry the header, so they still reach the backends).
public final class LBMetrics: Sendable {
    struct ResponseKey: Hashable {
        var kind: BackendKind
        var code: Int
    }

    let responses = Mutex<[ResponseKey: Int]>([:])
    let denials = Mutex<[String: Int]>([:])
    let checkSeconds = Mutex<(count: Int, sum: Double)>((0, 0))

    static let responsesDescriptor = MetricDescriptor(
        "ceems_lb_http_responses_total", help: "Total number of responses sent by the load balancer.", type: .counter,
        labels: ["backend_type", "code"])
    static let deniedDescriptor = MetricDescriptor(
        "ceems_lb_denied_requests_total", help: "Total number of requests denied by access control.", type: .counter,
        labels: ["reason"])
    static let upDescriptor = MetricDescriptor(
        "ceems_lb_backend_up", help: "Whether the last health check of the backend succeeded.", type: .gauge,
        labels: ["backend_type", "cluster_id", "url"])
    static let inFlightDescriptor = MetricDescriptor(
        "ceems_lb_backend_in_flight_requests", help: "Requests being proxied to the backend.", type: .gauge,
        labels: ["backend_type", "cluster_id", "url"])
    static let requestsDescriptor = MetricDescriptor(
        "ceems_lb_backend_requests_total", help: "Total number of requests proxied to the backend.", type: .counter,
        labels: ["backend_type", "cluster_id", "url"])
    static let failuresDescriptor = MetricDescriptor(
        "ceems_lb_backend_failures_total", help: "Total number of connection failures to the backend.",
        type: .counter, labels: ["backend_type", "cluster_id", "url"])
    static let checkCountDescriptor = MetricDescriptor(
        "ceems_lb_ownership_checks_total", help: "Total number of unit ownership checks.", type: .counter)
    static let checkSecondsDescriptor = MetricDescriptor(
        "ceems_lb_ownership_check_seconds_total", help: "Total time spent in unit ownership checks.", type: .counter)

    public init() {}

    func recordResponse(kind: BackendKind, code: Int) {
        responses.withLock { $0[ResponseKey(kind: kind, code: code), default: 0] += 1 }
    }

    func recordDenial(_ reason: String) {
        denials.withLock { $0[reason, default: 0] += 1 }
    }

    func recordCheck(_ duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        checkSeconds.withLock {
            $0.count += 1
            $0.sum += seconds
        }
    }

    /// The exposition text of the metrics and of `backends`' state.
    func render(backends: [Backend]) -> [UInt8] {
        var sink = MetricSink()
        for (key, count) in responses.withLock({ $0 }) {
            sink.add(Self.responsesDescriptor, Double(count), [key.kind.rawValue, String(key.code)])
        }
        for (reason, count) in denials.withLock({ $0 }) {
            sink.add(Self.deniedDescriptor, Double(count), [reason])
        }
        for backend in backends {
            let labels = [backend.kind.rawValue, backend.clusterID, backend.url]
            sink.add(Self.upDescriptor, backend.isAlive ? 1 : 0, labels)
            sink.add(Self.inFlightDescriptor, Double(backend.inFlight.load(ordering: .relaxed)), labels)
            sink.add(Self.requestsDescriptor, Double(backend.requests.load(ordering: .relaxed)), labels)
            sink.add(Self.failuresDescriptor, Double(backend.failures.load(ordering: .relaxed)), labels)
        }
        let check = checkSeconds.withLock { $0 }
        sink.add(Self.checkCountDescriptor, Double(check.count), [])
        sink.add(Self.checkSecondsDescriptor, check.sum, [])
        var out: [UInt8] = []
        ExpositionWriter.write([sink], into: &out)
        return out
    }
}
