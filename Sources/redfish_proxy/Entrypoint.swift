import ArgumentParser
import CEEMSCore
import CEEMSRedfishProxy
import CEEMSWeb
import Logging

@main
struct RedfishProxyCommand: AsyncParsableCommand {
    /// A command-line error exits with status 1, as the reference does.
    static func main() async { await mainExitingOneOnUsageErrors() }

    static let configuration = CommandConfiguration(
        commandName: "redfish_proxy",
        abstract: "Redfish Proxy: forwards the CEEMS exporter's Redfish requests to BMCs.",
        version: BuildInfo.versionText(program: "redfish_proxy")
    )

    @OptionGroup var options: RedfishProxyOptions

    func run() async throws {
        let logger = options.log.makeLogger(label: "redfish_proxy")
        try await ServiceRunner.runProgram("redfish_proxy", logger: logger) {
            let config = try RedfishProxyConfig.load(
                file: options.resolvedConfigFile, expandEnvironment: options.expandEnvironment)
            return try buildRedfishProxyApplication(
                config: config, addresses: try options.addresses(), webConfigFile: options.resolvedWebConfigFile,
                logger: logger)
        }
    }
}
