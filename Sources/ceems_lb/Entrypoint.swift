import ArgumentParser
import CEEMSCore
import CEEMSLB
import CEEMSWeb
import Logging
import NIOCore
import NIOPosix

@main
enum Entrypoint {
    static func main() async {
        // Run Swift concurrency on NIO's event loops: a proxied request then stays on the threads that read and
        // write its sockets instead of hopping to the cooperative pool and back (a third of the LB's latency).
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await CEEMSLBCommand.mainExitingOneOnUsageErrors()
    }
}

struct CEEMSLBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceems_lb",
        abstract: "CEEMS load balancer for TSDB and Pyroscope servers with access control support.",
        version: BuildInfo.versionText(program: "ceems_lb")
    )

    @OptionGroup var options: LBOptions

    func run() async throws {
        let logger = options.log.makeLogger(label: "ceems_lb")
        try await ServiceRunner.runProgram("ceems_lb", logger: logger) {
            let configuration = try options.configuration()
            try ServiceRunner.dropPrivileges(configuration.privilegeDrop(options.privilegeFlags), logger: logger)
            return try await buildLBApplication(configuration: configuration, logger: logger)
        }
    }
}
