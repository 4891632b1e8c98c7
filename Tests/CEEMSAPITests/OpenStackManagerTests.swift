import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

@testable import CEEMSAPI

/// A fake Keystone + Nova with documents written for these tests in the APIs' formats, paginated.
enum FakeOpenStack {
    static func server(
        id: String, status: String, tenant: String, user: String, launched: String?, updated: String,
        terminated: String? = nil, vcpus: Int = 2, ram: Int = 4096, extraSpecs: String = "{}"
    ) -> String {
        """
        {"id":"\(id)","name":"vm-\(id)","status":"\(status)","tenant_id":"\(tenant)","user_id":"\(user)",
         "metadata":{"k":"v"},"tags":["t1"],"created":"2024-03-04T05:00:00Z","updated":"\(updated)",
         "flavor":{"vcpus":\(vcpus),"ram":\(ram),"disk":10,"ephemeral":0,"swap":0,"original_name":"m1.\(id)","extra_specs":\(extraSpecs)},
         "OS-SRV-USG:launched_at":\(launched.map { "\"\($0)\"" } ?? "null"),
         "OS-SRV-USG:terminated_at":\(terminated.map { "\"\($0)\"" } ?? "null"),
         "OS-EXT-AZ:availability_zone":"nova","OS-EXT-SRV-ATTR:reservation_id":"r-\(id)","OS-EXT-STS:power_state":1}
        """
    }

    static let page1 = [
        server(
            id: "s1", status: "ACTIVE", tenant: "p1", user: "u1", launched: "2024-03-04T10:00:00.000000",
            updated: "2024-03-04T10:00:10Z"),
        server(
            id: "s2", status: "SHUTOFF", tenant: "p2", user: "u2", launched: "2024-03-04T06:00:00.000000",
            updated: "2024-03-04T12:00:00Z"),
    ]
    static let page2 = [
        server(
            id: "s3", status: "ACTIVE", tenant: "p1", user: "u2", launched: "2024-03-03T10:00:00.000000",
            updated: "2024-03-03T10:00:00Z", extraSpecs: #"{"resources:VGPU":"1"}"#)
    ]
    static let deleted = [
        server(
            id: "s4", status: "DELETED", tenant: "p2", user: "u2", launched: "2024-03-04T14:00:00.000000",
            updated: "2024-03-04T15:00:00Z", terminated: "2024-03-04T15:00:00.000000")
    ]

    static func routes(_ router: Router<BasicRequestContext>, tokenRequests: Counter) {
        @Sendable func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
            var headers = headers
            headers[.contentType] = "application/json"
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        @Sendable func authorized(_ request: Request) -> Bool {
            request.headers[HTTPField.Name("X-Auth-Token")!] == "tok-1"
        }
        @Sendable func base(_ request: Request) -> String { "http://" + (request.head.authority ?? "") }
        router.post("/v3/auth/tokens") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard String(buffer: body).contains("\"auth\""), String(buffer: body).contains("\"password\"") else {
                return json("{}", status: .badRequest)
            }
            tokenRequests.increment()
            return json("{}", status: .created, headers: [HTTPField.Name("X-Subject-Token")!: "tok-1"])
        }
        router.get("/v3/users") { request, _ in
            guard authorized(request) else { return json("{}", status: .unauthorized) }
            if request.uri.queryParameters["page"] == "2" {
                return json(#"{"users":[{"id":"u2","name":"ben"},{"id":"u3","name":"cid"}],"links":{"next":null}}"#)
            }
            return json(#"{"users":[{"id":"u1","name":"ann"}],"links":{"next":"\#(base(request))/v3/users?page=2"}}"#)
        }
        router.get("/v3/users/:id/projects") { request, context in
            guard authorized(request) else { return json("{}", status: .unauthorized) }
            switch context.parameters.get("id") ?? "" {
            case "u1": return json(#"{"projects":[{"id":"p1","name":"alpha"}],"links":{"next":null}}"#)
            case "u2":
                return json(
                    #"{"projects":[{"id":"p1","name":"alpha"},{"id":"p2","name":"beta"}],"links":{"next":null}}"#)
            default: return json(#"{"projects":[],"links":{"next":null}}"#)
            }
        }
        router.get("/compute/v2.1/servers/detail") { request, _ in
            guard authorized(request), request.headers[HTTPField.Name("X-OpenStack-Nova-API-Version")!] == "latest"
            else { return json("{}", status: .unauthorized) }
            let query = request.uri.queryParameters
            if query["deleted"] == "true" {
                guard query["changes-since"] != nil, query["changes-before"] != nil else {
                    return json("{}", status: .badRequest)
                }
                return json(#"{"servers":[\#(deleted.joined(separator: ","))]}"#)
            }
            if query["marker"] == "s2" { return json(#"{"servers":[\#(page2.joined(separator: ","))]}"#) }
            return json(
                #"{"servers":[\#(page1.joined(separator: ","))],"servers_links":[{"rel":"next","href":"\#(base(request))/compute/v2.1/servers/detail?all_tenants=true&marker=s2"}]}"#
            )
        }
    }
}

@Suite struct OpenStackManagerTests {
    @Test func fetchesPaginatedServersUsersAndProjects() async throws {
        let tokens = Counter()
        let router = Router(context: BasicRequestContext.self)
        FakeOpenStack.routes(router, tokenRequests: tokens)
        try await withFakeServer(router) { port in
            let yaml = """
                id: os-0
                manager: openstack
                extra_config:
                  api_service_endpoints:
                    compute: http://127.0.0.1:\(port)/compute/v2.1
                    identity: http://127.0.0.1:\(port)
                  auth:
                    identity:
                      methods: [password]
                      password:
                        user: {name: admin, password: secret, domain: {id: default}}
                """
            let cluster = try YAMLConfig.decode(APIServerConfig.Cluster.self, from: yaml)
            let manager = try OpenStackManager(cluster: cluster, logger: quietLogger, now: { APIFixtures.now })
            let window = UpdateWindow(
                start: WallClock.parse("2024-03-04T00:00:00+0100")!, end: WallClock.parse("2024-03-05T00:00:00+0100")!,
                zone: APIFixtures.paris)
            let units = try await manager.fetchUnits(window: window)
            let (users, projects) = try await manager.fetchUsersAndProjects(window: window)
            await manager.shutdown()

            #expect(units.map(\.uuid) == ["s1", "s2", "s3", "s4"])
            let byID = Dictionary(uniqueKeysWithValues: units.map { ($0.uuid, $0) })
            let s1 = try #require(byID["s1"])
            #expect(s1.project == "alpha" && s1.user == "ann" && s1.state == "ACTIVE")
            #expect(s1.startedAt == "2024-03-04T11:00:00+0100" && s1.endedAt == "N/A" && s1.endedAtTS == 0)
            // Active from the last update (10:00:10Z) to the window end (23:00Z).
            #expect(s1.totalTime["walltime"] == 46790)
            #expect(s1.totalTime["alloc_cpumemtime"] == 191_651_840)
            // Shut off at 12:00Z, launched 06:00Z: six hours.
            #expect(byID["s2"]?.totalTime["walltime"] == 21600)
            // Running since before the window with a vGPU: the whole window.
            #expect(byID["s3"]?.totalTime["alloc_gputime"] == 86400)
            let s4 = try #require(byID["s4"])
            #expect(s4.endedAt == "2024-03-04T16:00:00+0100" && s4.totalTime["walltime"] == 3600)
            #expect(s4.elapsed == "01:00:00")
            var writer = JSONWriter()
            s1.write(to: &writer)
            #expect(
                writer.text.contains(
                    #""tags":{"az":"nova","metadata":{"k":"v"},"power_state":"RUNNING","reservation_id":"r-s1","tags":["t1"]}"#
                ))

            #expect(users.map(\.name) == ["ann", "ben", "cid"])
            #expect(users.map(\.projects) == [["alpha"], ["alpha", "beta"], []])
            #expect(users.first?.uid == "u1")
            #expect(projects.map(\.name) == ["alpha", "beta"])
            #expect(projects.map(\.users) == [["ann", "ben"], ["ben"]])
            #expect(projects.first?.lastUpdatedAt.hasSuffix("+0100") == true)
            // One token for the whole fetch.
            #expect(tokens.value == 1)
        }
    }

    @Test func unreachableServiceFailsTheFetchQuickly() async throws {
        let port = try RealPrometheus.freePort()
        let yaml = """
            id: os-0
            manager: openstack
            extra_config:
              api_service_endpoints: {compute: "http://127.0.0.1:\(port)/v2.1", identity: "http://127.0.0.1:\(port)"}
            """
        let manager = try OpenStackManager(
            cluster: try YAMLConfig.decode(APIServerConfig.Cluster.self, from: yaml), logger: quietLogger,
            now: { APIFixtures.now })
        defer { Task { await manager.shutdown() } }
        let window = UpdateWindow(start: 0, end: 86_400_000, zone: APIFixtures.paris)
        await #expect(throws: ResourceManagerError.self) { try await manager.fetchUnits(window: window) }
    }

    @Test func configErrors() throws {
        let missing = try YAMLConfig.decode(APIServerConfig.Cluster.self, from: "id: os\nmanager: openstack\n")
        #expect(throws: ResourceManagerError.self) {
            try OpenStackManager(cluster: missing, logger: quietLogger, now: { 0 })
        }
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
