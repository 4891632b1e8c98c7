import ArgumentParser
import CEEMSCore
import CEEMSExporter
import CEEMSWeb
import CEEMSLinux
import Logging

@main
struct CEEMSExporterCommand: AsyncParsableCommand {
    /// A command-line error exits with status 1, as the reference does.
    static func main() async { await mainExitingOneOnUsageErrors() }

    static let configuration = CommandConfiguration(
        commandName: "ceems_exporter",
        abstract:
            "Prometheus Exporter and Pyroscope client to export compute (job, VM, pod) resource usage and ebpf based profiling metrics.",
        version: BuildInfo.versionText(program: "ceems_exporter")
    )

    @OptionGroup var options: ExporterOptions

    func run() async throws {
        let logger = options.log.makeLogger(label: "ceems_exporter")
        for warning in options.deprecationWarnings { logger.warning("\(warning)") }
        try await ServiceRunner.runProgram("ceems_exporter", logger: logger) {
            let configuration = try options.configuration()
            try ServiceRunner.dropPrivileges(configuration.privilegeDrop(options), logger: logger)
            return try await buildExporterApplication(configuration: configuration, logger: logger)
        }
    }
}
