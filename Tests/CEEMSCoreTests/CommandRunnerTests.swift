import CEEMSCore
import CEEMSTestSupport
import Testing

@Suite struct CommandRunnerTests {
    let runner = CommandRunner()

    @Test func capturesOutput() async throws {
        let output = try await runner.run(
            "/bin/sh", arguments: ["-c", "printf 'Current Power : 42 Watts'"], timeout: .seconds(5))
        #expect(output.text == "Current Power : 42 Watts")
        #expect(output.exitCode == 0)
    }

    @Test func findsExecutablesOnPath() async throws {
        let output = try await runner.run("echo", arguments: ["hello"], timeout: .seconds(5))
        #expect(output.text == "hello\n")
    }

    @Test func reportsFailureWithStandardError() async {
        do {
            _ = try await runner.run("/bin/sh", arguments: ["-c", "echo boom >&2; exit 3"], timeout: .seconds(5))
            Issue.record("expected a failure")
        } catch {
            guard case .failed(_, let code, let stderr) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(code == 3)
            #expect(stderr == "boom")
        }
    }

    @Test func killsAHungCommandAndItsChildrenAtTheTimeout() async throws {
        let marker = try FixtureTree().path("child-survived")
        let start = ContinuousClock.now
        do {
            // The child sleeps then writes a marker: if the process group were not killed, the marker appears.
            _ = try await runner.run(
                "/bin/sh", arguments: ["-c", "(sleep 5; touch \(marker)) & sleep 30"], timeout: .milliseconds(300))
            Issue.record("expected a timeout")
        } catch {
            guard case .timedOut = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        // Past the child's 5 s (a loaded machine may take seconds to start and stop the command: the child's delay
        // is what bounds the check, not the timeout).
        try await Task.sleep(until: start + .seconds(5.5))
        #expect(!SystemFile.exists(marker))
    }

    @Test func missingCommandIsNotFound() async {
        await #expect(throws: CommandError.self) {
            try await runner.run("/nonexistent/ipmitool", timeout: .seconds(1))
        }
        await #expect(throws: CommandError.self) {
            try await runner.run("no-such-tool-anywhere", timeout: .seconds(1))
        }
    }
}
