import CEEMSCLI
import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import Hummingbird
import Synchronization
import Testing

/// A console recording what the tool says and answering prompts from a script.
final class RecordingConsole: Sendable {
    let text = Mutex("")
    let answers: Mutex<[String]>

    init(answers: [String] = []) { self.answers = Mutex(answers) }

    var console: ToolConsole {
        ToolConsole(
            write: { line in self.text.withLock { $0 += line } },
            readLine: { self.answers.withLock { $0.isEmpty ? nil : $0.removeFirst() } })
    }

    var output: String { text.withLock { $0 } }
}

@Suite(.serialized) struct CEEMSToolTests {
    /// Series of four CEEMS exporter jobs (IPMI + RAPL with NVIDIA GPUs, Redfish with two chassis and AMD GPUs,
    /// RAPL only, Cray) and their GPU exporters, plus recorded series for the updater-query look-up.
    static func openMetrics(start: Int, end: Int) -> String {
        var series: [(name: String, labels: String, value: Double, start: Int, end: Int)] = []
        func add(_ name: String, _ labels: String, _ value: Double) { series.append((name, labels, value, start, end)) }
        let unitNames = [
            "ceems_compute_unit_cpu_user_seconds_total", "ceems_compute_unit_memory_used_bytes",
        ]
        for (job, host) in [("ceems-ipmi", "gpu1"), ("ceems-redfish", "amd1"), ("ceems-rapl", "cpu1"), ("ceems-cray", "cray1")] {
            let labels = #"job="\#(job)",instance="\#(host):9010",hostname="\#(host)""#
            for name in unitNames { add(name, labels + #",uuid="1""#, 10) }
            add("ceems_rapl_package_joules_total", labels + #",index="0""#, 100)
            if job != "ceems-cray" { add("ceems_rapl_dram_joules_total", labels + #",index="0""#, 10) }
            switch job {
            case "ceems-ipmi":
                add("ceems_ipmi_dcmi_current_watts", labels, 900)
                add("ceems_compute_unit_gpu_index_flag", labels + #",uuid="1",gpuuuid="GPU-1",gpuiid="",index="0""#, 1)
                for (name, labels) in [
                    ("DCGM_FI_DEV_POWER_USAGE_INSTANT", ""), ("DCGM_FI_PROF_SM_ACTIVE", ""), ("DCGM_FI_PROF_SM_OCCUPANCY", ""),
                    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", ""), ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", ""),
                ] {
                    add(name, #"job="dcgm",instance="gpu1:9400",Hostname="gpu1",gpuuuid="GPU-1",modelName="NVIDIA A100""# + labels, 300)
                }
            case "ceems-redfish":
                add("ceems_redfish_current_watts", labels + #",chassis="Chassis_1""#, 400)
                add("ceems_redfish_current_watts", labels + #",chassis="Chassis_2""#, 1700)
                add("ceems_compute_unit_gpu_index_flag", labels + #",uuid="1",gpuuuid="serial",gpuiid="",index="0""#, 1)
                add("amd_gpu_power", #"job="amd-smi",instance="amd1:5000",gpu_power="0""#, 500e6)
            case "ceems-cray":
                add("ceems_cray_pm_counters_power_watts", labels + #",domain="node""#, 600)
            default:
                break
            }
        }
        for provider in ["emaps", "rte"] {
            add(
                "ceems_emissions_gCo2_kWh",
                #"job="ceems-ipmi",instance="gpu1:9010",provider="\#(provider)",provider_name="\#(provider)",country_code="FR",country="France""#,
                40)
        }
        // Recorded series as the rules would have written them.
        for name in ["uuid:ceems_cpu_usage:ratio_irate", "uuid:ceems_cpu_memory_usage:ratio", "uuid:ceems_host_power_watts:pue", "uuid:ceems_gpu_power_watts:pue"] {
            add(name, #"job="ceems-ipmi",uuid="1""#, 1)
        }
        add("uuid:ceems_host_emissions_g_s:pue", #"job="ceems-ipmi",uuid="1",provider="rte""#, 1)
        add("uuid:ceems_host_emissions_g_s:pue", #"job="ceems-ipmi",uuid="1",provider="owid""#, 1)
        add("uuid:ceems_gpu_emissions_g_s:pue", #"job="ceems-ipmi",uuid="1",provider="rte""#, 1)
        return RealPrometheus.gauges(series)
    }

    static let scrapeConfigs = """
        scrape_configs:
          - job_name: ceems-ipmi
            scrape_interval: 500ms
            static_configs: [{targets: ["127.0.0.1:1"]}]
          - job_name: dcgm
            scrape_interval: 1s
            static_configs: [{targets: ["127.0.0.1:2"]}]

        """

    func withPrometheus(_ body: (RealPrometheus, Double, Double) async throws -> Void) async throws {
        let end = (Int(Date().timeIntervalSince1970) / 60 - 10) * 60
        let start = end - 3600
        let prometheus = try await RealPrometheus(
            openMetrics: Self.openMetrics(start: start, end: end), scrapeInterval: "15s", evaluationInterval: "1s",
            scrapeConfigs: Self.scrapeConfigs)
        defer { prometheus.stop() }
        // Prometheus applies discovered targets on a 5 s tick: wait until both jobs are listed.
        let api = try PrometheusAPI(url: prometheus.url, config: HTTPClientConfig())
        for _ in 0..<60 where (try? await api.jobScrapeIntervals())?.count != 2 {
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(try await api.jobScrapeIntervals() == ["ceems-ipmi": .milliseconds(500), "dcgm": .seconds(1)])
        await api.shutdown()
        try await body(prometheus, Double(start), Double(end))
    }

    func promtoolCheck(_ files: [String]) async throws {
        let check = try await CommandRunner().runAllowingFailure(
            CommandRunner.lookPath("promtool") ?? "promtool", arguments: ["check", "rules"] + files, timeout: .seconds(60))
        #expect(
            check.exitCode == 0,
            "promtool check rules: \(check.text)\(String(decoding: check.standardError, as: UTF8.self))")
    }

    @Test(
        "recording rules from a real Prometheus: providers, OWID with the chassis prompt, custom factor",
        .enabled(if: RealPrometheus.available || RealPrometheus.required))
    func recordingRules() async throws {
        try await withPrometheus { prometheus, start, end in
            let api = try PrometheusAPI(url: prometheus.url, config: HTTPClientConfig())
            defer { Task { await api.shutdown() } }
            for (run, configure, answers) in [
                ("fr", { (o: inout RecordingRulesGenerator.Options) in o.countryCode = "FR" }, ["0"]),
                ("fr-static", { (o: inout RecordingRulesGenerator.Options) in
                    o.countryCode = "FR"
                    o.disableProviders = true
                }, ["1"]),
                ("custom", { (o: inout RecordingRulesGenerator.Options) in o.emissionFactor = 50 }, ["0"]),
            ] as [(String, (inout RecordingRulesGenerator.Options) -> Void, [String])] {
                let directory = try temporaryDirectory()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                var options = RecordingRulesGenerator.Options(start: start, end: end)
                options.pue = 1.2
                options.outputDirectory = directory + "/rules"
                configure(&options)
                let recorder = RecordingConsole(answers: answers)
                let files = try await RecordingRulesGenerator(api: api, options: options, console: recorder.console).run()
                #expect(files.map(\.file) == [
                    "ceems-cray.rules", "ceems-ipmi.rules", "dcgm-gpu.rules", "ceems-rapl.rules", "ceems-redfish.rules",
                    "amd-smi-gpu.rules",
                ])
                var combined = "# console\n" + recorder.output
                for (name, content) in files {
                    combined += "# \(name)\n" + content
                    let attributes = try FileManager.default.attributesOfItem(atPath: options.outputDirectory + "/" + name)
                    #expect((attributes[.posixPermissions] as? Int) == 0o600)
                    #expect(try String(contentsOfFile: options.outputDirectory + "/" + name, encoding: .utf8) == content)
                }
                try Golden.check(combined, name: "tool-rules-\(run).txt")
                try await promtoolCheck(files.map { options.outputDirectory + "/" + $0.file })
            }

            // A wrong chassis answer is an error, not a guess.
            var options = RecordingRulesGenerator.Options(start: start, end: end)
            options.outputDirectory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: options.outputDirectory) }
            await #expect(throws: ToolError.self) {
                try await RecordingRulesGenerator(api: api, options: options, console: RecordingConsole(answers: ["7"]).console).run()
            }
            options.countryCode = "FR"
            options.emissionFactor = 3
            let error = await #expect(throws: ToolError.self) {
                try await RecordingRulesGenerator(api: api, options: options, console: RecordingConsole().console).run()
            }
            #expect(error?.description == "--country-code and --emission-factor cannot be used together. Set atmost one.")
        }
    }

    @Test(
        "relabel configs and updater queries from a real Prometheus",
        .enabled(if: RealPrometheus.available || RealPrometheus.required))
    func relabelAndUpdaterQueries() async throws {
        try await withPrometheus { prometheus, start, end in
            let api = try PrometheusAPI(url: prometheus.url, config: HTTPClientConfig())
            defer { Task { await api.shutdown() } }
            let relabel = try await RelabelConfigs.generate(api: api, start: start, end: end)
            try Golden.check(relabel, name: "tool-relabel-configs.yml")
            #expect(relabel.contains("  - job_name: \"dcgm\"\n"))
            // The output merges into a Prometheus configuration: promtool accepts it.
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let config = relabel.replacingOccurrences(
                of: "    metric_relabel_configs:", with: "    static_configs: [{targets: [\"localhost:9400\"]}]\n    metric_relabel_configs:")
            try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
            let check = try await CommandRunner().runAllowingFailure(
                CommandRunner.lookPath("promtool") ?? "promtool", arguments: ["check", "config", directory + "/prometheus.yml"],
                timeout: .seconds(60))
            #expect(check.exitCode == 0, "\(check.text)\(String(decoding: check.standardError, as: UTF8.self))")

            let queries = try await UpdaterQueries.generate(api: api, start: start, end: end)
            try Golden.check(queries, name: "tool-updater-queries.yml")
            #expect(queries.contains(">= 0 < +Inf"))
            #expect(!queries.contains("avg_gpu_usage"))
            #expect(queries.contains("owid_total"))
        }
    }

    static let binary: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/.build/debug/ceems_tool"
    }()

    /// The real binary: flags, the chassis answer piped on stdin, messages on stderr, files written, exit codes.
    @Test(
        .enabled(
            if: (RealPrometheus.available || RealPrometheus.required) && FileManager.default.isExecutableFile(atPath: binary)))
    func theBinaryWithAPipedChassisAnswer() async throws {
        try await withPrometheus { prometheus, start, end in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let command =
                "echo 1 | \(Self.binary) tsdb create-recording-rules --url \(prometheus.url) --start \(Int(start)) --end \(Int(end)) --country-code FR --disable-providers --pue 1.2 --output-dir \(directory)/rules >\(directory)/out 2>\(directory)/err"
            let run = try await CommandRunner().runAllowingFailure("/bin/sh", arguments: ["-c", command], timeout: .seconds(60))
            #expect(run.exitCode == 0)
            #expect(try String(contentsOfFile: directory + "/out", encoding: .utf8).isEmpty)  // everything on stderr
            let err = try String(contentsOfFile: directory + "/err", encoding: .utf8)
            #expect(err.contains("Enter number between 0 and 1\n"))
            #expect(err.contains("generating recording rules for job ceems-redfish in file ceems-redfish.rules"))
            let redfish = try String(contentsOfFile: directory + "/rules/ceems-redfish.rules", encoding: .utf8)
            #expect(redfish.contains(#"chassis="Chassis_2""#))
            // Wrong answer, bad flags, a Prometheus that is not there: exit 1 with a message.
            for (arguments, message) in [
                ("echo 9 | \(Self.binary) tsdb create-recording-rules --url \(prometheus.url) --start \(Int(start)) --end \(Int(end)) --output-dir \(directory)/x", "invalid chassis number 9"),
                ("\(Self.binary) tsdb create-recording-rules --pue", "Missing value for '--pue"),
                ("\(Self.binary) tsdb create-relabel-configs --url http://127.0.0.1:1", "127.0.0.1:1"),
                ("\(Self.binary) tsdb create-recording-rules --country-code FR --emission-factor 3", "--country-code and --emission-factor cannot be used together"),
            ] {
                let failed = try await CommandRunner().runAllowingFailure(
                    "/bin/sh", arguments: ["-c", arguments], timeout: .seconds(60))
                #expect(failed.exitCode == 1, "\(arguments)")
                #expect(String(decoding: failed.standardError, as: UTF8.self).contains(message), "\(arguments)")
            }
        }
    }

    @Test func webConfigCreation() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = WebConfigTools.CreateOptions()
        options.outputDirectory = directory + "/a/b"
        let recorder = RecordingConsole()
        let password = try await WebConfigTools.create(options, console: recorder.console)
        #expect(password.count == 24 && password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        let file = options.outputDirectory + "/web-config.yml"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.hasPrefix("tls_server_config:\n  cert_file: \"\"\n  key_file: \"\"\nbasic_auth_users:\n  ceems: \"$2b$10$"))
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: options.outputDirectory)[.posixPermissions] as? Int) == 0o700)
        #expect(recorder.output.contains("plain text password for basic auth is \(password)\n"))
        #expect(WebConfigTools.check(files: [file], console: recorder.console))

        // TLS: needs a host; the certificate and key load and the file checks.
        options.tls = true
        await #expect(throws: ToolError.self) { try await WebConfigTools.create(options, console: recorder.console) }
        guard CommandRunner.lookPath("openssl") != nil else { return }
        options.tlsHosts = ["localhost", "127.0.0.1"]
        options.outputDirectory = directory + "/tls"
        try await WebConfigTools.create(options, console: recorder.console)
        let tlsFile = options.outputDirectory + "/web-config.yml"
        #expect(try String(contentsOfFile: tlsFile, encoding: .utf8).hasPrefix("tls_server_config:\n  cert_file: \"cert.pem\"\n  key_file: \"key.pem\"\n"))
        #expect((try FileManager.default.attributesOfItem(atPath: options.outputDirectory + "/key.pem")[.posixPermissions] as? Int) == 0o600)
        let certificate = try await CommandRunner().run(
            "openssl", arguments: ["x509", "-in", options.outputDirectory + "/cert.pem", "-noout", "-text"], timeout: .seconds(10))
        for expected in ["O = Acme Co", "DNS:localhost", "IP Address:127.0.0.1", "CA:TRUE", "TLS Web Server Authentication", "prime256v1", "Digital Signature, Certificate Sign"] {
            #expect(certificate.text.contains(expected), "\(expected)")
        }
        let checker = RecordingConsole()
        #expect(WebConfigTools.check(files: [tlsFile], console: checker.console))
        try "tls_server_config:\n  cert_file: missing.pem\n  key_file: key.pem\n".write(toFile: directory + "/bad.yml", atomically: true, encoding: .utf8)
        #expect(!WebConfigTools.check(files: [tlsFile, directory + "/bad.yml"], console: checker.console))
        #expect(checker.output.hasPrefix("\(tlsFile) SUCCESS\n\(tlsFile) SUCCESS\n\(directory)/bad.yml FAILED: "))
    }

    @Test func healthChecks() async throws {
        let recorder = RecordingConsole()
        let prometheus = try? await RealPrometheus(openMetrics: "# EOF\n")
        if let prometheus {
            defer { prometheus.stop() }
            // Prometheus has no /health; its 404 is a failure with the status.
            let error = await #expect(throws: ToolError.self) {
                try await HealthCheck.run(url: prometheus.url, httpConfigFile: nil, console: recorder.console)
            }
            #expect(error?.description == "check failed: URL=\(prometheus.url), status=404")
        }
        let router = Router()
        router.get("/health") { _, _ in "CEEMS API server is healthy" }
        try await withFakeServer(router) { port in
            try await HealthCheck.run(url: "http://127.0.0.1:\(port)/", httpConfigFile: nil, console: recorder.console)
        }
        #expect(recorder.output == "  SUCCESS:  CEEMS API server is healthy\n")
        let port = try RealPrometheus.freePort()
        await #expect(throws: ToolError.self) {
            try await HealthCheck.run(url: "http://127.0.0.1:\(port)", httpConfigFile: nil, console: recorder.console)
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "basic_auth:\n  username: a\n  password: b\n".write(toFile: directory + "/http.yml", atomically: true, encoding: .utf8)
        let error = await #expect(throws: ToolError.self) {
            try await HealthCheck.run(url: "http://u:p@127.0.0.1:\(port)", httpConfigFile: directory + "/http.yml", console: recorder.console)
        }
        #expect(error?.description == "Cannot set base auth in the server URL and use a http.config.file at the same time")
        #expect(try ToolTime.parse("2024-01-02T03:04:05.123456789Z", flag: "--start") == 1704164645.123456789)
        #expect(try ToolTime.parse("1704164645.5", flag: "--start") == 1704164645.5)
        #expect(throws: ToolError.self) { try ToolTime.parse("yesterday", flag: "--start") }
    }
}
