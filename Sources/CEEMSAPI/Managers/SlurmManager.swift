import CEEMSCore
import CEEMSLinux
import Foundation
import Logging

/// SLURM through `sacct` and `sacctmgr` (§8.1), run with a timeout.
public struct SlurmManager: ResourceManager {
    public enum Mode: String, Sendable {
        /// Running as root (or with CAP_SETUID/CAP_SETGID): the tools run as uid 0.
        case cap
        /// `sudo -E` (the tool answered `--help` through sudo).
        case sudo
        case native
    }

    public let clusterID: String
    public var kind: String { "slurm" }
    let sacct: String
    let sacctmgr: String
    let environment: [String: String]
    let mode: Mode
    let timeout: Duration
    let runner = CommandRunner()
    let logger: Logger
    let now: @Sendable () -> Int64

    public init(
        cluster: APIServerConfig.Cluster, logger: Logger, timeout: Duration = .seconds(300),
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) async {
        clusterID = cluster.id
        let directory = cluster.cli.path
        func locate(_ name: String) -> String {
            if !directory.isEmpty {
                let absolute = (directory as NSString).isAbsolutePath
                    ? directory : FileManager.default.currentDirectoryPath + "/" + directory
                return (absolute as NSString).appendingPathComponent(name)
            }
            return CommandRunner.lookPath(name) ?? name
        }
        sacct = locate("sacct")
        sacctmgr = locate("sacctmgr")
        environment = cluster.cli.environmentVariables
        self.timeout = timeout
        self.logger = logger
        self.now = now
        if Privileges.canStartCommandsAsRoot {
            mode = .cap
        } else if let sudo = CommandRunner.lookPath("sudo"),
            (try? await CommandRunner().run(sudo, arguments: ["-n", sacct, "--help"], timeout: .seconds(5))) != nil
        {
            mode = .sudo
        } else {
            mode = .native
        }
        logger.info("SLURM resource manager", metadata: ["cluster": "\(clusterID)", "mode": "\(mode.rawValue)", "sacct": "\(sacct)"])
    }

    func run(_ tool: String, _ arguments: [String], environment extra: [String: String]) async throws -> String {
        var env = environment
        for (key, value) in extra { env[key] = value }
        let output: CommandOutput
        do {
            switch mode {
            case .sudo:
                output = try await runner.runAllowingFailure(
                    CommandRunner.lookPath("sudo") ?? "sudo", arguments: ["-E", tool] + arguments, environment: env,
                    timeout: timeout)
            case .cap:
                // Root, or dropped to the run-as user keeping cap_setuid/cap_setgid (api-server.md §11).
                output = try await RootCommand.runAllowingFailure(tool, arguments: arguments, environment: env, timeout: timeout)
            case .native:
                output = try await runner.runAllowingFailure(tool, arguments: arguments, environment: env, timeout: timeout)
            }
        } catch {
            throw ResourceManagerError.command("\(error)")
        }
        guard output.exitCode == 0 else {
            let stderr = String(decoding: output.standardError.prefix(512), as: UTF8.self)
            throw ResourceManagerError.command("\(tool) exited with \(output.exitCode): \(stderr)")
        }
        // stdout and stderr are parsed together, as the reference does.
        return output.text + String(decoding: output.standardError, as: UTF8.self)
    }

    public static let sacctFormat =
        "jobidraw,partition,qos,account,group,gid,user,uid,submit,start,end,elapsed,elapsedraw,exitcode,state,alloctres,nodelist,jobname,workdir"
    public static let sacctStates = "CANCELLED,COMPLETED,FAILED,NODE_FAIL,PREEMPTED,TIMEOUT,RUNNING"

    public static func sacctArguments(window: UpdateWindow) -> [String] {
        [
            "-D", "-X", "--noheader", "--allusers", "--parsable2", "--format", sacctFormat, "--state", sacctStates,
            "--starttime", WallClock.format(milliseconds: window.start, zone: window.zone, offset: false),
            "--endtime", WallClock.format(milliseconds: window.end, zone: window.zone, offset: false),
        ]
    }

    public func fetchUnits(window: UpdateWindow) async throws -> [ComputeUnit] {
        let output = try await run(
            sacct, Self.sacctArguments(window: window), environment: ["SLURM_TIME_FORMAT": "%Y-%m-%dT%H:%M:%S%z"])
        let (units, malformed) = SacctParser(clusterID: clusterID, window: window, now: now()).parse(output)
        if malformed > 0 {
            logger.warning(
                "Skipped malformed sacct lines", metadata: ["cluster": "\(clusterID)", "lines": "\(malformed)"])
        }
        return units
    }

    public func fetchUsersAndProjects(window: UpdateWindow) async throws -> ([User], [Project]) {
        let output = try await run(
            sacctmgr, ["--parsable2", "--noheader", "list", "associations", "format=Account,User"], environment: [:])
        let stamp = WallClock.format(milliseconds: window.end, zone: window.zone, offset: false)
        return SacctParser.parseAssociations(output, clusterID: clusterID, lastUpdatedAt: stamp)
    }
}
