import ArgumentParser
import CEEMSCLI
import CEEMSCore
import CEEMSWeb
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

@main
struct CacctCommand: AsyncParsableCommand {
    /// A command-line error exits with status 1, as the reference does.
    static func main() async { await mainExitingOneOnUsageErrors() }

    static let configuration = CommandConfiguration(
        commandName: "cacct",
        abstract: "Energy/Emissions/Performance/Usage data for all jobs fetched from CEEMS database.",
        version: BuildInfo.versionText(program: "cacct")
    )

    @OptionGroup var options: CacctOptions

    func run() async throws {
        // Identity is the login name of the real uid; setgid does not change it (cacct.md §3).
        var user = getpwuid(getuid()).flatMap { String(cString: $0.pointee.pw_name) } ?? ""
        var extraDirectory: String?
        #if DEBUG
            // Test builds only: the installed (release) binary never lets a user impersonate or swap the config.
            if let impersonated = options.currentUser { user = impersonated }
            extraDirectory = options.configPath
        #else
            if options.currentUser != nil || options.configPath != nil {
                throw ValidationError("--current-user and --config-path exist only in test builds")
            }
        #endif
        guard !user.isEmpty else {
            FileHandle.standardError.write(Data("cacct: error: cannot find the login name of the current user\n".utf8))
            throw ExitCode.failure
        }
        let environment = ProcessInfo.processInfo.environment
        var config = CacctConfig()
        if !options.helpFormat {
            do {
                (config, _) = try CacctConfig.discover(
                    directories: CacctConfig.searchDirectories(
                        extra: extraDirectory, home: getpwuid(getuid()).map { String(cString: $0.pointee.pw_dir) },
                        xdgConfigHome: environment["XDG_CONFIG_HOME"]))
            } catch {
                FileHandle.standardError.write(Data("cacct: error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
        var cacct = Cacct(options: options, config: config, currentUser: user)
        var size = winsize()
        if isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 {
            cacct.terminalWidth = Int(size.ws_col)
        }
        let result = await cacct.run()
        FileHandle.standardOutput.write(Data(result.standardOutput.utf8))
        FileHandle.standardError.write(Data(result.standardError.utf8))
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}
