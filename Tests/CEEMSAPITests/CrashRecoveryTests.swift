import CEEMSCore
import Foundation
import Testing

/// kill -9 in the middle of updates, restart: the database is sound and every unit is stored once with its exact
/// walltime (scripts/api-crash-test; the full run takes 20 kills).
@Suite struct CrashRecoveryTests {
    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()
    static let binary = repository + "/.build/debug/ceems_api_server"

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: binary) && CommandRunner.lookPath("python3") != nil))
    func killedServerLosesNothing() async throws {
        let output = try await CommandRunner().runAllowingFailure(
            Self.repository + "/scripts/api-crash-test",
            arguments: ["--binary", Self.binary, "--kills", "5", "--jobs", "500", "--hours", "12", "--seed", "7"],
            timeout: .seconds(300))
        let text = output.text + String(decoding: output.standardError, as: UTF8.self)
        #expect(output.exitCode == 0, "\(text)")
        #expect(
            text.contains(
                "integrity_check: ok; units stored: 500 of 500; duplicates: 0; lost: 0; walltime mismatches: 0"))
    }
}
