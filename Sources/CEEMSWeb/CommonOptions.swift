import ArgumentParser
import CEEMSCore
import Foundation
import Logging

/// `--log.level` and `--log.format`, shared by every binary.
public struct LogOptions: ParsableArguments, Sendable {
    @Option(
        name: .customLong("log.level"),
        help: "Only log messages with the given severity or above. One of: [debug, info, warn, error]")
    public var level: String = "info"

    @Option(
        name: .customLong("log.format"), help: "Output format of log messages. One of: [logfmt, json]")
    public var format: String = "logfmt"

    public init() {}

    public mutating func validate() throws {
        guard Logger.Level(flagValue: level) != nil else {
            throw ValidationError("invalid --log.level \"\(level)\": expected one of debug, info, warn, error")
        }
        guard LogFormat(rawValue: format) != nil else {
            throw ValidationError("invalid --log.format \"\(format)\": expected one of logfmt, json")
        }
    }

    /// The root logger of the binary.
    public func makeLogger(label: String) -> Logger {
        Logger.makeRoot(
            label: label, level: Logger.Level(flagValue: level) ?? .info, format: LogFormat(rawValue: format) ?? .logfmt
        )
    }
}

extension AsyncParsableCommand {
    /// `main()`, except that a command-line error exits with status 1 (as the reference's kingpin does) instead
    /// of ArgumentParser's 64; help and version still exit 0.
    public static func mainExitingOneOnUsageErrors() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(1)
            }
            exit(withError: error)
        }
    }
}
