import CEEMSCore
import Foundation
import Testing

@testable import CEEMSLinux

#if canImport(Glibc)
import Glibc
#endif

/// The fork-as-root path of commands started by a dropped server (as root here: the same code after the fork).
@Suite struct RootCommandTests {
    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func collectsOutputsStatusAndEnvironment() async throws {
        let output = try await RootCommand.startAsRoot(
            "/bin/sh", arguments: ["-c", "id -u; echo \"$CEEMS_TEST_VALUE\"; echo oops >&2; exit 3"],
            environment: ["CEEMS_TEST_VALUE": "forty two"], timeout: .seconds(10), outputLimit: 1 << 16)
        #expect(output.text == "0\nforty two\n")
        #expect(String(decoding: output.standardError, as: UTF8.self) == "oops\n")
        #expect(output.exitCode == 3)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root"))
    func killsAHungCommandAndItsChildrenAtTheTimeout() async throws {
        let marker = "/tmp/ceems-root-command-\(getpid())"
        let clock = ContinuousClock()
        let started = clock.now
        await #expect(throws: CommandError.self) {
            _ = try await RootCommand.startAsRoot(
                "/bin/sh", arguments: ["-c", "(sleep 30; touch \(marker)) & sleep 30"], environment: nil,
                timeout: .milliseconds(300), outputLimit: 1 << 16)
        }
        #expect(clock.now - started < .seconds(5))
        // The grandchild went with its process group.
        try await Task.sleep(for: .milliseconds(200))
        let survivors = try await CommandRunner().runAllowingFailure(
            "pgrep", arguments: ["-f", "sleep 30; touch \(marker)"], timeout: .seconds(5))
        #expect(survivors.text.isEmpty)
    }

    @Test func missingCommandsAreNotFound() async {
        await #expect(throws: CommandError.self) {
            _ = try await RootCommand.startAsRoot(
                "/nonexistent/tool", arguments: [], environment: nil, timeout: .seconds(1), outputLimit: 1024)
        }
    }
}
