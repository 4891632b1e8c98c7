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
}
