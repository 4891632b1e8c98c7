import ArgumentParser
import CEEMSAdmission
import CEEMSCore
import CEEMSWeb
import Logging

@main
struct AdmissionControllerCommand: AsyncParsableCommand {
    /// A command-line error exits with status 1, as the reference does.
    static func main() async { await mainExitingOneOnUsageErrors() }

    static let configuration = CommandConfiguration(
        commandName: "ceems_k8s_admission_controller",
        abstract: "CEEMS Kubernetes Admission Controller.",
        version: BuildInfo.versionText(program: "ceems_k8s_admission_controller")
    )

    @OptionGroup var options: AdmissionOptions

    func run() async throws {
        let logger = options.log.makeLogger(label: "ceems_k8s_admission_controller")
        logger.info("Starting ceems_k8s_admission_controller", metadata: ["version": "\(BuildInfo.version)"])
        do {
            let server = try buildAdmissionApplication(
                addresses: try options.listen(), webConfigFile: options.webConfigFile, logger: logger)
            try await ServiceRunner.run(server, logger: logger)
        } catch {
            logger.error("ceems_k8s_admission_controller failed", metadata: ["err": "\(error)"])
            throw ExitCode.failure
        }
    }
}
