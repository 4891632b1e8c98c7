import CEEMSCore
import CLinuxSupport

#if canImport(Glibc)
import Glibc
#endif

/// Linux capabilities (numbers of linux/capability.h) and the switch to an unprivileged user (exporter.md §10).
public enum Capability: Int, Sendable, CaseIterable, CustomStringConvertible {
    case dacOverride = 1, dacReadSearch = 2, fowner = 3, setgid = 6, setuid = 7, netBindService = 10
    case sysPtrace = 19, sysAdmin = 21, perfmon = 38, bpf = 39

    public var description: String {
        switch self {
        case .dacOverride: "cap_dac_override"
        case .dacReadSearch: "cap_dac_read_search"
        case .fowner: "cap_fowner"
        case .setgid: "cap_setgid"
        case .setuid: "cap_setuid"
        case .netBindService: "cap_net_bind_service"
        case .sysPtrace: "cap_sys_ptrace"
        case .sysAdmin: "cap_sys_admin"
        case .perfmon: "cap_perfmon"
        case .bpf: "cap_bpf"
        }
    }

    public static func mask(_ capabilities: Set<Capability>) -> UInt64 {
        capabilities.reduce(0) { $0 | 1 << UInt64($1.rawValue) }
    }
}

public enum Privileges {
    public enum Failure: Error, CustomStringConvertible {
        case unknownUser(String)
        case system(String, Int32)

        public var description: String {
            switch self {
            case .unknownUser(let name): "unknown user \(name)"
            case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    /// The environment variable a re-executed image finds (read and removed before Swift code runs).
    public static let marker = "CEEMS_PRIVILEGES_DROPPED"
    /// The environment variable carrying the ACL grants to undo at exit across the re-execution.
    public static let grantsVariable = "CEEMS_PRIVILEGES_ACLS"

    /// uid, gid and home of a user name or numeric uid.
    public static func user(_ name: String) throws(Failure) -> (uid: UInt32, gid: UInt32, home: String) {
        let entry = UInt32(name).flatMap { getpwuid($0) } ?? getpwnam(name)
        guard let entry else { throw .unknownUser(name) }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid, String(cString: entry.pointee.pw_dir))
    }

    /// A capability set from `/proc/<pid>/status` (`CapPrm`, `CapEff`, …).
    public static func capabilities(_ field: String, status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return UInt64(String(line.dropFirst(field.count + 1)).trimmingSpaces(), radix: 16)
        }
        return nil
    }

    /// The calling thread's permitted capabilities.
    public static var permitted: UInt64 {
        var permitted: UInt64 = 0
        var effective: UInt64 = 0
        return ceems_capabilities(&permitted, &effective) == 0 ? permitted : 0
    }

    /// Whether privileged actions may use `capability`: held now, or raised by `run` when needed.
    public static func holds(_ capability: Capability) -> Bool {
        permitted & Capability.mask([capability]) != 0
    }

    /// Whether this image runs with empty effective sets, raising capabilities around privileged actions.
    public static var isCapabilityAware: Bool { ceems_privileges_state() == 1 }

    /// Runs a privileged action (reading another user's `/proc/<pid>/environ`, opening a perf counter, loading BPF
    /// programs, opening `/dev/ipmi0`…). With capability awareness the calling thread raises `capabilities` (all
    /// it may hold when `nil`) into its effective set for the duration of `body` and empties it after; no other
    /// thread ever holds an effective capability (exporter.md §10). `body` is synchronous, so it runs on this one
    /// thread from start to end, and it must not start threads (they would inherit the raised set).
    public static func perform<Result, Failure: Error>(
        _ capabilities: Set<Capability>? = nil, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        guard isCapabilityAware else { return try body() }
        ceems_set_effective(capabilities.map { Capability.mask($0) } ?? UInt64.max)
        defer { ceems_set_effective(0) }
        return try body()
    }

    /// Whether commands start as root: the process is root, or dropped keeping cap_setuid and cap_setgid.
    public static var canStartCommandsAsRoot: Bool { geteuid() == 0 || (holds(.setuid) && holds(.setgid)) }
}
