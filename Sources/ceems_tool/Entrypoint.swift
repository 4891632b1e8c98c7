import ArgumentParser
import CEEMSCLI

@main
enum CEEMSToolEntrypoint {
    static func main() async {
        await CEEMSToolCommand.main()
    }
}
