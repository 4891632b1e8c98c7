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
        logger.info("Starting redfish_proxy", metadata: ["version": "\(BuildInfo.version)"])
        do {
            let config = try RedfishProxyConfig.load(
                file: options.resolvedConfigFile, expandEnvironment: options.expandEnvironment)
            let application = try buildRedfishProxyApplication(
                config: config, addresses: try options.addresses(), webConfigFile: options.resolvedWebConfigFile,
                logger: logger)
            try await ServiceRunner.run(application, logger: logger)
        } catch {
            logger.error("redfish_proxy failed", metadata: ["err": "\(error)"])
            throw ExitCode.failure
        }
    }
}
