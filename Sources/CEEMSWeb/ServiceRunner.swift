import ArgumentParser
import CEEMSCore
import Logging
import ServiceLifecycle
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
            logger.error("\(program) failed", metadata: ["err": "\(error)"])
            throw ExitCode.failure
        }
    }
}
