import CEEMSCore
import CLinuxSupport
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// How a server gives up root at start-up (exporter.md §10, api-server.md §11, lb.md §8): the run-as user, the
/// capabilities its enabled features need, the files that user must reach (granted by POSIX ACLs, removed at exit)
/// and the paths it must reach without help.
public struct PrivilegeDrop: Sendable {
    public enum Access: Sendable, Equatable {
        /// A file read (the web config).
        case read
        /// A file read and written (a unix socket).
        case readWrite
        /// A directory and the files in it, read (and written).
        case directory(writable: Bool)
    }

    public struct Grant: Sendable, Equatable {
        public var path: String
        public var access: Access

        /// A relative `path` is taken from the current directory.
        public init(_ path: String, _ access: Access) {
            self.path = path.hasPrefix("/") ? path : FilePathSyntax.join([Self.currentDirectory, path])
            self.access = access
        }

        static var currentDirectory: String {
            var buffer = [CChar](repeating: 0, count: 4096)
            guard getcwd(&buffer, buffer.count) != nil else { return "/" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// `--security.run-as-user` as given; `nil`: `nobody` when started as root.
    public var user: String?
    /// `--security.drop-privileges`.
    public var enabled = true
    /// `!--security.disable-cap-awareness`: effective sets empty, capabilities raised around privileged actions.
    public var capabilityAware = true
    public var capabilities: Set<Capability> = []
    public var grants: [Grant] = []
    /// Paths the run-as user must reach as they are (`R_OK|X_OK` for directories, `R_OK` for files). When the
    /// default user cannot, the program stays root with a warning; when the user was named, it is an error.
    public var requiredPaths: [String] = []
    /// Why the default user must not be used (the program then stays root unless a user is named), e.g. pseudo-file
    /// systems read from copies whose files need not be readable by `nobody`.
    public var keepRootUnlessNamed: String?

    public init(user: String? = nil, enabled: Bool = true, capabilityAware: Bool = true) {
        self.user = user
        self.enabled = enabled
        self.capabilityAware = capabilityAware
    }

    public static let defaultUser = "nobody"
}

/// The ACL grants made at start-up, undone at exit.
public struct PrivilegeSession: Sendable {
    public var grants: [PosixACL.Original] = []

    public init(grants: [PosixACL.Original] = []) {
        self.grants = grants
    }

    /// Removes the ACL entries added at start-up (capability cap_fowner, kept for this, raised meanwhile).
    public func restore(logger: Logger) {
        let grants = grants
        guard !grants.isEmpty else { return }
        let failures: [String] = Privileges.perform([.fowner]) {
            grants.reversed().compactMap { original in
                do throws(PosixACL.Failure) {
                    try PosixACL.restore(original)
                    return nil
                } catch {
                    return error.description
                }
            }
        }
        for failure in failures { logger.warning("Cannot remove ACL entry", metadata: ["err": "\(failure)"]) }
    }
}

extension Privileges {
    public enum DropFailure: Error, CustomStringConvertible {
        case inaccessible(user: String, paths: [String])
        case grant(String)
        case switching(String)

        public var description: String {
            switch self {
            case .inaccessible(let user, let paths):
                "run-as user \(user) cannot access \(paths.joined(separator: ", "))"
            case .grant(let reason): "cannot grant file access to the run-as user: \(reason)"
            case .switching(let reason): "cannot drop privileges: \(reason)"
            }
        }
    }

    /// Applies `drop`. Started as root: checks the paths, adds the ACL grants, and re-executes this program in
    /// place as the run-as user holding only the needed capabilities (plus cap_fowner when ACLs were added, to
    /// remove them at exit) — it does not return then. Started unprivileged with capabilities: re-executes
    /// keeping only the needed ones. Re-executed: returns the grants to undo at exit.
    public static func apply(_ drop: PrivilegeDrop, logger: Logger) throws(DropFailure) -> PrivilegeSession {
        if ceems_privileges_state() != 0 {
            var session = PrivilegeSession()
            if let text = getenv(grantsVariable) {
                session.grants = String(cString: text).split(separator: ";").compactMap { PosixACL.Original(encoded: $0) }
                unsetenv(grantsVariable)
            }
            logger.info(
                "Running with least privileges",
                metadata: [
                    "uid": "\(getuid())", "gid": "\(getgid())",
                    "capabilities": "\(Capability.names(permitted).joined(separator: ","))",
                    "capability_aware": "\(isCapabilityAware)",
                ])
            return session
        }
        guard drop.enabled else { return PrivilegeSession() }
        let keep = Capability.mask(drop.capabilities)
        let marker = drop.capabilityAware ? "aware" : "direct"
        guard geteuid() == 0 else {
            // Unprivileged: only capabilities granted by the service manager (ambient, file) need trimming.
            guard permitted != 0 else { return PrivilegeSession() }
            try execute(switching: nil, keep: keep, environment: [Self.marker: marker])
        }
        if drop.user == nil, let reason = drop.keepRootUnlessNamed {
            logger.warning(
                "Keeping root privileges: name a run-as user with --security.run-as-user to drop them",
                metadata: ["reason": "\(reason)"])
            return PrivilegeSession()
        }
        let name = drop.user ?? PrivilegeDrop.defaultUser
        let target: (uid: UInt32, gid: UInt32, home: String)
        do { target = try user(name) } catch { throw .switching(error.description) }
        guard target.uid != 0 else { return PrivilegeSession() }
        let missing = drop.requiredPaths.filter { !canAccess(target, $0, mode: SystemFile.isDirectory($0) ? R_OK | X_OK : R_OK) }
        if !missing.isEmpty {
            guard drop.user == nil else { throw .inaccessible(user: name, paths: missing) }
            logger.warning(
                "Keeping root privileges: the default run-as user cannot access the configured paths; name one that can with --security.run-as-user",
                metadata: ["user": "\(name)", "paths": "\(missing.joined(separator: ","))"])
            return PrivilegeSession()
        }
        var originals: [PosixACL.Original] = []
        do {
            for grant in drop.grants { try add(grant, for: target, into: &originals) }
            let unreachable = drop.grants.filter { !canAccess(target, $0.path, mode: $0.access.mode) }.map(\.path)
            if !unreachable.isEmpty { throw DropFailure.inaccessible(user: name, paths: unreachable) }
            let capabilities = originals.isEmpty ? keep : keep | Capability.mask([.fowner])
            try execute(
                switching: target, keep: capabilities,
                environment: [
                    "HOME": target.home, Self.marker: marker,
                    grantsVariable: originals.map(\.encoded).joined(separator: ";"),
                ])
        } catch {
            for original in originals.reversed() { try? PosixACL.restore(original) }
            if let failure = error as? DropFailure { throw failure }
            throw .grant("\(error)")
        }
    }

    /// Grants `target` the access of `grant`: traversal of every parent directory it cannot search, then the
    /// file (or directory and its files) itself, each only where it lacks that access.
    static func add(
        _ grant: PrivilegeDrop.Grant, for target: (uid: UInt32, gid: UInt32, home: String),
        into originals: inout [PosixACL.Original]
    ) throws(PosixACL.Failure) {
        var paths: [(String, UInt16)] = []
        var parent = ""
        for component in grant.path.split(separator: "/").dropLast() {
            parent += "/" + component
            paths.append((parent, 1))
        }
        switch grant.access {
        case .read: paths.append((grant.path, 4))
        case .readWrite: paths.append((grant.path, 6))
        case .directory(let writable):
            // A server's data directory may not exist yet: created as the server would (owner only).
            if !SystemFile.isDirectory(grant.path) {
                try createDirectories(grant.path)
            }
            paths.append((grant.path, writable ? 7 : 5))
            for entry in (try? Directory.entries(grant.path)) ?? [] where entry.kind == .regular {
                // Readers of a SQLite database in WAL mode write its shared-memory index.
                let sqliteIndex = entry.name.hasSuffix("-shm") || entry.name.hasSuffix("-wal")
                paths.append((grant.path + "/" + entry.name, writable || sqliteIndex ? 6 : 4))
            }
        }
        for (path, permissions) in paths {
            let mode = (permissions & 4 != 0 ? R_OK : 0) | (permissions & 2 != 0 ? W_OK : 0) | (permissions & 1 != 0 ? X_OK : 0)
            guard !canAccess(target, path, mode: mode), !originals.contains(where: { $0.path == path }) else { continue }
            var (acl, original) = try PosixACL.read(path)
            acl.grant(user: target.uid, permissions: permissions)
            try PosixACL.write(acl, to: path)
            originals.append(original)
        }
    }

    static func createDirectories(_ path: String) throws(PosixACL.Failure) {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o700) != 0, errno != EEXIST {
                throw .system(path: current, call: "mkdir", code: errno)
            }
        }
    }

    static func canAccess(_ target: (uid: UInt32, gid: UInt32, home: String), _ path: String, mode: Int32) -> Bool {
        ceems_access_as(target.uid, target.gid, path, mode) == 1
    }

    /// Re-executes this program (same pid, same arguments) with `environment` updated.
    static func execute(
        switching target: (uid: UInt32, gid: UInt32, home: String)?, keep: UInt64, environment updates: [String: String]
    ) throws(DropFailure) -> Never {
        var environment: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let name = String(text.prefix { $0 != "=" })
            if updates[name] == nil { environment.append(text) }
            index += 1
        }
        environment += updates.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" }.sorted()
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        let status = ceems_exec_with_capabilities(
            target == nil ? 0 : 1, target?.uid ?? 0, target?.gid ?? 0, keep, "/proc/self/exe", &argv, &envp)
        throw .switching(String(cString: strerror(-status)))
    }
}

extension PrivilegeDrop.Access {
    var mode: Int32 {
        switch self {
        case .read: R_OK
        case .readWrite: R_OK | W_OK
        case .directory(let writable): writable ? R_OK | W_OK | X_OK : R_OK | X_OK
        }
    }
}

extension Capability {
    /// The names of the capabilities of a mask, known ones only.
    public static func names(_ mask: UInt64) -> [String] {
        allCases.filter { mask & Capability.mask([$0]) != 0 }.map(\.description)
    }
}
