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
        try await ServiceRunner.runProgram("ceems_k8s_admission_controller", logger: logger) {
            try buildAdmissionApplication(
                addresses: try options.listen(), webConfigFile: options.webConfigFile, logger: logger)
        }
    }
}
