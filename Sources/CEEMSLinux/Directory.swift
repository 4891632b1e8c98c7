import CEEMSCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One entry of a directory listing.
public struct DirectoryEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case directory, regular, symlink, other, unknown
    }

    public var name: String
    public var kind: Kind
    /// `d_ino`: on cgroup file systems, the cgroup's id.
    public var inode: UInt64 = 0
}

/// Directory listings with `opendir`/`readdir` (swift-system has no `readdir`).
public enum Directory {
    /// The entries of a directory, without `.` and `..`, sorted by name bytes like Go's `os.ReadDir`.
    public static func entries(_ path: String) throws(SystemFileError) -> [DirectoryEntry] {
        var result = try unsortedEntries(path)
        result.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return result
    }

    /// The entries of a directory in the kernel's order (cheaper when order does not matter).
    public static func unsortedEntries(_ path: String) throws(SystemFileError) -> [DirectoryEntry] {
        guard let handle = opendir(path) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .notFound(path: path) }
            throw .failed(path: path, errno: code)
        }
        defer { closedir(handle) }
        var result: [DirectoryEntry] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let kind: DirectoryEntry.Kind
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_REG): kind = .regular
            case Int32(DT_LNK): kind = .symlink
            case Int32(DT_UNKNOWN): kind = .unknown
            default: kind = .other
            }
            result.append(DirectoryEntry(name: name, kind: kind, inode: UInt64(entry.pointee.d_ino)))
        }
        return result
    }

    /// Whether an entry is a directory, following a symlink (or an unknown `d_type`) with `stat`.
    public static func isDirectory(_ entry: DirectoryEntry, in parent: String) -> Bool {
        switch entry.kind {
        case .directory: return true
        case .symlink, .unknown: return SystemFile.isDirectory(parent + "/" + entry.name)
        default: return false
        }
    }

    /// The target of a symbolic link resolved to an absolute, symlink-free path (Go's `filepath.EvalSymlinks`).
    public static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension Directory {
    /// Whether a path exists (follows symlinks).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
