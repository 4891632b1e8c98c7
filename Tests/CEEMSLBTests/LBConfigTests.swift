import CEEMSCore
import CEEMSLB
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@Suite struct LBConfigTests {
    func load(_ yaml: String) throws -> LBConfig {
        let directory = try temporaryDirectory()
        let file = directory + "/config.yml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return try LBConfig.load(file: file, expandEnvironment: false)
    }

    @Test func readsTheSharedFile() throws {
        let config = try load(
            """
            ceems_api_server:
              data:
                path: /var/lib/ceems
              web:
                url: http://localhost:9020
                basic_auth:
                  username: lb
                  password_file: secrets/pw
            clusters:
              - id: slurm-0
                manager: slurm
            ceems_lb:
              strategy: least-connection
              backends:
                - id: slurm-0
                  pyroscope:
                    - web:
                        url: http://localhost:4040
                  tsdb:
                    - web:
                        url: http://localhost:9090
                        tls_config:
                          ca_file: ca.pem
                      filter_labels: [instance]
            """)
        #expect(config.strategy == .leastConnection)
        #expect(config.kinds == [.tsdb, .pyroscope])
        #expect(config.dataPath == "/var/lib/ceems")
        #expect(config.apiURL == "http://localhost:9020")
        #expect(config.apiClient.basicAuth?.username == "lb")
        // Relative paths resolve against the config file's directory (§12 #11).
        #expect(config.apiClient.basicAuth?.passwordFile.hasSuffix("/secrets/pw") == true)
        #expect(config.apiClient.basicAuth?.passwordFile.hasPrefix("/") == true)
        #expect(config.backends[0].tsdb[0].client.tlsConfig.caFile.hasSuffix("/ca.pem") == true)
        #expect(config.backends[0].tsdb[0].filterLabels == ["instance"])
    }

    @Test(arguments: [
        ("ceems_lb:\n  strategy: resource-based\n  backends: [{id: a, tsdb: [{web: {url: 'http://x'}}]}]", "invalid strategy"),
        ("ceems_lb:\n  backends: []", "no backends configured"),
        ("ceems_lb:\n  backends: [{tsdb: [{web: {url: 'http://x'}}]}]", "missing ID for backend(s)"),
        ("ceems_lb:\n  backends: [{id: a}]", "missing TSDB and Pyroscope URL(s) for backend(s)"),
        (
            "clusters: [{id: b}]\nceems_lb:\n  backends: [{id: a, tsdb: [{web: {url: 'http://x'}}]}]",
            "unknown ID a found in backends. IDs in ceems_lb.backends and in clusters config should match"
        ),
    ])
    func rejects(_ yaml: String, message: String) throws {
        #expect {
            try load(yaml)
        } throws: { error in
            "\(error)".hasSuffix(message)
        }
    }

    @Test func missingFileName() {
        #expect(throws: ConfigError.invalid(file: "", reason: "config file path missing")) {
            try LBConfig.load(file: "", expandEnvironment: false)
        }
    }

    @Test func listenAddressesFollowConfigOrder() async throws {
        var config = lbConfig(tsdb: ["a": ["http://127.0.0.1:1"]], pyroscope: ["a": ["http://127.0.0.1:2"]])
        let one = LBConfiguration(config: config, listenAddresses: [ListenAddress(host: "127.0.0.1", port: 0)], webConfigFile: nil)
        await #expect {
            _ = try await buildLBApplication(configuration: one, logger: quietLogger)
        } throws: { error in
            "\(error)" == "insufficient --web.listen-address. Expected 2 got 1"
        }
        config.backends[0].tsdb = []
        let pyroscopeOnly = LBConfiguration(config: config, listenAddresses: [], webConfigFile: nil)
        let application = try await buildLBApplication(configuration: pyroscopeOnly, logger: quietLogger)
        #expect(application.pools.map(\.kind) == [.pyroscope])
        #expect(application.servers[0].addresses[0].port == 9030)
        await application.close()
    }

    @Test func unknownClusterInDatabaseStopsTheStart() async throws {
        let config = lbConfig(tsdb: ["slurm-9": ["http://127.0.0.1:1"]], dataPath: try ReferenceDB.dataDirectory())
        await #expect {
            _ = try await buildLBApplication(
                configuration: LBConfiguration(config: config, listenAddresses: [], webConfigFile: nil),
                logger: quietLogger)
        } throws: { error in
            "\(error)" == "unknown cluster ID: slurm-9. Cluster IDs in CEEMS DB are slurm-0,slurm-1"
        }
    }
}

@Suite(.serialized) struct LBBehaviourTests {
    /// A fake API server: admins and verify answers, recording what the LB asked.
    final class FakeAPI: Sendable {
        let calls = Mutex<[(String, String)]>([])

        func router() -> Router<BasicRequestContext> {
            let router = Router(context: BasicRequestContext.self)
            router.get("/api/v1/users/admin") { request, _ in
                self.record(request)
                return Self.json(#"{"status":"success","data":[{"name":"boss"}]}"#)
            }
            router.get("/api/v1/clusters/admin") { request, _ in
                self.record(request)
                return Self.json(#"{"status":"success","data":[{"id":"slurm-0"}]}"#)
            }
            router.get("/api/v1/units/verify") { request, _ in
                self.record(request)
                let owned = request.headers[HTTPField.Name("X-Grafana-User")!] == "usr1"
                    && request.uri.query == "cluster_id=slurm-0&uuid=1479763&uuid=1479765"
                    && request.headers[.authorization] == "Basic bGI6czNjcmV0"
                return owned ? Self.json(#"{"status":"success"}"#) : Response(status: .forbidden)
            }
            return router
        }

        func record(_ request: Request) {
            calls.withLock {
                $0.append((request.head.path ?? "", request.headers[HTTPField.Name("X-Grafana-User")!] ?? ""))
            }
        }

        static func json(_ text: String) -> Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    @Test func apiModeAppliesTheClientConfig() async throws {
        let api = FakeAPI()
        let backend = RecordingBackend()
        try await withFakeServer(api.router()) { apiPort in
            try await withFakeServer(backend.router()) { backendPort in
                var config = lbConfig(
                    tsdb: ["slurm-0": ["http://127.0.0.1:\(backendPort)"]], apiURL: "http://127.0.0.1:\(apiPort)")
                config.apiClient.basicAuth = HTTPClientConfig.BasicAuth(username: "lb", password: "s3cret")
                try await withLB(config) { ports in
                    let base = "http://127.0.0.1:\(ports.tsdb)"
                    let query = "/api/v1/query?" + HostileCorpus.form([("query", #"a{uuid=~"1479765|1479763"}"#)])
                    let owner = try await send(
                        .GET, base + query, headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1")])
                    #expect(owner.status == 200)
                    // API-mode passthrough keeps the backend's body as is.
                    #expect(owner.body == RecordingBackend.vector)
                    let other = try await send(
                        .GET, base + query, headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr8x")])
                    #expect(other.status == 403)
                    let admin = try await send(
                        .GET, base + "/api/v1/status/config",
                        headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "boss")])
                    #expect(admin.status == 200)
                }
            }
        }
        let calls = api.calls.withLock { $0 }
        #expect(calls.contains { $0.0 == "/api/v1/clusters/admin" && $0.1 == "ceems-int-svc" })
        #expect(calls.contains { $0.0 == "/api/v1/users/admin?role=admin" && $0.1 == "ceems-int-svc" })
        #expect(calls.contains { $0.0.hasPrefix("/api/v1/units/verify?") && $0.1 == "usr1" })
    }

    /// A dead first backend: the request (its POST body included, §12 #17) is replayed on the second.
    @Test func retriesOnAnotherBackendWithTheBody() async throws {
        let backend = RecordingBackend()
        let deadPort = try RealPrometheus.freePort()
        try await withFakeServer(backend.router()) { port in
            let config = lbConfig(
                tsdb: ["slurm-0": ["http://127.0.0.1:\(deadPort)", "http://127.0.0.1:\(port)"]],
                dataPath: try ReferenceDB.dataDirectory())
            try await withLB(config) { ports in
                let form = HostileCorpus.form([("query", #"a{uuid="1479763"}"#)])
                for _ in 0..<4 {
                    let response = try await send(
                        .POST, "http://127.0.0.1:\(ports.tsdb)/api/v1/query",
                        headers: [
                            ("X-Ceems-Cluster-Id", "slurm-0"), ("X-Grafana-User", "usr1"),
                            ("Content-Type", "application/x-www-form-urlencoded"),
                        ], body: Array(form.utf8))
                    #expect(response.status == 200)
                }
                #expect(backend.count == 4)
                #expect(backend.last?.body == form)
            }
        }
    }

    @Test func withoutAccessControlHeadersAreStillClean() async throws {
        let backend = RecordingBackend()
        try await withFakeServer(backend.router()) { port in
            let config = lbConfig(tsdb: ["slurm-0": ["http://127.0.0.1:\(port)"]])
            try await withLB(config) { ports in
                let response = try await send(
                    .GET, "http://127.0.0.1:\(ports.tsdb)/api/v1/status/config",
                    headers: [("X-Ceems-Cluster-Id", "slurm-0"), ("X-Ceems-Admin-User", "x"), ("Authorization", "Bearer t")])
                #expect(response.status == 200)
                #expect(backend.last?.header("X-Ceems-Admin-User") == nil)
                #expect(backend.last?.header("Authorization") == nil)
            }
        }
    }
}
