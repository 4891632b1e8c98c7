import CEEMSCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A program of this build started as a child process (servers started as root to check their privilege drop):
/// its threads' `/proc` status, and a stop by SIGTERM that waits for its exit.
public final class SpawnedProgram: @unchecked Sendable {
    public let pid: pid_t
    private var running = true

    public init(_ arguments: [String]) throws {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, &argv, environ) == 0 else {
            throw FixtureTree.Failure("cannot start \(arguments[0])")
        }
        self.pid = pid
    }

    deinit {
        if running {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Waits (10 s at most) until `ready` holds, checking every 100 ms.
    public func wait(until ready: () async -> Bool) async throws -> Bool {
        for _ in 0..<100 {
            if await ready() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// `/proc/<pid>/task/<tid>/status` of each thread (threads that end meanwhile are left out).
    public func threadStatuses() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap {
            try? SystemFile.readString("/proc/\(pid)/task/\($0)/status")
        }
    }

    /// Sends SIGTERM and waits for the exit; the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard running else { return 0 }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        running = false
        return status
    }
}
