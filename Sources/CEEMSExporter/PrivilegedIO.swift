import CEEMSCore
import CEEMSLinux
import NIOPosix

/// Blocking privileged calls (opening `/dev/ipmi0`…) on a thread of NIO's blocking pool, which raises the
/// capabilities for the call only.
enum PrivilegedIO {
    static func run<Result: Sendable>(
        _ capabilities: Set<Capability>, _ body: @escaping @Sendable () throws -> Result
    ) async throws -> Result {
        try await NIOThreadPool.singleton.runIfActive { try Privileges.perform(capabilities) { try body() } }
    }
}
