import CEEMSCore
import Foundation

/// Parses `sacct --parsable2` lines of the format the SLURM manager asks for (§8.1) into units.
public struct SacctParser: Sendable {
    public let clusterID: String
    public let window: UpdateWindow
    /// Epoch ms of "now" (end of a running job's overlap).
    public let now: Int64

    public init(clusterID: String, window: UpdateWindow, now: Int64) {
        self.clusterID = clusterID
        self.window = window
        self.now = now
    }

    public static let fieldCount = 19

    /// Parses sacct's whole output; returns the units and the number of lines skipped as malformed.
    public func parse(_ output: String) -> (units: [ComputeUnit], malformed: Int) {
        var units: [ComputeUnit] = []
        var malformed = 0
        for line in output.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) where !line.isEmpty {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= Self.fieldCount else {
                malformed += 1
                continue
            }
            if fields[0].contains(".") || fields[16] == "None assigned" { continue }
            guard let unit = unit(fields) else {
                malformed += 1
                continue
            }
            units.append(unit)
        }
        return (units, malformed)
    }

    func time(_ text: String) -> (String, Int64) {
        guard let milliseconds = WallClock.parse(text) else { return (text, 0) }
        return (WallClock.format(milliseconds: milliseconds, zone: window.zone), milliseconds)
    }

    func unit(_ f: [String]) -> ComputeUnit? {
        // jobidraw,partition,qos,account,group,gid,user,uid,submit,start,end,elapsed,elapsedraw,exitcode,state,
        // alloctres,nodelist,jobname,workdir
        guard !f[0].isEmpty else { return nil }
        var unit = ComputeUnit(clusterID: clusterID, resourceManager: "slurm", uuid: f[0])
        unit.project = f[3]
        unit.group = f[4]
        unit.user = f[6]
        (unit.createdAt, unit.createdAtTS) = time(f[8])
        (unit.startedAt, unit.startedAtTS) = time(f[9])
        (unit.endedAt, unit.endedAtTS) = time(f[10])
        unit.elapsed = f[11]
        unit.state = f[14]
        unit.name = f[17]
        let tres = Self.parseTRES(f[15])
        unit.allocation = .object([
            ("billing", .integer(tres.billing)), ("cpus", .integer(tres.cpus)), ("gpus", .integer(tres.gpus)),
            ("mem", .integer(tres.memory)), ("nodes", .integer(tres.nodes)),
        ])
        let nodes = Hostlist.expand(f[16]).joined(separator: "|")
        unit.tags = .object([
            ("exit_code", .string(f[13])), ("gid", .integer(Int64(f[5]) ?? 0)), ("nodelist", .string(f[16])),
            ("nodelistexp", .string(nodes)), ("partition", .string(f[1])), ("qos", .string(f[2])),
            ("uid", .integer(Int64(f[7]) ?? 0)), ("workdir", .string(f[18])),
        ])
        // Overlap of the job with the window.
        var elapsedSeconds: Int64 = 0
        if unit.startedAtTS > 0 {
            let jobEnd = unit.endedAtTS > 0 ? unit.endedAtTS : now
            if jobEnd < window.start - 1000 {
                elapsedSeconds = (jobEnd - unit.startedAtTS) / 1000
            } else if jobEnd < window.start {
                // sacct selects at whole seconds: a job that ended in the second before the window start was
                // counted by the previous window already; counting it again doubled its time (and diluted
                // its averages with a window of no samples).
                elapsedSeconds = 0
            } else {
                let startMark = max(unit.startedAtTS, window.start)
                let endMark = min(jobEnd, window.end)
                elapsedSeconds = max(0, (endMark - startMark) / 1000)
            }
        }
        let e = elapsedSeconds
        unit.totalTime = MetricMap([
            "walltime": Double(e),
            "alloc_cputime": Double(tres.cpus * e),
            "alloc_cpumemtime": Double(tres.memory > 0 ? Self.memoryTime(tres.memory, e) : e),
            "alloc_gputime": Double(tres.gpus * e),
            "alloc_gpumemtime": Double(tres.gpus > 0 ? e : 0),
        ])
        return unit
    }

    /// mem·elapsed / 1 MiB without overflow for large allocations.
    static func memoryTime(_ memory: Int64, _ elapsed: Int64) -> Int64 {
        let (product, overflow) = memory.multipliedReportingOverflow(by: elapsed)
        if !overflow { return product / (1 << 20) }
        return (memory / (1 << 20)) * elapsed + (memory % (1 << 20)) * elapsed / (1 << 20)
    }

    public struct TRES: Sendable, Equatable {
        public var billing: Int64 = 0
        public var nodes: Int64 = 0
        public var cpus: Int64 = 0
        public var gpus: Int64 = 0
        public var memory: Int64 = 0
    }

    /// `billing=80,cpu=8,gres/gpu=8,mem=320.5G,node=1`.
    public static func parseTRES(_ text: String) -> TRES {
        var tres = TRES()
        var untypedGPUs: Int64?
        var typedGPUs: Int64?
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0]
            let value = String(parts[1])
            switch name {
            case "billing": tres.billing = Int64(value) ?? 0
            case "node": tres.nodes = Int64(value) ?? 0
            case "cpu": tres.cpus = Int64(value) ?? 0
            case "mem": tres.memory = parseMemory(value) ?? 0
            case "gres/gpu": untypedGPUs = Int64(value)
            default:
                if name.hasPrefix("gres/gpu:"), let count = Int64(value) { typedGPUs = count }
            }
        }
        tres.gpus = untypedGPUs ?? typedGPUs ?? 0
        return tres
    }

    /// `320.5G` → bytes (powers of 1024, fractions kept); a bare number is MiB (§15 #21).
    public static func parseMemory(_ text: String) -> Int64? {
        guard let last = text.last else { return nil }
        let units: [Character: Double] = [
            "K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024, "T": 1024 * 1024 * 1024 * 1024,
            "P": 1024 * 1024 * 1024 * 1024 * 1024,
        ]
        let number: Double?
        let scale: Double
        if let unitScale = units[Character(last.uppercased())] {
            number = Double(text.dropLast())
            scale = unitScale
        } else {
            number = Double(text)
            scale = 1024 * 1024
        }
        guard let number, number.isFinite, number >= 0 else { return nil }
        let bytes = (number * scale).rounded()
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }

    /// `sacctmgr list associations format=Account,User` lines → users and projects with sorted memberships.
    public static func parseAssociations(_ output: String, clusterID: String, lastUpdatedAt: String) -> (
        [User], [Project]
    ) {
        var projectsByUser: [String: Set<String>] = [:]
        var usersByProject: [String: Set<String>] = [:]
        for line in output.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map {
                String($0).trimmingCharacters(in: .whitespaces)
            }
            guard fields.count >= 2 else { continue }
            let (account, user) = (fields[0], fields[1])
            guard !account.isEmpty, !user.isEmpty, account != "root", user != "root" else { continue }
            projectsByUser[user, default: []].insert(account)
            usersByProject[account, default: []].insert(user)
        }
        let users = projectsByUser.keys.sorted().map { name in
            User(
                clusterID: clusterID, resourceManager: "slurm", name: name,
                projects: projectsByUser[name, default: []].sorted(), tags: nil, lastUpdatedAt: lastUpdatedAt)
        }
        let projects = usersByProject.keys.sorted().map { name in
            Project(
                clusterID: clusterID, resourceManager: "slurm", name: name,
                users: usersByProject[name, default: []].sorted(), tags: nil, lastUpdatedAt: lastUpdatedAt)
        }
        return (users, projects)
    }
}
