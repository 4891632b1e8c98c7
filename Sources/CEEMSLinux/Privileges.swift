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

    /// The environment variable a re-executed process finds (it then only trims its capabilities).
    public static let marker = "CEEMS_PRIVILEGES_DROPPED"

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

    /// Whether this process holds `capability` in its effective set.
    public static func effective(_ capability: Capability) -> Bool {
        guard let status = try? SystemFile.readString("/proc/self/status"),
            let mask = capabilities("CapEff", status: status)
        else { return false }
        return mask & Capability.mask([capability]) != 0
    }

    /// Started as root: re-executes this program as `user`, keeping only `keep` (never returns on success).
    /// Started unprivileged (or re-executed): trims the capability sets to `keep`.
    public static func drop(to user: String, keeping keep: Set<Capability>) throws(Failure) {
        let mask = Capability.mask(keep)
        guard geteuid() == 0, getenv(marker) == nil else {
            let status = ceems_trim_capabilities(mask)
            if status != 0 { throw .system("capset", -status) }
            return
        }
        let target = try Self.user(user)
        var environment: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if !text.hasPrefix("HOME="), !text.hasPrefix(marker + "=") { environment.append(text) }
            index += 1
        }
        environment += ["HOME=" + target.home, marker + "=1"]
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        let status = ceems_exec_as_user(target.uid, target.gid, mask, "/proc/self/exe", &argv, &envp)
        throw .system("switching to \(user)", -status)
    }
}
