import ArgumentParser
import CEEMSCLI
import CEEMSCore
import CEEMSTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `cacct` against the real API server (fake SLURM accounting, a real Prometheus holding the recorded series the
/// TSDB updater aggregates), and in a real terminal (tmux) at 80 and 200 columns.
@Suite(.serialized, .enabled(if: RealPrometheus.available || RealPrometheus.required))
struct CacctAgainstAPIServerTests {
    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// Runs `body` with a settled API server (one update cycle done) and the Prometheus behind it.
    func withStack(_ body: @Sendable (_ apiPort: Int, _ prometheus: RealPrometheus) async throws -> Void) async throws {
        let prometheus = try await RealPrometheus(openMetrics: TSDBUpdaterTests.series)
        defer { prometheus.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try slurmConfig(dataPath: directory + "/data", tsdbURL: prometheus.url)
        try await withAPIServer(config: config) { client, _ in try await body(client.port, prometheus) }
    }

    func cacct(_ arguments: [String], user: String, apiPort: Int, tsdbURL: String = "") async throws -> CacctResult {
        var config = CacctConfig()
        config.apiURL = "http://127.0.0.1:\(apiPort)"
        config.clusterID = "slurm-0"
        config.tsdbURL = tsdbURL
        config.queries = ["cpu_usage": #"uuid:ceems_cpu_usage:ratio_irate{uuid=~"%s"}"#]
        var cacct = Cacct(
            options: try CacctOptions.parse(arguments), config: config, currentUser: user,
            now: Date(timeIntervalSince1970: 1_709_679_600))
        cacct.terminalWidth = nil
        return await cacct.run()
    }

    static let window = ["--starttime", "2024-03-04", "--endtime", "2024-03-06"]

    @Test func tableJSONCSVAndTimeSeries() async throws {
        try await withStack { port, prometheus in
            // The table of alice's jobs, with the numbers the updater computed from Prometheus.
            let table = try await cacct(Self.window, user: "alice", apiPort: port)
            #expect(table.exitCode == 0, "\(table.standardError)")
            try Golden.check(table.standardOutput, name: "cacct-alice.txt")
            #expect(table.standardOutput.contains("2001"))
            #expect(!table.standardOutput.contains("2002"))  // bob's job

            let csv = try await cacct(
                Self.window + ["--csv", "--format", "JobID,Account,Elapsed,CPUUsage,HostEnergy,HostEmissions"], user: "alice",
                apiPort: port)
            try Golden.check(csv.standardOutput, name: "cacct-alice.csv")

            let json = try await cacct(Self.window + ["--json", "--job", "2001"], user: "alice", apiPort: port)
            let document = try #require(JSONValue.parse(json.standardOutput))
            guard case .array(let units)? = document["units"] else {
                Issue.record("no units in \(json.standardOutput)")
                return
            }
            #expect(units.count == 1)
            #expect(units.first?["avg_cpu_usage"]?["global"]?.doubleValue == 0.5)
            let energy = try #require(units.first?["total_cpu_energy_usage_kwh"]?["total"]?.doubleValue)
            #expect(energy > 0.19 && energy < 0.21)  // 200 W for an hour
            try Golden.check(json.standardOutput, name: "cacct-alice.json")

            // Another user's job is refused by the server's ownership check.
            let foreign = try await cacct(Self.window + ["--job", "2002"], user: "alice", apiPort: port)
            #expect(!foreign.standardOutput.contains("2002"))
            let asAdmin = try await cacct(Self.window + ["--user", "bob", "--csv", "--format", "JobID,User"], user: "admin1", apiPort: port)
            #expect(asAdmin.standardOutput.contains("2002,bob"), "\(asAdmin)")
            let notAdmin = try await cacct(Self.window + ["--user", "bob"], user: "alice", apiPort: port)
            #expect(notAdmin.exitCode == 1)
            #expect(!notAdmin.standardError.isEmpty)

            // --ts: the unit's recorded series over its run, from the real Prometheus.
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let ts = try await cacct(
                Self.window + ["--job", "2001", "--ts", "--ts.out-dir", directory + "/ts"], user: "alice", apiPort: port,
                tsdbURL: prometheus.url)
            #expect(ts.exitCode == 0, "\(ts.standardError)")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/ts").sorted()
            #expect(files.count == 2 && files.contains("metadata.json"))
            let csvFile = try #require(files.first { $0.hasSuffix(".csv") })
            let lines = try String(contentsOfFile: directory + "/ts/" + csvFile, encoding: .utf8).split(separator: "\n")
            #expect(lines.first == "timestamp,value")
            #expect(lines.count > 300)  // an hour at a 10 s step
            #expect(lines.dropFirst().allSatisfy { $0.hasSuffix(",0.5") })
        }
    }

    /// The real `cacct` binary of this debug build in a tmux pane of 80 and of 200 columns.
    @Test(.enabled(if: CommandRunner.lookPath("tmux") != nil && access(repository + "/.build/debug/cacct", X_OK) == 0))
    func readsWellInATerminal() async throws {
        try await withStack { port, _ in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try """
            ceems_api_server:
              cluster_id: slurm-0
              web:
                url: http://127.0.0.1:\(port)

            """.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
            // The default fields (a table that fits 80 columns) and thirteen fields (which cannot: records).
            let binary =
                "\(Self.repository)/.build/debug/cacct --config-path \(directory) --current-user alice --starttime 2024-03-04 --endtime 2024-03-06"
            let command =
                "\(binary); \(binary) --format jobid,name,account,user,startedat,endedat,elapsed,state,cpuusage,cpumemoryusage,hostenergy,hostemissions,gpuusage"
            var screens: [Int: [String]] = [:]
            for width in [80, 200] {
                let session = "cacct-test-\(getpid())-\(width)"
                let tmux = CommandRunner.lookPath("tmux") ?? "tmux"
                let environment = ["PATH": "/usr/bin:/bin", "TERM": "xterm-256color", "LANG": "C.UTF-8", "TZ": "UTC", "HOME": directory]
                _ = try await CommandRunner().run(
                    tmux,
                    arguments: [
                        "-L", session, "new-session", "-d", "-s", session, "-x", String(width), "-y", "60",
                        "(\(command)) > \(directory)/out-\(width).txt 2>&1; \(command); tmux -L \(session) wait-for -S done; sleep 30",
                    ], environment: environment, timeout: .seconds(20))
                _ = try await CommandRunner().run(
                    tmux, arguments: ["-L", session, "wait-for", "done"], environment: environment, timeout: .seconds(30))
                let pane = try await CommandRunner().run(
                    tmux, arguments: ["-L", session, "capture-pane", "-p", "-t", session], environment: environment,
                    timeout: .seconds(10))
                _ = try? await CommandRunner().run(
                    tmux, arguments: ["-L", session, "kill-server"], environment: environment, timeout: .seconds(10))
                screens[width] = pane.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
            let narrow = screens[80, default: []].filter { !$0.isEmpty }
            let wide = screens[200, default: []].filter { !$0.isEmpty }
            // Every line fits the terminal: the default table in its box, the wide one as records.
            #expect(narrow.count > 20)
            #expect(narrow.allSatisfy { $0.count <= 80 }, "\(narrow.joined(separator: "\n"))")
            let box = narrow.prefix { !$0.hasPrefix("─") }
            #expect(box.first?.hasPrefix("┌") == true && box.last?.hasPrefix("└") == true, "\(narrow.joined(separator: "\n"))")
            #expect(Set(box.map(\.count)).count == 1, "lines of one table have one width")
            #expect(box.contains { $0.hasPrefix("│ 2001 ") && $0.contains(" 0.203333 ") })
            let records = narrow.drop { !$0.hasPrefix("─") }
            #expect(records.contains("NAME                 train"))
            #expect(records.contains("STATE                COMPLETED"))
            #expect(records.contains("HOST ENERGY(KWH)     0.203333"))
            // At 200 columns nothing needs narrowing: the table is the one a pipe gets.
            let piped = try String(contentsOfFile: directory + "/out-200.txt", encoding: .utf8)
                .split(separator: "\n").map(String.init)
            #expect(wide == piped, "\(wide.joined(separator: "\n"))")
            #expect(wide.map(\.count).max()! > 80)  // the wide table at its natural width
        }
    }
}
