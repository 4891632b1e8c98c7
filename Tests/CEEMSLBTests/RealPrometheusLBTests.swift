import CEEMSCore
import CEEMSLB
import CEEMSTestSupport
import Foundation
import NIOHTTP1
import Testing

/// The LB in front of two real Prometheus replicas holding series of three units of two users, with the
/// reference database: owners get their series, others the 403, admins everything; both strategies spread the
/// load and skip a killed replica.
@Suite(.serialized, .enabled(if: RealPrometheus.available || RealPrometheus.required))
struct RealPrometheusLBTests {
    // 2024-03-04T08:00:00Z to 09:00:00Z.
    static let start = 1_709_539_200
    static let end = 1_709_542_800
    static let series = RealPrometheus.gauges([
        ("ceems_compute_unit_cpu_user_seconds_total", #"instance="n1",uuid="1479763""#, 11, start, end),
        ("ceems_compute_unit_cpu_user_seconds_total", #"instance="n2",uuid="1479765""#, 22, start, end),
        ("ceems_compute_unit_cpu_user_seconds_total", #"instance="n3",uuid="1481510""#, 33, start, end),
    ])

    static func query(_ expression: String) -> String {
        "/api/v1/query?" + HostileCorpus.form([("query", expression), ("time", String(end))])
    }

    static let usr1 = [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1")]

    /// Two replicas; `body` gets them and the LB ports.
    func withReplicas(
        strategy: LBConfig.Strategy,
        _ body: @Sendable ([RealPrometheus], LBPorts) async throws -> Void
    ) async throws {
        let first = try await RealPrometheus(openMetrics: Self.series)
        defer { first.stop() }
        let second = try await RealPrometheus(openMetrics: Self.series)
        defer { second.stop() }
        let config = lbConfig(
            tsdb: ["slurm-0": [first.url, second.url]], dataPath: try ReferenceDB.dataDirectory(), strategy: strategy,
            filterLabels: ["instance"])
        try await withLB(config) { ports in try await body([first, second], ports) }
    }

    func uuids(_ response: TestResponse) -> [String] {
        guard case .array(let results)? = JSONValue.parse(response.body)?["data"]?["result"] else { return [] }
        return results.compactMap { $0["metric"]?["uuid"]?.stringValue }.sorted()
    }

    @Test(arguments: [LBConfig.Strategy.roundRobin, .leastConnection])
    func ownersAdminsAndOthers(strategy: LBConfig.Strategy) async throws {
        try await withReplicas(strategy: strategy) { replicas, ports in
            let base = "http://127.0.0.1:\(ports.tsdb)"
            let mine = try await send(
                .GET, base + Self.query(#"ceems_compute_unit_cpu_user_seconds_total{uuid=~"1479763|1479765"}"#),
                headers: Self.usr1)
            #expect(mine.status == 200, "\(mine.body)")
            #expect(uuids(mine) == ["1479763", "1479765"])
            #expect(!mine.body.contains("instance"))  // filter_labels
            let theirs = try await send(
                .GET, base + Self.query(#"ceems_compute_unit_cpu_user_seconds_total{uuid="1481510"}"#),
                headers: Self.usr1)
            #expect(theirs.status == 403)
            let sneaky = try await send(
                .GET,
                base
                    + Self.query(
                        #"ceems_compute_unit_cpu_user_seconds_total{uuid="1479763"} or ceems_compute_unit_cpu_user_seconds_total"#
                    ), headers: Self.usr1)
            #expect(sneaky.status == 403)
            let usr3 = try await send(
                .POST, base + "/api/v1/query",
                headers: [
                    ("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr3"),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                body: Array(
                    HostileCorpus.form([
                        ("query", #"ceems_compute_unit_cpu_user_seconds_total{uuid="1481510"}"#), ("time", String(Self.end)),
                    ]).utf8))
            #expect(uuids(usr3) == ["1481510"])
            let admin = try await send(
                .GET, base + Self.query("ceems_compute_unit_cpu_user_seconds_total"),
                headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "grafana")])
            #expect(uuids(admin) == ["1479763", "1479765", "1481510"])
            let config = try await send(
                .GET, base + "/api/v1/status/config", headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "admin")])
            #expect(config.status == 200)
            #expect(config.body.contains("scrape_interval"))

            // Spread: concurrent owner queries reach both replicas.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await send(
                            .GET,
                            base
                                + "/api/v1/query_range?"
                                + HostileCorpus.form([
                                    ("query", #"rate(ceems_compute_unit_cpu_user_seconds_total{uuid="1479763"}[5m])"#),
                                    ("start", String(Self.start)), ("end", String(Self.end)), ("step", "15"),
                                ]), headers: Self.usr1
                        ).status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            let spread = try await Self.rangeCounts(replicas)
            #expect(spread.0 > 0 && spread.1 > 0, "range queries per replica: \(spread)")

            // Kill one replica: every request still succeeds on the other.
            replicas[0].stop()
            for _ in 0..<6 {
                // A refused connection fails over at once, not after the connect timeout.
                let started = ContinuousClock.now
                let response = try await send(
                    .GET, base + Self.query(#"ceems_compute_unit_cpu_user_seconds_total{uuid="1479763"}"#),
                    headers: Self.usr1)
                #expect(ContinuousClock.now - started < .seconds(2))
                #expect(response.status == 200)
                #expect(uuids(response) == ["1479763"])
            }
            let metrics = try await send(.GET, base + "/metrics")
            #expect(metrics.body.contains(#"ceems_lb_backend_up{backend_type="tsdb",cluster_id="slurm-0",url="\#(replicas[0].url)"} 0"#))
        }
    }

    /// Range queries each replica has answered.
    static func rangeCounts(_ replicas: [RealPrometheus]) async throws -> (Double, Double) {
        func count(_ prometheus: RealPrometheus) async throws -> Double {
            let metrics = try await send(.GET, prometheus.url + "/metrics")
            for line in metrics.body.split(separator: "\n")
            where line.hasPrefix("prometheus_http_requests_total{") && line.contains(#"handler="/api/v1/query_range""#) {
                return Double(line.split(separator: " ").last ?? "") ?? 0
            }
            return 0
        }
        return (try await count(replicas[0]), try await count(replicas[1]))
    }
}
