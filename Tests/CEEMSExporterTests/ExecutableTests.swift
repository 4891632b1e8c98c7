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
    @Test(.enabled(if: RealCgroupTests.v1Writable, "needs root and writable cgroup v1 cpuacct/memory"))
    func dropsToTheRunAsUserWithOnlyTheNeededCapabilities() async throws {
        let port = 20_000 + Int(getpid() % 20_000)
        // The web config sits in a root-only directory: the run-as user reaches it through ACLs while running.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let webConfig = directory + "/web.yml"
        try "basic_auth_users: {}\n".write(toFile: webConfig, atomically: false, encoding: .utf8)
        chmod(webConfig, 0o600)
        chmod(directory, 0o700)
        // A root-owned SLURM job whose process carries a marker variable: only a raised cap_sys_ptrace lets the
        // exporter, running as nobody, read that environment for the Alloy targets.
        let id = String(870_000 + Int(getpid() % 10_000))
        var created: [String] = []
        for controller in ["cpuacct", "memory"] {
            var current = RealCgroupTests.v1Root + "/" + controller
            for part in ["slurm", "uid_0", "job_\(id)"] {
                current += "/" + part
                if mkdir(current, 0o755) == 0 { created.append(current) }
            }
        }
        defer { RealCgroupTests.removeCgroups(created) }
        setenv("CEEMS_DROP_TEST_MARK", "1", 1)
        let job = try RealCgroupTests.BusyProcess(
            joining: ["cpuacct", "memory"].map { "\(RealCgroupTests.v1Root)/\($0)/slurm/uid_0/job_\(id)" },
            script: "exec sleep 60")
        unsetenv("CEEMS_DROP_TEST_MARK")
        defer {
            kill(job.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(job.pid, &status, 0)
        }
        let exporter = try SpawnedProgram([
            Self.binary, "--security.run-as-user=nobody", "--collector.slurm", "--collector.perf.software-events",
            "--discoverer.alloy-targets", "--discoverer.alloy-targets.env-var=CEEMS_DROP_TEST_MARK",
            "--web.config.file=\(webConfig)", "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ])
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var served = false
        var targets = ""
        for _ in 0..<100 where !served {
            try await Task.sleep(for: .milliseconds(100))
            if let response = try? await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
            {
                let text = String(decoding: try await response.bytes(), as: UTF8.self)
                served = text.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#)
            }
        }
        if let response = try? await client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/alloy-targets"), timeout: .seconds(5))
        {
            targets = String(decoding: try await response.bytes(), as: UTF8.self)
        }
        try await client.shutdown()
        #expect(served, "the exporter never served the slurm collector")
        #expect(targets.contains(#""__process_pid__":"\#(job.pid)""#), "\(targets)")
        // The same pid (re-executed in place): the process and each of its threads hold the needed capabilities
        // as permitted only — none effective, inheritable or ambient (raised only on the privileged thread while
        // it runs a privileged action) — plus cap_fowner to remove the web config's ACL at exit.
        let expected = Capability.mask([.dacReadSearch, .sysPtrace, .perfmon, .fowner])
        let statuses = try exporter.threadStatuses()
        #expect(statuses.count > 1)
        for status in statuses {
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"), "\(status)")
            #expect(Privileges.capabilities("CapPrm", status: status) == expected)
            #expect(Privileges.capabilities("CapEff", status: status) == 0)
            #expect(Privileges.capabilities("CapInh", status: status) == 0)
            #expect(Privileges.capabilities("CapAmb", status: status) == 0)
        }
        // The ACL entries for nobody (uid 65534) on the directory and the file while running, gone after SIGTERM.
        let granted = try PosixACL.read(webConfig).acl
        #expect(granted.permissions(ofUser: 65534) == 4)
        #expect(try PosixACL.read(directory).acl.permissions(ofUser: 65534) == 1)
        #expect(exporter.stop() == 0)
        #expect(try PosixACL.read(webConfig).original.attribute == nil)
        #expect(try PosixACL.read(directory).original.attribute == nil)
        var info = stat()
        stat(webConfig, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        stat(directory, &info)
        #expect(info.st_mode & 0o777 == 0o700)
    }
}
