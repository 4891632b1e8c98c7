import ArgumentParser
import CEEMSCLI
import CEEMSCore
import CEEMSTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing

/// A fake API server answering `/units` and `/usage/current` with two units of usr1 (the reference's
/// conformance values) and recording the requests.
final class FakeCEEMSAPI: Sendable {
    let requests = Mutex<[(String, String)]>([])
    let status: HTTPResponse.Status

    init(status: HTTPResponse.Status = .ok) { self.status = status }

    static let units = #"""
        {"status":"success","data":[
        {"cluster_id":"slurm-0","uuid":"1479763","name":"test_script1","project":"acc1","groupname":"grp1","username":"usr1","created_at":"2022-02-21T14:37:02+0100","started_at":"2022-02-21T14:37:07+0100","ended_at":"2022-02-21T15:26:29+0100","elapsed":"00:49:22","state":"CANCELLED by 302137","started_at_ts":1645450627000,"ended_at_ts":1645453589000,"avg_cpu_usage":{"global":21.22149394},"avg_cpu_mem_usage":{"global":21.22149394},"total_cpu_energy_usage_kwh":{"total":21.22149394},"total_cpu_emissions_gms":{"emaps_total":21.22149394,"rte_total":31.2},"avg_gpu_usage":{},"total_gpu_energy_usage_kwh":{}},
        {"cluster_id":"slurm-0","uuid":"1479765","name":"test_script2","project":"acc1","groupname":"grp8","username":"usr8","created_at":"2022-02-21T15:48:20+0100","started_at":"2022-02-21T15:49:06+0100","ended_at":"2022-02-21T15:57:23+0100","elapsed":"00:08:17","state":"CANCELLED by 302137","started_at_ts":1645454946000,"ended_at_ts":1645455443000,"avg_cpu_usage":{"global":19.5},"avg_cpu_mem_usage":{"global":19.5},"total_cpu_energy_usage_kwh":{"total":1.5},"total_cpu_emissions_gms":{"rte_total":3.25},"avg_gpu_usage":{"global":88.5},"total_gpu_energy_usage_kwh":{"total":2.25}}
        ]}
        """#

    static let usage = #"""
        {"status":"success","data":[
        {"cluster_id":"slurm-0","project":"acc1","groupname":"grp1","username":"usr1","num_units":1,"avg_cpu_usage":{"global":21.22},"total_time_seconds":{"walltime":2962},"total_cpu_energy_usage_kwh":{"total":21.221494},"total_cpu_emissions_gms":{"emaps_total":21.2,"rte_total":31.2}},
        {"cluster_id":"slurm-0","project":"acc1","groupname":"grp8","username":"usr8","num_units":1,"total_time_seconds":{"walltime":497}}
        ]}
        """#

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("/api/v1/units") { request, _ in try self.answer(request, Self.units) }
        router.get("/api/v1/units/admin") { request, _ in try self.answer(request, Self.units) }
        router.get("/api/v1/usage/current") { request, _ in try self.answer(request, Self.usage) }
        router.get("/api/v1/usage/current/admin") { request, _ in try self.answer(request, Self.usage) }
        return router
    }

    func answer(_ request: Request, _ body: String) throws -> Response {
        requests.withLock {
            $0.append((request.head.path ?? "", request.headers[HTTPField.Name("X-Grafana-User")!] ?? ""))
        }
        let text = status == .ok ? body : #"{"status":"error","errorType":"forbidden","error":"no"}"#
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

@Suite(.serialized) struct CacctTests {
    func run(
        _ arguments: [String], api: FakeCEEMSAPI = FakeCEEMSAPI(), user: String = "usr1", terminalWidth: Int? = nil
    ) async throws
        -> (CacctResult, [(String, String)])
    {
        try await withFakeServer(api.router()) { port in
            var config = CacctConfig()
            config.apiURL = "http://127.0.0.1:\(port)"
            config.clusterID = "slurm-0"
            let options = try CacctOptions.parse(arguments)
            var cacct = Cacct(
                options: options, config: config, currentUser: user, now: Date(timeIntervalSince1970: 1_645_500_000))
            cacct.terminalWidth = terminalWidth
            let result = await cacct.run()
            return (result, api.requests.withLock { $0 })
        }
    }

    @Test func defaultTable() async throws {
        let (result, requests) = try await run(["--starttime", "2022-02-20", "--endtime", "2022-03-20T00:00"])
        #expect(result.exitCode == 0, "\(result.standardError)")
        try Golden.check(result.standardOutput, name: "cacct-default.txt")
        #expect(requests.count == 2)
        #expect(requests.allSatisfy { $0.1 == "usr1" })
        let units = try #require(requests.first?.0)
        #expect(units.hasPrefix("/api/v1/units?cluster_id=slurm-0&field=uuid&field=project&field=elapsed&"))
        #expect(units.contains("&field=started_at_ts&field=ended_at_ts&from="))
        // On an 80-column terminal the widest columns narrow (to their minimum at most) so every line fits.
        let (narrow, _) = try await run(["--starttime", "2022-02-20"], terminalWidth: 80)
        try Golden.check(narrow.standardOutput, name: "cacct-80-columns.txt")
        // Ids never wrap; numbers take two decimals and cells drop their left padding instead of wrapping values.
        #expect(narrow.standardOutput.contains("│1479763 │acc1   │00:49:22 │21.22 │21.22 │21.22  │21.22  │31.20 │"))
        #expect(narrow.standardOutput.split(separator: "\n").allSatisfy { $0.count <= 80 })
        let (wide, _) = try await run(["--starttime", "2022-02-20"], terminalWidth: 200)
        #expect(wide.standardOutput == result.standardOutput)
    }

    @Test func longCSVJSONAndAdmin() async throws {
        let (long, _) = try await run(["--long", "--starttime", "2022-02-20"])
        try Golden.check(long.standardOutput, name: "cacct-long.txt")
        let (csv, _) = try await run(["--csv", "--format", "JobID,account,hostEmissions"])
        try Golden.check(csv.standardOutput, name: "cacct-format.csv")
        let (json, _) = try await run(["--json", "--job", "1479763,1479765"])
        let document = try #require(JSONValue.parse(json.standardOutput))
        guard case .array(let units)? = document["units"], case .array(let summary)? = document["summary"] else {
            Issue.record("no units/summary in \(json.standardOutput)")
            return
        }
        #expect(units.count == 2)
        #expect(summary.count == 1)  // only the current user's usage
        let (admin, requests) = try await run(["--user", "usr8,usr1", "--markdown"])
        #expect(admin.exitCode == 0)
        #expect(requests.first?.0.hasPrefix("/api/v1/units/admin?") == true)
        #expect(requests.first?.0.contains("&user=usr8&user=usr1") == true)
        let (selfOnly, selfRequests) = try await run(["--user", "usr1"])
        #expect(selfOnly.exitCode == 0)
        #expect(selfRequests.first?.0.hasPrefix("/api/v1/units?") == true)
    }

    @Test func errorsHaveMessagesAndExitCodes() async throws {
        let (forbidden, _) = try await run([], api: FakeCEEMSAPI(status: .forbidden))
        #expect(forbidden.exitCode == 1)
        #expect(forbidden.standardError == "forbidden. It is likely that the user is attempting to view statistics of others\n")
        let (failed, _) = try await run([], api: FakeCEEMSAPI(status: .internalServerError))
        #expect(failed.exitCode == 1)
        #expect(failed.standardError == "server did not return any data due to unknown error\n")
        let (unknown, _) = try await run(["--format", "jobid,nope"])
        #expect(unknown.exitCode == 1)
        #expect(unknown.standardError.contains("unknown field nope in --format"))
        let (ts, _) = try await run(["--ts"])
        #expect(ts.standardError == "cacct: error: explicit job IDs must be passed using --job when --ts is enabled\n")
        let (time, _) = try await run(["--starttime", "2022-13-01"])
        #expect(time.standardError.hasPrefix("cacct: error: failed to parse --starttime flag"))
        // Nothing listens on the port: a network error, said, exit 1 (§10 #3).
        var config = CacctConfig()
        config.apiURL = "http://127.0.0.1:\(try RealPrometheus.freePort())"
        let down = await Cacct(options: try CacctOptions.parse([]), config: config, currentUser: "usr1").run()
        #expect(down.exitCode == 1)
        #expect(down.standardError.hasPrefix("cacct: error: "))
    }

    @Test func helpFormatAndTimes() async throws {
        let (help, _) = try await run(["--helpformat"])
        #expect(help.standardOutput.contains("hostemissions"))
        #expect(help.standardOutput.contains("Total eq. emissions due to host energy usage duration of the job"))
        let paris = TimeZone(identifier: "Europe/Paris")!
        #expect(CacctOptions.parseTime("2022-02-20T10:00:05", zone: paris)?.timeIntervalSince1970 == 1_645_347_605)
        #expect(CacctOptions.parseTime("2022-02-20T10:00", zone: paris)?.timeIntervalSince1970 == 1_645_347_600)
        #expect(CacctOptions.parseTime("2022-02-20", zone: paris)?.timeIntervalSince1970 == 1_645_311_600)
        #expect(CacctOptions.parseTime("2022-02-30", zone: paris) == nil)
        #expect(CacctOptions.parseTime("20-02-2022", zone: paris) == nil)
    }

    /// `--ts` against a real Prometheus: one CSV per series named by its fingerprint, and the metadata.
    @Test(.enabled(if: RealPrometheus.available || RealPrometheus.required))
    func dumpsTimeSeries() async throws {
        let prometheus = try await RealPrometheus(
            openMetrics: RealPrometheus.gauges(
                [("avg_cpu_usage", #"instance="localhost:9090",uuid="1479763""#, 29.38529014, 1_645_450_630, 1_645_453_580)],
                step: 10))
        defer { prometheus.stop() }
        let directory = try temporaryDirectory() + "/out"
        let api = FakeCEEMSAPI()
        let result = try await withFakeServer(api.router()) { port in
            var config = CacctConfig()
            config.apiURL = "http://127.0.0.1:\(port)"
            config.tsdbURL = prometheus.url
            config.queries = ["cpu_usage": #"avg_cpu_usage{uuid=~"%s"}"#]
            let options = try CacctOptions.parse(["--job", "1479763", "--ts", "--ts.out-dir", directory, "--csv"])
            return await Cacct(options: options, config: config, currentUser: "usr1").run()
        }
        #expect(result.exitCode == 0, "\(result.standardError)")
        #expect(result.standardError.hasSuffix("time series data saved to directory \(directory)\n"))
        let fingerprint = Cacct.fingerprint([
            ("__name__", "avg_cpu_usage"), ("instance", "localhost:9090"), ("uuid", "1479763"),
        ])
        let metadata = try String(contentsOfFile: directory + "/metadata.json", encoding: .utf8)
        #expect(
            metadata
                == "[\n\t{\n\t\t\"fingerprint\": \"\(fingerprint)\",\n\t\t\"labels\": {\n\t\t\t\"__name__\": \"avg_cpu_usage\",\n\t\t\t\"instance\": \"localhost:9090\",\n\t\t\t\"uuid\": \"1479763\"\n\t\t}\n\t}\n]\n")
        let csv = try String(contentsOfFile: directory + "/\(fingerprint).csv", encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "timestamp,value")
        #expect(lines.count > 250)
        #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(",29.38529014") })
        #expect(lines.dropFirst().first?.hasPrefix("164545063") == true)
    }

    @Test func fingerprintsAsPrometheus() {
        #expect(Cacct.fingerprint([("instance", "localhost:9090"), ("uuid", "147973")]) == "554b56cadf9dea4b")
    }
}
