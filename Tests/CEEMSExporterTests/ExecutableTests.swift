import AsyncHTTPClient
import CEEMSCore
import CEEMSLinux
import Foundation
import CEEMSTestSupport
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `ceems_exporter` binary of this debug build (scripts/test builds it before running the tests).
enum ExporterBinary {
    static let path: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/.build/debug/ceems_exporter"
    }()

    static var exists: Bool { access(path, X_OK) == 0 }
}

/// Runs the real binary: flags, exit statuses, logs, signals.
@Suite(.serialized, .enabled(if: ExporterBinary.exists)) struct ExecutableTests {
    static let binary = ExporterBinary.path

    @Test func printsItsVersion() async throws {
        let output = try await CommandRunner().run(Self.binary, arguments: ["--version"], timeout: .seconds(20))
        #expect(output.text.hasPrefix("ceems_exporter, version \(BuildInfo.version)"))
    }

    @Test func rejectsUnknownFlagsWithUsageStatus() async throws {
        let output = try await CommandRunner().runAllowingFailure(
            Self.binary, arguments: ["--collector.nonsense"], timeout: .seconds(20))
        #expect(output.exitCode == 1)  // as kingpin: 1, not ArgumentParser's 64
        #expect(String(decoding: output.standardError, as: UTF8.self).contains("--collector.nonsense"))
    }

    @Test func aBrokenWebConfigIsAClearStartupError() async throws {
        let tree = try FixtureTree()
        try tree.file("web.yml", "basic_auth_users:\n  prometheus: plaintext\n")
        let output = try await CommandRunner().runAllowingFailure(
            Self.binary, arguments: ["--web.config.file", tree.path("web.yml"), "--web.listen-address=127.0.0.1:0"],
            timeout: .seconds(20))
        #expect(output.exitCode == 1)
        #expect(
            String(decoding: output.standardError, as: UTF8.self).contains("invalid bcrypt hash for user prometheus"))
    }

    @Test func servesThenStopsGracefullyOnSIGTERM() async throws {
        let tree = try NodeFixture.make()
        let log = tree.path("exporter.log")
        // Started by a shell so the test can read its PID and log; `exec` keeps the PID the exporter's.
        let script = try tree.script(
            "run.sh",
            """
            exec \(Self.binary) --web.listen-address=127.0.0.1:0 --path.procfs=\(tree.path("proc")) \
              --path.sysfs=\(tree.path("sys")) --log.format=json > \(log) 2>&1
            """)
        var pid: pid_t = 0
        var arguments: [UnsafeMutablePointer<CChar>?] = [strdup(script), nil]
        defer { free(arguments[0]) }
        #expect(posix_spawn(&pid, script, nil, nil, &arguments, environ) == 0)

        var port: Int?
        for _ in 0..<200 where port == nil {
            try await Task.sleep(for: .milliseconds(50))
            let text = Golden.read(log) ?? ""
            if let range = text.firstRange(of: "\"port\":\"") {
                port = Int(text[range.upperBound...].prefix { $0.isNumber })
            }
        }
        let listening = try #require(port)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let health = try await client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(listening)/health"), timeout: .seconds(5))
        #expect(health.status == .ok)
        let metrics = try await client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(listening)/metrics"), timeout: .seconds(5))
        let text = String(decoding: try await metrics.bytes(), as: UTF8.self)
        #expect(text.contains("ceems_cpu_seconds_total{hostname="))
        try await client.shutdown()
        #expect(kill(pid, SIGTERM) == 0)
        var status: Int32 = 0
        var waited: pid_t = 0
        for _ in 0..<100 {
            waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(waited == pid, "the exporter did not stop within 5 s of SIGTERM")
        #expect((status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0, "exit status \(status)")
        let logText = Golden.read(log) ?? ""
        #expect(logText.contains("\"msg\":\"Stopped ceems_exporter\""))
        #expect(logText.contains("\"level\":\"INFO\""))
    }

    /// Started as root with `--security.run-as-user=nobody`, the slurm collector and perf software events: every
    /// thread runs as nobody with exactly cap_dac_read_search, cap_sys_ptrace and cap_perfmon (exporter.md §10).
    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func dropsToTheRunAsUserWithOnlyTheNeededCapabilities() async throws {
        let port = 20_000 + Int(getpid() % 20_000)
        var pid: pid_t = 0
        let arguments = [
            Self.binary, "--security.run-as-user=nobody", "--collector.slurm", "--collector.perf.software-events",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        #expect(posix_spawn(&pid, Self.binary, nil, nil, &argv, environ) == 0)
        defer {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var served = false
        for _ in 0..<100 where !served {
            try await Task.sleep(for: .milliseconds(100))
            if let response = try? await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
            {
                let text = String(decoding: try await response.bytes(), as: UTF8.self)
                served = text.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#)
            }
        }
        try await client.shutdown()
        #expect(served, "the exporter never served the slurm collector")
        // The same pid (re-executed in place): the process and each of its threads.
        let expected = Capability.mask([.dacReadSearch, .sysPtrace, .perfmon])
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        #expect(tasks.count > 1)
        for task in tasks {
            let status = try SystemFile.readString("/proc/\(pid)/task/\(task)/status")
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
            #expect(Privileges.capabilities("CapPrm", status: status) == expected)
            #expect(Privileges.capabilities("CapEff", status: status) == expected)
            #expect(Privileges.capabilities("CapInh", status: status) == expected)
        }
    }
}
