import CEEMSCore
import CLinuxSupport

#if canImport(Glibc)
import Glibc
#endif

/// External commands that must run as root (IPMI tools, `rdma statistic … set`, `sacct` in cap mode) started by a
/// server that dropped to its run-as user keeping cap_setuid and cap_setgid: the fork happens while this thread
/// raises those two capabilities, the child becomes root before `execve`, and the output is read on a thread of
/// its own with the usual timeout (SIGTERM then SIGKILL to the command's process group).
public enum RootCommand {
    /// Runs `executable` as root and returns its output whatever its exit status: directly when this process is
    /// root, else through the dropped capabilities.
    public static func runAllowingFailure(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, timeout: Duration,
        outputLimit: Int = 32 << 20
    ) async throws(CommandError) -> CommandOutput {
        guard geteuid() != 0, Privileges.holds(.setuid), Privileges.holds(.setgid) else {
            return try await CommandRunner(outputLimit: outputLimit).runAllowingFailure(
                executable, arguments: arguments, environment: environment, timeout: timeout)
        }
        return try await startAsRoot(
            executable, arguments: arguments, environment: environment, timeout: timeout, outputLimit: outputLimit)
    }

    /// The fork-as-root path (also usable, and tested, by a root process).
    static func startAsRoot(
        _ executable: String, arguments: [String], environment: [String: String]?, timeout: Duration, outputLimit: Int
    ) async throws(CommandError) -> CommandOutput {
        let resolved = try CommandRunner.resolve(executable)
        var pid: Int32 = 0
        var output: Int32 = -1
        var errors: Int32 = -1
        let started = withCStrings([resolved] + arguments) { argv in
            withCStrings(mergedEnvironment(environment)) { envp in
                Privileges.perform([.setuid, .setgid]) {
                    ceems_spawn_as_root(resolved, argv, envp, &pid, &output, &errors)
                }
            }
        }
        guard started == 0 else {
            throw .launch(command: executable, reason: String(cString: strerror(-started)))
        }
        let (child, stdoutFD, stderrFD) = (pid, output, errors)
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let collected = await BackgroundThread.run { () -> (Int32, [UInt8], [UInt8], Int32) in
            // Uninitialised capacity: untouched pages of a large limit cost nothing.
            var result: Int32 = 0
            var status: Int32 = 0
            var standardError: [UInt8] = []
            let standardOutput = [UInt8](unsafeUninitializedCapacity: outputLimit) { output, outputCount in
                standardError = [UInt8](unsafeUninitializedCapacity: 1 << 20) { errors, errorCount in
                    var outputLength: UInt = 0
                    var errorLength: UInt = 0
                    result = ceems_collect_output(
                        child, stdoutFD, stderrFD, milliseconds, output.baseAddress, UInt(output.count), &outputLength,
                        errors.baseAddress, UInt(errors.count), &errorLength, &status)
                    outputCount = Int(outputLength)
                    errorCount = Int(errorLength)
                }
            }
            return (result, standardOutput, standardError, status)
        }
        let (result, standardOutput, standardError, status) = collected
        if result == -ETIMEDOUT { throw .timedOut(command: executable, after: timeout) }
        if result != 0 { throw .launch(command: executable, reason: String(cString: strerror(-result))) }
        // WIFSIGNALED / WEXITSTATUS of the wait status.
        if status & 0x7f != 0 { throw .killed(command: executable, signal: status & 0x7f) }
        return CommandOutput(standardOutput: standardOutput, standardError: standardError, exitCode: (status >> 8) & 0xff)
    }

    /// Runs `executable` as root and returns its output when it exits with 0.
    public static func run(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, timeout: Duration
    ) async throws(CommandError) -> CommandOutput {
        let output = try await runAllowingFailure(executable, arguments: arguments, environment: environment, timeout: timeout)
        guard output.exitCode == 0 else {
            let stderr = String(decoding: output.standardError.prefix(512), as: UTF8.self).trimmingSpaces()
            throw .failed(command: executable, exitCode: output.exitCode, standardError: stderr)
        }
        return output
    }

    /// This process's environment with `updates` applied, as `NAME=value` strings.
    static func mergedEnvironment(_ updates: [String: String]?) -> [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if updates?[String(text.prefix { $0 != "=" })] == nil { entries.append(text) }
            index += 1
        }
        for (name, value) in updates ?? [:] { entries.append(name + "=" + value) }
        return entries
    }

    static func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
