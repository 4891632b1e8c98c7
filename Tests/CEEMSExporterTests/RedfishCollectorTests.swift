import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import CEEMSExporter

/// A BMC's Redfish service, with sessions, in-process on a loopback port.
final class MockRedfish: Sendable {
    struct State {
        var requireSession = true
        var hang = false
        var fail = false
        var sessions: [String] = []
        var deletedSessions: [String] = []
        var redfishURLHeaders: Set<String> = []
        var unauthorized = 0
    }

    let state = Mutex(State())

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let mock = self
        @Sendable func json(_ text: String) -> Response {
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        @Sendable func check(_ request: Request) async throws -> Response? {
            let (hang, fail, requireSession, sessions) = mock.state.withLock { state in
                if let header = request.headers[HTTPField.Name("X-Redfish-Url")!] {
                    state.redfishURLHeaders.insert(header)
                }
                return (state.hang, state.fail, state.requireSession, state.sessions)
            }
            if hang { try await Task.sleep(for: .seconds(30)) }
            if fail { return Response(status: .internalServerError) }
            if requireSession {
                guard let token = request.headers[HTTPField.Name("X-Auth-Token")!], sessions.contains(token) else {
                    mock.state.withLock { $0.unauthorized += 1 }
                    return Response(status: .unauthorized)
                }
            }
            return nil
        }
        router.get("/redfish/v1") { _, _ in
            json(
                #"{"Chassis":{"@odata.id":"/redfish/v1/Chassis"},"Links":{"Sessions":{"@odata.id":"/redfish/v1/SessionService/Sessions"}}}"#
            )
        }
        router.post("/redfish/v1/SessionService/Sessions") { request, _ in
            let body = String(buffer: try await request.body.collect(upTo: 4096))
            guard body.contains(#""UserName":"admin""#), body.contains(#""Password":"p@ss""#) else {
                return Response(status: .unauthorized)
            }
            let token = "token-\(mock.state.withLock { $0.sessions.count + 1 })"
            mock.state.withLock { $0.sessions.append(token) }
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Auth-Token")!] = token
            headers[.location] = "/redfish/v1/SessionService/Sessions/\(token)"
            return Response(status: .created, headers: headers)
        }
        router.delete("/redfish/v1/SessionService/Sessions/:id") { _, context in
            let id = context.parameters.get("id") ?? ""
            mock.state.withLock { $0.deletedSessions.append(id) }
            return Response(status: .noContent)
        }
        router.get("/redfish/v1/Chassis") { request, _ in
            if let denied = try await check(request) { return denied }
            return json(
                #"{"Members":[{"@odata.id":"/redfish/v1/Chassis/Blade-1"},{"@odata.id":"/redfish/v1/Chassis/PSU.Bay-2"}]}"#
            )
        }
        router.get("/redfish/v1/Chassis/:id") { request, context in
            if let denied = try await check(request) { return denied }
            let id = context.parameters.get("id") ?? ""
            return json(#"{"Id":"\#(id)","Power":{"@odata.id":"/redfish/v1/Chassis/\#(id)/Power"}}"#)
        }
        router.get("/redfish/v1/Chassis/:id/Power") { request, context in
            if let denied = try await check(request) { return denied }
            if context.parameters.get("id") == "Blade-1" {
                return json(
                    #"{"PowerControl":[{"PowerConsumedWatts":344,"PowerMetrics":{"MinConsumedWatts":271,"MaxConsumedWatts":489,"AverageConsumedWatts":319}},{"PowerConsumedWatts":53.5,"PowerMetrics":{"MinConsumedWatts":55,"MaxConsumedWatts":120,"AverageConsumedWatts":46}}]}"#
                )
            }
            return json(#"{"PowerControl":[{"PowerConsumedWatts":1696,"PowerMetrics":{"MinConsumedWatts":null}}]}"#)
        }
        return router
    }
}

func withMockRedfish<Result: Sendable>(
    _ mock: MockRedfish, _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    try await withTestServer(mock.router(), body)
}

/// Serves a router on a loopback port for the duration of `body`.
func withTestServer<Result: Sendable>(
    _ router: Router<BasicRequestContext>, _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let responder = router.buildResponder()
    return try await withRunningService(
        { ports in
            try await WebServer(
                responder: responder, addresses: [ListenAddress(host: "127.0.0.1", port: 0)], tls: nil,
                logger: quietLogger, onListening: { _, port in ports.yield(port) }
            ).run()
        }, body)
}

@Suite(.serialized) struct RedfishCollectorTests {
    func makeCollector(
        port: Int, extra: String = "", waitBudget: Duration = .seconds(2)
    ) async throws -> RedfishCollector {
        let tree = try FixtureTree()
        try tree.file(
            "redfish.yml",
            """
            redfish_collector:
              protocol: http
              hostname: 127.0.0.1
              port: \(port)
              username: admin
              password: p@ss
              timeout: 1000
            \(extra)
            """)
        var options = ExporterConfiguration.RedfishOptions()
        options.configFile = tree.path("redfish.yml")
        return try await RedfishCollector(options: options, hostname: "n1", logger: quietLogger, waitBudget: waitBudget)
    }

    @Test func readsChassisPowerThroughASession() async throws {
        let mock = MockRedfish()
        try await withMockRedfish(mock) { port in
            let collector = try await makeCollector(port: port)
            await collector.prime(logger: quietLogger)
            let text = await scrape([collector])
            await collector.shutdown()
            #expect(text.contains("ceems_redfish_current_watts{chassis=\"Blade_1\",hostname=\"n1\"} 397.5\n"))
            #expect(text.contains("ceems_redfish_min_watts{chassis=\"Blade_1\",hostname=\"n1\"} 326\n"))
            #expect(text.contains("ceems_redfish_avg_watts{chassis=\"Blade_1\",hostname=\"n1\"} 365\n"))
            #expect(text.contains("ceems_redfish_current_watts{chassis=\"PSU_Bay_2\",hostname=\"n1\"} 1696\n"))
            #expect(!text.contains("ceems_redfish_min_watts{chassis=\"PSU_Bay_2\""))
            let state = mock.state.withLock { $0 }
            #expect(state.sessions == ["token-1"])
            #expect(state.deletedSessions == ["token-1"])
            #expect(state.unauthorized == 0)
            #expect(state.redfishURLHeaders == ["http://127.0.0.1:\(port)"])
        }
    }

    @Test func aHungBMCNeverHoldsTheScrape() async throws {
        let mock = MockRedfish()
        try await withMockRedfish(mock) { port in
            let collector = try await makeCollector(port: port, waitBudget: .milliseconds(300))
            await collector.prime(logger: quietLogger)
            mock.state.withLock { $0.hang = true }
            let start = ContinuousClock.now
            // The BMC hangs and the scrape deadline is 20 s: only the wait budget makes it quick.
            let text = await scrape([collector], timeout: .seconds(20))
            #expect(ContinuousClock.now - start < .seconds(10))
            // The previous reading is still served (bounded staleness).
            #expect(text.contains("ceems_redfish_current_watts{chassis=\"Blade_1\",hostname=\"n1\"} 397.5"))
            mock.state.withLock { $0.hang = false }
            await collector.shutdown()
        }
    }

    @Test func aBMCThatIsDownAtStartUpIsRetriedLater() async throws {
        let mock = MockRedfish()
        mock.state.withLock { $0.fail = true }
        try await withMockRedfish(mock) { port in
            let collector = try await makeCollector(port: port)
            await collector.prime(logger: quietLogger)
            #expect(await scrape([collector]).contains("ceems_scrape_collector_success{collector=\"redfish\"} 0"))
            mock.state.withLock { $0.fail = false }
            let text = await scrape([collector])
            #expect(text.contains("ceems_scrape_collector_success{collector=\"redfish\"} 1"))
            #expect(text.contains("ceems_redfish_current_watts"))
            await collector.shutdown()
        }
    }

    @Test func withoutUserNoSessionIsOpened() async throws {
        let mock = MockRedfish()
        mock.state.withLock { $0.requireSession = false }
        try await withMockRedfish(mock) { port in
            let tree = try FixtureTree()
            // The deprecated key and an unknown key, as in recorded configs.
            try tree.file(
                "redfish.yml",
                "redfish_web_config:\n  protocol: http\n  host: ignored\n  hostname: 127.0.0.1\n  port: \(port)\n  use_session_token: true\n"
            )
            var options = ExporterConfiguration.RedfishOptions()
            options.configFile = tree.path("redfish.yml")
            let collector = try await RedfishCollector(options: options, hostname: "", logger: quietLogger)
            let text = await scrape([collector])
            await collector.shutdown()
            #expect(text.contains("ceems_redfish_current_watts{chassis=\"PSU_Bay_2\",hostname=\"\"} 1696"))
            #expect(mock.state.withLock { $0.sessions.isEmpty })
        }
    }

    @Test(arguments: [("Chassis-1", "Chassis_1"), ("PSU.Bay 2", "PSU_Bay_2"), ("a--b", "a_b"), ("1", "1")])
    func chassisLabels(id: String, label: String) {
        #expect(RedfishCollector.chassisLabel(id) == label)
    }

    @Test func configExpandsEnvironmentAndPlaceholders() throws {
        let tree = try FixtureTree()
        try tree.file(
            "redfish.yml",
            "redfish_collector:\n  hostname: '{hostname}-bmc'\n  port: $PORT\n  insecure_skip_verify: true\n  timeout: 0\n"
        )
        let config = try RedfishConfig.load(
            file: tree.path("redfish.yml"), expandEnvironment: true, nodeHostname: "node7",
            environment: { ["REDFISH_WEB_USERNAME": "u"][$0] })
        #expect(config.hostname == "node7-bmc")
        #expect(config.username == "u")
        #expect(config.httpClient.tlsConfig.insecureSkipVerify)
        #expect(config.timeout == .milliseconds(5000))
        #expect(config.protocol == "https")
    }
}
