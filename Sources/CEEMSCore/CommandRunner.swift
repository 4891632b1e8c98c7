import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// The outcome of an external command that ran to completion.
public struct CommandOutput: Sendable {
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]
    public var exitCode: Int32

    public init(standardOutput: [UInt8], standardError: [UInt8], exitCode: Int32) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.exitCode = exitCode
    }

    public var text: String { String(decoding: standardOutput, as: UTF8.self) }
}

/// Errors of running an external command (IPMI tools, GPU tools, `sacct`…).
public enum CommandError: Error, CustomStringConvertible {
    case notFound(String)
    case timedOut(command: String, after: Duration)
    case failed(command: String, exitCode: Int32, standardError: String)
    case killed(command: String, signal: Int32)
    case launch(command: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let command): "command \(command) not found"
        case .timedOut(let command, let after): "command \(command) timed out after \(after)"
        case .failed(let command, let code, let stderr):
            "command \(command) exited with status \(code)" + (stderr.isEmpty ? "" : ": \(stderr)")
        case .killed(let command, let signal): "command \(command) killed by signal \(signal)"
        case .launch(let command, let reason): "cannot run \(command): \(reason)"
        }
    }
}

/// Runs external commands asynchronously, always with a timeout, in their own process group so that a hung
/// tool and everything it started can be killed together.
public struct CommandRunner: Sendable {
    /// The identity a command runs as (`nil` keeps the exporter's own).
    public struct Credentials: Sendable, Equatable {
        public var userID: UInt32
        public var groupID: UInt32

        public init(userID: UInt32, groupID: UInt32) {
            self.userID = userID
            self.groupID = groupID
        }
    }

    public var outputLimit: Int

    public init(outputLimit: Int = 32 << 20) {
        self.outputLimit = outputLimit
    }

    /// Runs `executable` (a path, or a name looked up on `PATH`) and returns its output when it exits with 0.
    public func run(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        credentials: Credentials? = nil,
        timeout: Duration
    ) async throws(CommandError) -> CommandOutput {
        let output = try await runAllowingFailure(
            executable, arguments: arguments, environment: environment, credentials: credentials, timeout: timeout)
        guard output.exitCode == 0 else {
            let stderr = String(decoding: output.standardError.prefix(512), as: UTF8.self).trimmingSpaces()
            throw .failed(command: executable, exitCode: output.exitCode, standardError: stderr)
        }
        return output
    }

    /// The path of `executable`: itself when it has a `/` (and is executable), else found on `PATH`.
    public static func resolve(_ executable: String) throws(CommandError) -> String {
        if executable.contains("/") {
            guard SystemFile.isExecutable(executable) else { throw .notFound(executable) }
            return executable
        }
        guard let found = lookPath(executable) else { throw .notFound(executable) }
        return found
    }

    /// Runs `executable` and returns its output whatever its exit status.
    public func runAllowingFailure(
        _ executable: String,
        arguments: [String] = [],
        environment: [String: String]? = nil,
        credentials: Credentials? = nil,
        timeout: Duration
    ) async throws(CommandError) -> CommandOutput {
        let resolved = try Self.resolve(executable)
        var options = PlatformOptions()
        // A new process group: a timeout kills the tool and its children, never the exporter.
        options.processGroupID = 0
        options.teardownSequence = [
            .send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(200)),
            .send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(200)),
        ]
        if let credentials {
            options.userID = credentials.userID
            options.groupID = credentials.groupID
            options.supplementaryGroups = []
        }
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment ?? [:] { updates[Environment.Key(stringLiteral: key)] = value }
        let env: Environment = updates.isEmpty ? .inherit : .inherit.updating(updates)
        let platformOptions = options
        let limit = self.outputLimit
        let outcome: Result<CommandOutput, CommandError> = await withTaskGroup(
            of: Result<CommandOutput, CommandError>?.self
        ) { group in
            group.addTask {
                do {
                    let result = try await Subprocess.run(
                        .path(FilePath(resolved)),
                        arguments: Arguments(arguments),
                        environment: env,
                        platformOptions: platformOptions,
                        output: .bytes(limit: limit),
                        error: .bytes(limit: 1 << 20)
                    )
                    switch result.terminationStatus {
                    case .exited(let code):
                        return .success(
                            CommandOutput(
                                standardOutput: result.standardOutput, standardError: result.standardError,
                                exitCode: code))
                    case .signaled(let signal):
                        return .failure(.killed(command: executable, signal: signal))
                    }
                } catch is CancellationError {
                    return nil
                } catch {
                    if Task.isCancelled { return nil }
                    return .failure(.launch(command: executable, reason: "\(error)"))
                }
            }
            group.addTask {
                do {
                    try await ShortSleep.for(timeout)
                    return .failure(.timedOut(command: executable, after: timeout))
                } catch {
                    return nil
                }
            }
            var first: Result<CommandOutput, CommandError>?
            while let next = await group.next() {
                if let next {
                    first = next
                    break
                }
            }
            group.cancelAll()
            return first ?? .failure(.timedOut(command: executable, after: timeout))
        }
        return try outcome.get()
    }

    /// Finds an executable by name on `PATH`, then in the extra directories (like Go's `exec.LookPath`).
    public static func lookPath(_ name: String, extraDirectories: [String] = []) -> String? {
        if name.contains("/") { return SystemFile.isExecutable(name) ? name : nil }
        let path = EnvironmentExpansion.processValue("PATH") ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            + extraDirectories
        {
            let candidate = (directory.isEmpty ? "." : directory) + "/" + name
            if SystemFile.isExecutable(candidate) { return candidate }
        }
        return nil
    }
}
