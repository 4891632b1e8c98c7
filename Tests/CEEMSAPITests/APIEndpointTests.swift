import CEEMSTestSupport
import CEEMSCore
import CEEMSMetrics
import Foundation
import NIOHTTP1
import Testing

@testable import CEEMSAPI

/// The whole server on loopback after one catch-up from a fake `sacct`/`sacctmgr` (two daily windows): alice and
/// bob share proj-a, bob alone has proj-b, carol proj-c; admin1 is an admin.
@Suite struct APIEndpointTests {
    static let window = "from=1709506800&to=1709679600"  // 2024-03-04T00:00+0100 … 2024-03-06T00:00+0100

    func withServer(
        http: APIHTTPOptions = APIHTTPOptions(), environment: [String: String] = [:],
        _ body: @Sendable (APIClient) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try slurmConfig(dataPath: directory + "/data", environment: environment)
        try await withAPIServer(config: config, http: http) { client, _ in try await body(client) }
    }

    @Test func plainUserSeesOwnUnitsOnly() async throws {
        try await withServer { client in
            let alice = try await client.get("/api/v1/units?\(Self.window)", user: "alice")
            #expect(alice.status == 200)
            #expect(alice.data.strings("uuid") == ["2001"])
            #expect(alice.headers.first(name: "Content-Type") == "application/json")
            #expect(alice.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(alice.body.hasSuffix("}\n"))
            let bob = try await client.get("/api/v1/units?\(Self.window)", user: "bob")
            #expect(bob.data.strings("uuid") == ["2002", "2003"])
            // A foreign uuid is not listed even when asked for by uuid.
            let foreign = try await client.get("/api/v1/units?uuid=2001", user: "bob")
            #expect(foreign.status == 200 && foreign.data.isEmpty)
            #expect(foreign.body == "{\"status\":\"success\",\"data\":[]}\n")
            let nobody = try await client.get("/api/v1/units?\(Self.window)", user: "mallory")
            #expect(nobody.data.isEmpty)
        }
    }

    @Test func unitJSONIsComplete() async throws {
        try await withServer { client in
            let response = try await client.get("/api/v1/units?uuid=2001", user: "alice")
            let unit = try #require(response.data.first)
            #expect(unit["cluster_id"]?.stringValue == "slurm-0")
            #expect(unit["started_at"]?.stringValue == "2024-03-04T09:00:05+0100")
            #expect(unit["started_at_ts"]?.doubleValue == 1_709_539_205_000)
            #expect(unit["allocation"]?["gpus"]?.doubleValue == 2)
            #expect(unit["allocation"]?["mem"]?.doubleValue == 68_719_476_736)
            #expect(unit["total_time_seconds"]?["alloc_cpumemtime"]?.doubleValue == 235_929_600)
            #expect(unit["tags"]?["nodelistexp"]?.stringValue == "gpu-01")
            // DB-only columns are never exposed.
            #expect(unit["ignore"] == nil && unit["num_updates"] == nil && unit["last_updated_at"] == nil)
            // Field selection keeps model order and the always-present uuid.
            let selected = try await client.get(
                "/api/v1/units?uuid=2001&field=state&field=%20name%20&field=foo", user: "alice")
            #expect(
                selected.body == #"{"status":"success","data":[{"uuid":"","name":"train","state":"COMPLETED"}]}"# + "\n"
            )
            let converted = try await client.get("/api/v1/units?uuid=2001&field=started_at&timezone=UTC", user: "alice")
            #expect(converted.data.first?["started_at"]?.stringValue == "2024-03-04T08:00:05+0000")
        }
    }

    @Test func membershipGrantsVerifyAndUsage() async throws {
        try await withServer { client in
            // bob is a member of proj-a, where alice's job ran: ownership is project membership.
            let verify = try await client.get("/api/v1/units/verify?uuid=2001&cluster_id=slurm-0", user: "bob")
            #expect(verify.status == 200)
            #expect(verify.body == "{\"status\":\"success\",\"data\":null}\n")
            let denied = try await client.get(
                "/api/v1/units/verify?uuid=2001&uuid=2006&cluster_id=slurm-0", user: "bob")
            #expect(denied.status == 403)
            #expect(denied.json?["error"]?.stringValue == "user do not have permissions on uuids")
            let noCluster = try await client.get("/api/v1/units/verify?uuid=2001", user: "bob")
            #expect(noCluster.status == 403)
            let missing = try await client.get("/api/v1/units/verify?cluster_id=slurm-0", user: "bob")
            #expect(missing.status == 400 && missing.json?["error"]?.stringValue == "uuids missing in the request")

            let usage = try await client.get("/api/v1/usage/global", user: "bob")
            let rows = usage.data.map { "\($0["project"]?.stringValue ?? "")/\($0["username"]?.stringValue ?? "")" }
            #expect(rows == ["proj-a/alice", "proj-a/bob", "proj-b/bob"])
            let carol = try await client.get("/api/v1/usage/global", user: "carol")
            #expect(carol.data.strings("username") == ["carol"])
            #expect(carol.data.first?["num_units"]?.doubleValue == 1)
            #expect(carol.data.first?["total_time_seconds"]?["alloc_gputime"]?.doubleValue == 5400)

            let projects = try await client.get("/api/v1/projects", user: "bob")
            #expect(projects.data.strings("name") == ["proj-a", "proj-b"])
            #expect(projects.body.contains(#""users":["alice","bob"]"#))
            let users = try await client.get("/api/v1/users", user: "bob")
            #expect(
                users.body
                    == #"{"status":"success","data":[{"cluster_id":"slurm-0","resource_manager":"slurm","name":"bob","projects":["proj-a","proj-b"]}]}"#
                    + "\n")
        }
    }

    @Test func currentUsageAggregatesVisibleUnits() async throws {
        try await withServer { client in
            let current = try await client.get("/api/v1/usage/current?\(Self.window)", user: "bob")
            #expect(current.status == 200)
            let rows = current.data.map { "\($0["project"]?.stringValue ?? "")/\($0["username"]?.stringValue ?? "")" }
            #expect(rows == ["proj-a/alice", "proj-a/bob", "proj-b/bob"])
            let bobB = try #require(current.data.last)
            #expect(bobB["num_units"]?.doubleValue == 1)
            #expect(bobB["total_time_seconds"]?["walltime"]?.doubleValue == 93600)
            // Only non-metric fields asked: data null.
            let plain = try await client.get("/api/v1/usage/current?\(Self.window)&field=project", user: "bob")
            #expect(plain.body == "{\"status\":\"success\",\"data\":null}\n")
            // A cache hit carries Expires in GMT.
            let again = try await client.get("/api/v1/usage/current?\(Self.window)", user: "bob")
            #expect(again.body == current.body)
            #expect(again.headers.first(name: "Expires")?.hasSuffix("GMT") == true)
            let grouped = try await client.get("/api/v1/usage/current?\(Self.window)&groupby=groupname", user: "bob")
            #expect(grouped.status == 200)
            let experimental = try await client.get(
                "/api/v1/usage/current?\(Self.window)&experimental&__terminated", user: "bob")
            #expect(experimental.status == 200)
            #expect(experimental.data.count == 3)
        }
    }

    @Test func adminEndpoints() async throws {
        try await withServer { client in
            let units = try await client.get("/api/v1/units/admin?\(Self.window)", user: "admin1")
            #expect(units.data.strings("uuid") == ["2001", "2002", "2003", "2006"])
            let filtered = try await client.get("/api/v1/units/admin?\(Self.window)&user=carol", user: "admin1")
            #expect(filtered.data.strings("uuid") == ["2006"])
            let admins = try await client.get("/api/v1/users/admin?role=admin&user=x", user: "admin1")
            #expect(
                admins.body
                    == #"{"status":"success","data":[{"cluster_id":"all","name":"admin1","tags":["ceems"]},{"cluster_id":"all","name":"ceems-int-svc","tags":["ceems"]}]}"#
                    + "\n")
            let clusters = try await client.get("/api/v1/clusters/admin", user: "ceems-int-svc")
            #expect(clusters.body == #"{"status":"success","data":[{"id":"slurm-0","manager":"slurm"}]}"# + "\n")
            let stats = try await client.get("/api/v1/stats/global/admin", user: "admin1")
            #expect(
                stats.body
                    == #"{"status":"success","data":[{"cluster_id":"slurm-0","resource_manager":"slurm","num_units":4,"num_inactive_units":4,"num_active_units":0,"num_projects":3,"num_users":3}]}"#
                    + "\n")
            let projects = try await client.get("/api/v1/projects/admin", user: "admin1")
            #expect(projects.data.strings("name") == ["proj-a", "proj-b", "proj-c"])
            let usage = try await client.get("/api/v1/usage/global/admin?user=carol", user: "admin1")
            #expect(usage.data.strings("project") == ["proj-c"])
            for path in ["/api/v1/units/admin", "/api/v1/users/admin", "/api/v1/stats/current/admin"] {
                let denied = try await client.get(path, user: "alice", headers: [("Origin", "https://grafana.example")])
                #expect(denied.status == 403)
                #expect(
                    denied.body
                        == #"{"status":"error","data":null,"errorType":"forbidden","error":"current user does not have admin privileges"}"#
                        + "\n")
                #expect(denied.headers.first(name: "Content-Type") == "application/json")
                #expect(denied.headers.first(name: "Access-Control-Allow-Origin") == "https://grafana.example")
            }
        }
    }

    @Test func identityAndSpoofing() async throws {
        try await withServer { client in
            let anonymous = try await client.get("/api/v1/units")
            #expect(anonymous.status == 401)
            #expect(
                anonymous.body
                    == #"{"status":"error","data":null,"errorType":"unauthorized","error":"no user identified"}"# + "\n"
            )
            // Forged admin headers are ignored.
            let forged = try await client.get(
                "/api/v1/units/admin", user: "alice",
                headers: [("X-Ceems-Admin-User", "alice"), ("X-Ceems-Logged-User", "admin1")])
            #expect(forged.status == 403)
        }
    }

    /// Garbage in a query gets a 4xx with the envelope, never a 500; SQL text in values is only ever data.
    @Test func garbageParameters() async throws {
        try await withServer { client in
            let badFrom = try await client.get("/api/v1/units?from=abc", user: "bob")
            #expect(badFrom.status == 400)
            #expect(badFrom.json?["error"]?.stringValue == "query parameter 'from': malformed timestamp")
            let badTo = try await client.get("/api/v1/units?to=1e99", user: "bob")
            #expect(badTo.json?["error"]?.stringValue == "query parameter 'to': malformed timestamp")
            let fields = try await client.get("/api/v1/units?field=foo&field=bar", user: "bob")
            #expect(fields.status == 400 && fields.json?["error"]?.stringValue == "invalid query fields")
            for groupBy in ["1;drop table units", "username)--", "id%20desc"] {
                let grouped = try await client.get("/api/v1/usage/current?groupby=\(groupBy)", user: "bob")
                #expect(grouped.status == 400 && grouped.json?["error"]?.stringValue == "invalid request")
            }
            let injected = try await client.get(
                "/api/v1/units?uuid=2002%27%20OR%201%3D1--&project=x%22)%20OR%20(1=1&cluster_id=%25", user: "bob")
            #expect(injected.status == 200 && injected.data.isEmpty)
            let many = (0..<3000).map { "uuid=\($0)" }.joined(separator: "&")
            let large = try await client.get("/api/v1/units?\(many)", user: "bob")
            #expect(large.status == 200)
            let weird = try await client.get(
                "/api/v1/units?%zz=1&timezone=Mars/Olympus&running=false&\(Self.window)", user: "bob")
            #expect(weird.status == 200 && weird.data.strings("uuid") == ["2002", "2003"])
        }
    }

    @Test func routingAndStaticPages() async throws {
        try await withServer { client in
            let health = try await client.get("/health")
            #expect(health.status == 200 && health.body == "CEEMS API Server is healthy")
            let landing = try await client.get("/")
            #expect(landing.body.contains("swagger/index.html") && landing.body.contains("ceems_api_server"))
            let unknown = try await client.get("/api/v1/nothing", user: "bob")
            #expect(unknown.status == 404 && unknown.body == "404 page not found\n")
            let trailing = try await client.get("/api/v1/units/", user: "bob")
            #expect(trailing.status == 404)
            let badMode = try await client.get("/api/v1/usage/yearly", user: "bob")
            #expect(badMode.status == 404)
            let post = try await client.get("/api/v1/units", user: "bob", method: .POST)
            #expect(post.status == 405 && post.body.isEmpty)
            let doc = try await client.get("/swagger/doc.json")
            #expect(doc.json?["info"]?["title"]?.stringValue == "CEEMS API")
            #expect(doc.json?["basePath"]?.stringValue == "/api/v1")
            let demo = try await client.get("/api/v1/demo/units")
            #expect(demo.status == 200 && demo.data.count == 100)
            let demoUsage = try await client.get("/api/v1/demo/usage")
            #expect(demoUsage.status == 200 && !demoUsage.data.isEmpty)
        }
    }

    @Test func corsPreflight() async throws {
        var http = APIHTTPOptions()
        http.corsOrigin = "https://reqbin\\.com"
        try await withServer(http: http) { client in
            let preflight = try await client.get(
                "/api/v1/units", method: .OPTIONS, headers: [("Origin", "https://reqbin.com")])
            #expect(preflight.status == 200 && preflight.body.isEmpty)
            #expect(preflight.headers.first(name: "Access-Control-Allow-Origin") == "https://reqbin.com")
            #expect(
                preflight.headers.first(name: "Access-Control-Allow-Headers")
                    == "Accept, Authorization, Content-Type, Origin, X-Grafana-User")
            #expect(preflight.headers.first(name: "Access-Control-Allow-Methods") == "GET")
            #expect(preflight.headers.first(name: "Access-Control-Expose-Headers") == "Date")
            #expect(preflight.headers.first(name: "Vary") == "Origin")
            let other = try await client.get(
                "/api/v1/units", method: .OPTIONS, headers: [("Origin", "https://evil.com")])
            #expect(other.headers.first(name: "Access-Control-Allow-Origin") == nil)
            #expect(other.headers.first(name: "Access-Control-Allow-Methods") == "GET")
        }
    }

    @Test func rateLimitMaxPeriodAndCompression() async throws {
        var http = APIHTTPOptions()
        http.maxRequests = 5
        http.maxQueryPeriod = .seconds(86400 * 7)
        http.compression = true
        try await withServer(http: http) { client in
            let long = try await client.get("/api/v1/units?from=0&to=1709679600", user: "bob")
            #expect(long.status == 400 && long.json?["error"]?.stringValue == "maximum query window exceeded")
            let compressed = try await client.get(
                "/api/v1/units?\(Self.window)", user: "bob", headers: [("Accept-Encoding", "gzip")])
            #expect(compressed.headers.first(name: "Content-Encoding") == "gzip")
            let deflated = try await client.get(
                "/api/v1/units?\(Self.window)", user: "bob", headers: [("Accept-Encoding", "deflate")])
            #expect(deflated.headers.first(name: "Content-Encoding") == "deflate")
            #expect(deflated.headers.first(name: "Vary")?.contains("Accept-Encoding") == true)
            let inflated = try Gzip.decompress(deflated.bytes, format: .zlib)
            #expect(JSONValue.parse(String(decoding: inflated, as: UTF8.self))?["status"]?.stringValue == "success")
            #expect(compressed.headers.first(name: "X-RateLimit-Limit") == "5")
            var statuses: [Int] = []
            for _ in 0..<5 { statuses.append(try await client.get("/health").status) }
            #expect(statuses.contains(429))
            // A spoofed forwarding header from a loopback peer (trusted by default) moves the key: to test that
            // untrusted peers cannot, see RateLimiterTests.
            let limited = try await client.get("/health")
            #expect(limited.status == 429 && limited.body == "Too Many Requests\n")
            #expect(limited.headers.first(name: "Retry-After") == "60")
        }
    }

    @Test func sacctIsCalledWithTheSpecifiedArguments() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let record = directory + "/args"
        try await withServer(environment: ["FAKE_SACCT_ARGS": record]) { _ in
            let arguments = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(
                Array(arguments.prefix(9)) == [
                    "-D", "-X", "--noheader", "--allusers", "--parsable2", "--format", SlurmManager.sacctFormat,
                    "--state", "CANCELLED,COMPLETED,FAILED,NODE_FAIL,PREEMPTED,TIMEOUT,RUNNING",
                ])
            // The last window of the catch-up, in Europe/Paris wall time.
            #expect(
                Array(arguments[9..<13]) == ["--starttime", "2024-03-05T00:00:00", "--endtime", "2024-03-06T00:00:00"])
            #expect(arguments.last == "SLURM_TIME_FORMAT=%Y-%m-%dT%H:%M:%S%z")
        }
    }
}

@Suite struct RateLimiterTests {
    @Test func slidingWindow() {
        let limiter = RateLimiter(limit: 3)
        let base: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
        let allowed = (0..<5).map { limiter.check(key: "a", nowMilliseconds: base + Int64($0)).allowed }
        #expect(allowed == [true, true, true, false, false])
        #expect(limiter.check(key: "b", nowMilliseconds: base).allowed)
        // Half-way through the next minute, half of the previous count still weighs.
        #expect(limiter.check(key: "a", nowMilliseconds: base + 90_000).allowed)
        #expect(limiter.check(key: "a", nowMilliseconds: base + 150_000).allowed)
    }

    @Test func networks() throws {
        let v4 = try #require(IPNetwork("10.1.0.0/16"))
        #expect(v4.contains("10.1.200.3") && !v4.contains("10.2.0.1") && !v4.contains("garbage"))
        #expect(try #require(IPNetwork("127.0.0.0/8")).contains("::ffff:127.0.0.1"))
        let v6 = try #require(IPNetwork("::1/128"))
        #expect(v6.contains("::1") && !v6.contains("::2"))
        #expect(try #require(IPNetwork("2001:db8::/32")).contains("2001:db8:1::5"))
        #expect(IPNetwork("300.1.1.1") == nil && IPNetwork("1.2.3.4/33") == nil && IPNetwork("1:2:3") == nil)
    }
}
