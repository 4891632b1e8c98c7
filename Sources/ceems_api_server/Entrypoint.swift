import ArgumentParser
import CEEMSAPI
import CEEMSCore
import CEEMSWeb
import Logging

@main
struct CEEMSAPIServerCommand: AsyncParsableCommand {
    /// A command-line error exits with status 1, as the reference does.
    static func main() async { await mainExitingOneOnUsageErrors() }

    static let configuration = CommandConfiguration(
        commandName: "ceems_api_server",
        abstract: "API server for reporting usage statistics for batchjobs/VMs/Pods.",
        version: BuildInfo.versionText(program: "ceems_api_server")
    )

    @OptionGroup var options: APIServerOptions

    func run() async throws {
        let logger = options.log.makeLogger(label: "ceems_api_server")
        try await ServiceRunner.runProgram("ceems_api_server", logger: logger) {
            let configuration = try options.configuration()
            try ServiceRunner.dropPrivileges(configuration.privilegeDrop(options.privilegeFlags), logger: logger)
            return try await buildAPIApplication(configuration: configuration, logger: logger)
        }
    }
}
