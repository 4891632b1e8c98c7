import CEEMSCore
import CEEMSLB
import CEEMSTestSupport
import Foundation
import NIOHTTP1
import Testing

/// The LB in front of recording fake backends with the reference database: what reaches a backend is what the
/// LB let through.
@Suite(.serialized) struct AccessControlTests {
    func withGuardedLB<Result: Sendable>(
        dataPath: String? = nil, apiURL: String = "", filterLabels: [String] = [],
        _ body: @Sendable (LBPorts, RecordingBackend) async throws -> Result
    ) async throws -> Result {
        let backend = RecordingBackend()
        let data = try dataPath ?? ReferenceDB.dataDirectory()
        return try await withFakeServer(backend.router()) { port in
            let url = "http://127.0.0.1:\(port)"
            let config = lbConfig(
                tsdb: ["slurm-0": [url], "slurm-1": [url]], pyroscope: ["slurm-0": [url], "slurm-1": [url]],
                dataPath: data, apiURL: apiURL, filterLabels: filterLabels)
            return try await withLB(config) { ports in try await body(ports, backend) }
        }
    }

    func send(_ request: CorpusRequest, user: String?, ports: LBPorts) async throws -> TestResponse {
        var headers = request.headers
        headers.append(("X-Ceems-Cluster-Id", request.cluster))
        if let user { headers.append(("X-Grafana-User", user)) }
        if let contentType = request.contentType { headers.append(("Content-Type", contentType)) }
        let port = request.kind == .tsdb ? ports.tsdb : ports.pyroscope
        let url = "http://127.0.0.1:\(port)\(request.path)\(request.query.isEmpty ? "" : "?" + request.query)"
        return try await CEEMSLBTests.send(
            HTTPMethod(rawValue: request.method), url, headers: headers,
            body: request.body.isEmpty ? nil : request.body)
    }

    @Test func hostileCorpusNeverReachesABackend() async throws {
        let corpus = HostileCorpus.requests
        #expect(corpus.count >= 200)
        print("hostile corpus: \(corpus.count) requests")
        try await withGuardedLB { ports, backend in
            for request in corpus {
                let before = backend.count
                let response = try await send(request, user: "usr1", ports: ports)
                #expect(response.status != 200, "\(request): \(response.status) \(response.body)")
                #expect(backend.count == before, "leaked to the backend: \(request)")
                #expect([400, 403, 503].contains(response.status), "\(request): \(response.status)")
            }
        }
    }

    @Test func ownersGetTheirUnitsAndAdminsEverything() async throws {
        let m = HostileCorpus.mine
        let allowed: [CorpusRequest] = [
            CorpusRequest(path: "/api/v1/query", query: HostileCorpus.form([("query", "a{\(m)}")])),
            CorpusRequest(
                path: "/api/v1/query_range",
                query: HostileCorpus.form([
                    ("query", "sum by (uuid) (rate(a{uuid=~\"1479763|1479765\"}[5m])) / on(uuid) b{uuid=\"1479765\"}")
                ])),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", body: Array(HostileCorpus.form([("query", "a{\(m)} # note")]).utf8),
                contentType: HostileCorpus.formType),
            CorpusRequest(path: "/api/v1/series", query: HostileCorpus.form([("match[]", "{\(m)}")])),
            CorpusRequest(path: "/api/v1/label/instance/values", query: HostileCorpus.form([("match[]", "a{\(m)}")])),
            CorpusRequest(path: "/api/v1/query", query: HostileCorpus.form([("query", "a{\(m), ceems_id=\"slurm-1\"}")])),
            CorpusRequest(path: "/api/v1/query", query: HostileCorpus.form([("query", "a{\(m)}")]), cluster: "slurm-1"),
            HostileCorpus.pyroscope("SelectMergeStacktraces", fields: [(1, "cpu"), (2, "{service_name=\"1479763\"}")]),
            HostileCorpus.pyroscope("LabelValues", fields: [(1, "x"), (2, "{service_name=\"1479765\"}")]),
        ]
        try await withGuardedLB { ports, backend in
            for request in allowed {
                let before = backend.count
                let response = try await send(request, user: "usr1", ports: ports)
                #expect(response.status == 200, "\(request): \(response.status) \(response.body)")
                #expect(backend.count == before + 1)
            }
            // usr3 owns 1481510, not usr1's units.
            let foreign = CorpusRequest(
                path: "/api/v1/query", query: HostileCorpus.form([("query", "b{\(HostileCorpus.foreign)}")]))
            #expect(try await send(foreign, user: "usr3", ports: ports).status == 200)
            let forbidden = try await send(foreign, user: "usr1", ports: ports)
            #expect(forbidden.status == 403)
            #expect(
                forbidden.body
                    == #"{"status":"error","data":null,"errorType":"forbidden","error":"user do not have permissions to view unit metrics"}"#
                    + "\n")
            #expect(forbidden.header("Content-Type") == "application/json")
            // Admins: any path, any query, unparsable ones included.
            let before = backend.count
            for request in HostileCorpus.requests.prefix(40) where request.kind == .tsdb && request.cluster == "slurm-0" {
                let response = try await send(request, user: "grafana", ports: ports)
                #expect(response.status == 200 || response.status == 503, "\(request)")
            }
            #expect(backend.count > before + 30)
            let config = CorpusRequest(path: "/api/v1/status/config")
            #expect(try await send(config, user: "admin", ports: ports).status == 200)
            let denied = try await send(config, user: "usr1", ports: ports)
            #expect(denied.status == 403)
            #expect(denied.body.contains("user do not have permissions to this resource"))
        }
    }

    @Test func pipelineAnswers() async throws {
        try await withGuardedLB { ports, backend in
            let base = "http://127.0.0.1:\(ports.tsdb)"
            // /health before any check (§12 #4).
            let health = try await CEEMSLBTests.send(.GET, base + "/health")
            #expect(health.status == 200)
            #expect(health.body == "CEEMS LB Server is healthy\n")
            let query = "/api/v1/query?" + HostileCorpus.form([("query", "a{\(HostileCorpus.mine)}")])
            let noCluster = try await CEEMSLBTests.send(.GET, base + query, headers: [("X-Grafana-User", "usr1")])
            #expect(noCluster.status == 400)
            #expect(noCluster.body.contains(#""errorType":"bad_request""#))
            let noUser = try await CEEMSLBTests.send(.GET, base + query, headers: [("X-Ceems-Cluster-Id", "slurm-0")])
            #expect(noUser.status == 401)
            #expect(noUser.body.contains("send_user_header = true"))
            // A cluster with no Pyroscope backend of that id.
            let pyroscope = try await CEEMSLBTests.send(
                .POST, "http://127.0.0.1:\(ports.pyroscope)/querier.v1.QuerierService/LabelNames",
                headers: [("X-Ceems-Cluster-Id", "slurm-9"), ("X-Grafana-User", "usr1")])
            #expect(pyroscope.status == 400)
            // ceems_id naming a cluster without backends: 503 after re-validation (§12 #2).
            let unknown = try await CEEMSLBTests.send(
                .GET,
                base + "/api/v1/query?"
                    + HostileCorpus.form([("query", "a{\(HostileCorpus.mine), ceems_id=\"slurm-9\"}")]),
                headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1")])
            #expect(unknown.status == 503)
            #expect(backend.count == 0)
            // Self metrics without a cluster header.
            let metrics = try await CEEMSLBTests.send(.GET, base + "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains(#"ceems_lb_http_responses_total{backend_type="tsdb",code="400"} 1"#))
            #expect(metrics.body.contains("ceems_lb_backend_up{backend_type=\"tsdb\",cluster_id=\"slurm-0\""))
        }
    }

    @Test func forwardedHeadersAreClean() async throws {
        try await withGuardedLB { ports, backend in
            let query = "/api/v1/query?" + HostileCorpus.form([("query", "a{\(HostileCorpus.mine)}")])
            let response = try await CEEMSLBTests.send(
                .GET, "http://127.0.0.1:\(ports.tsdb)" + query,
                headers: [
                    ("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1"), ("Authorization", "Basic c2VjcmV0"),
                    ("X-Ceems-Admin-User", "usr1"), ("X-Ceems-Logged-User", "admin"), ("X-Forwarded-For", "10.0.0.1"),
                    ("Connection", "keep-alive, X-Secret"), ("X-Secret", "hop"), ("Proxy-Authorization", "x"),
                ])
            #expect(response.status == 200)
            let received = try #require(backend.last)
            #expect(received.header("Authorization") == nil)
            #expect(received.header("Proxy-Authorization") == nil)
            #expect(received.header("X-Secret") == nil)
            #expect(received.header("X-Ceems-Admin-User") == nil)
            #expect(received.header("X-Ceems-Logged-User") == "usr1")
            #expect(received.header("X-Grafana-User") == "usr1")
            #expect(received.header("X-Ceems-Cluster-Id") == "slurm-0")
            #expect(received.header("X-Forwarded-For") == "10.0.0.1, 127.0.0.1")
            #expect(received.header("User-Agent")?.hasPrefix("ceems_lb/127.0.0.1:") == true)
            #expect(received.target == query)
        }
    }

    @Test func filtersLabelsFromQueryResponses() async throws {
        try await withGuardedLB(filterLabels: ["instance"]) { ports, _ in
            let query = "/api/v1/query?" + HostileCorpus.form([("query", "a{\(HostileCorpus.mine)}")])
            let response = try await CEEMSLBTests.send(
                .GET, "http://127.0.0.1:\(ports.tsdb)" + query,
                headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1"), ("Accept-Encoding", "gzip")])
            #expect(
                response.body
                    == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"uuid":"1479763"},"value":[12345,"21.22149394"],"values":null}]}}"#
            )
            // Admin paths outside the filtered ones pass through unchanged (§12 #7).
            let config = try await CEEMSLBTests.send(
                .GET, "http://127.0.0.1:\(ports.tsdb)/api/v1/status/config",
                headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "admin")])
            #expect(config.body == RecordingBackend.vector)
        }
    }

    /// With `data.path` set but no database yet and no API server, requests get 503 until the file appears
    /// (§12 #18).
    @Test func databaseCreatedLater() async throws {
        let directory = try temporaryDirectory()
        let backend = RecordingBackend()
        try await withFakeServer(backend.router()) { port in
            let config = lbConfig(tsdb: ["slurm-0": ["http://127.0.0.1:\(port)"]], dataPath: directory)
            try await withLB(config, databaseRecheck: .milliseconds(100)) { ports in
                let query = "/api/v1/query?" + HostileCorpus.form([("query", "a{\(HostileCorpus.mine)}")])
                let headers = [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1")]
                let before = try await CEEMSLBTests.send(.GET, "http://127.0.0.1:\(ports.tsdb)" + query, headers: headers)
                #expect(before.status == 503)
                try FileManager.default.copyItem(atPath: ReferenceDB.path, toPath: directory + "/ceems.db")
                try await Task.sleep(for: .milliseconds(200))
                let after = try await CEEMSLBTests.send(.GET, "http://127.0.0.1:\(ports.tsdb)" + query, headers: headers)
                #expect(after.status == 200)
                #expect(backend.count == 1)
            }
        }
    }
}
