import ArgumentParser
import CEEMSCore
import CEEMSLinux
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Runs a binary's main service until SIGTERM or SIGINT, then shuts it down gracefully (5 s at most before
/// cancellation), as every server of the project does.
public enum ServiceRunner {
    public static func run(_ service: some Service, logger: Logger) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// A server binary's `run()`: logs the start, builds the service and runs it; a failure to build or run is
    /// logged and exits with status 1.
    public static func runProgram(
        _ program: String, logger: Logger, build: () async throws -> some Service
    ) async throws {
        logger.info("Starting \(program)", metadata: ["version": "\(BuildInfo.version)"])
        do {
            try await run(try await build(), logger: logger)
        } catch {
            session.withLock { $0 }.restore(logger: logger)
            logger.error("\(program) failed", metadata: ["err": "\(error)"])
            throw ExitCode.failure
        }
        session.withLock { $0 }.restore(logger: logger)
    }

    /// The ACL grants of this process's privilege drop, undone when the program ends.
    static let session = Mutex(PrivilegeSession())

    /// Called by a binary's `build` once its configuration is known: gives up root as `drop` says (re-executing
    /// the program in place), or, in the re-executed image, records the grants to undo at exit.
    public static func dropPrivileges(_ drop: PrivilegeDrop, logger: Logger) throws {
        let applied = try Privileges.apply(drop, logger: logger)
        session.withLock { $0 = applied }
    }
}
