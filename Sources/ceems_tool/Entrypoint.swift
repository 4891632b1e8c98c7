import ArgumentParser
import CEEMSCLI
import CEEMSWeb

@main
enum CEEMSToolEntrypoint {
    static func main() async {
        await CEEMSToolCommand.mainExitingOneOnUsageErrors()
    }
}
