#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors of reading files with plain system calls.
public enum SystemFileError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist (`ENOENT`/`ENOTDIR`): for cgroups and sysfs this means "gone", not "broken".
    case notFound(path: String)
    /// Any other failure, with its `errno`.
    case failed(path: String, errno: Int32)
    /// The file is larger than the caller allows.
    case tooLarge(path: String, limit: Int)

    public var description: String {
        switch self {
        case .notFound(let path): "open \(path): no such file or directory"
        case .failed(let path, let code): "read \(path): \(String(cString: strerror(code)))"
        case .tooLarge(let path, let limit): "read \(path): file larger than \(limit) bytes"
        }
    }
}

/// Whole-file reads with `open`/`read`/`close`, reusing the caller's buffer.
///
/// Procfs, sysfs and cgroup files report a size of 0 or 4096 whatever their content, so the file is read until
/// end of file. A small file costs one `open`, one or two `read` and one `close`.
public enum SystemFile {
    /// Reads the whole file into `buffer` (replacing its content) and returns the number of bytes.
    @discardableResult
    public static func read(
        _ path: String, into buffer: inout [UInt8], limit: Int = 64 << 20
    ) throws(SystemFileError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw openError(path) }
        defer { close(fd) }
        return try read(descriptor: fd, path: path, into: &buffer, limit: limit, shortReadEnds: false)
    }

    static func openError(_ path: String) -> SystemFileError {
        let code = errno
        if code == ENOENT || code == ENOTDIR { return .notFound(path: path) }
        return .failed(path: path, errno: code)
    }

    /// Reads an open file to its end. With `shortReadEnds`, a read that does not fill the buffer is taken as
    /// the end: true of kernfs (cgroup) and procfs files, which hand their whole content to the first read
    /// that has room for it, and of regular files; it spares one `read` per file.
    static func read(
        descriptor fd: Int32, path: @autoclosure () -> String, into buffer: inout [UInt8], limit: Int,
        shortReadEnds: Bool
    ) throws(SystemFileError) -> Int {
        if buffer.count < 4096 { buffer = [UInt8](repeating: 0, count: 4096) }
        var length = 0
        while true {
            if length == buffer.count {
                if buffer.count >= limit { throw .tooLarge(path: path(), limit: limit) }
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, limit - buffer.count)))
            }
            let room = buffer.count - length
            let got = buffer.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress! + length, room)
            }
            if got < 0 {
                let code = errno
                if code == EINTR { continue }
                // A cgroup removed between open and read answers ENODEV.
                if code == ENODEV || code == ENOENT { throw .notFound(path: path()) }
                throw .failed(path: path(), errno: code)
            }
            if got == 0 { break }
            length += got
            if shortReadEnds && got < room { break }
        }
        return length
    }

    /// Reads a whole file into a new array.
    public static func readAll(_ path: String, limit: Int = 64 << 20) throws(SystemFileError) -> [UInt8] {
        var buffer: [UInt8] = []
        let count = try read(path, into: &buffer, limit: limit)
        buffer.removeSubrange(count...)
        return buffer
    }

    /// Reads a whole file as UTF-8 text.
    public static func readString(_ path: String, limit: Int = 64 << 20) throws(SystemFileError) -> String {
        String(decoding: try readAll(path, limit: limit), as: UTF8.self)
    }

    /// Whether a path exists (following symlinks).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Whether a path is an existing directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether a path is an executable regular file for this process.
    public static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// The modification time and size of a file, to notice when a config file changed.
    public static func fingerprint(_ path: String) -> FileFingerprint? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileFingerprint(
            seconds: Int64(info.st_mtim.tv_sec), nanoseconds: Int64(info.st_mtim.tv_nsec), size: Int64(info.st_size),
            inode: UInt64(info.st_ino)
        )
    }
}

/// What identifies a version of a file cheaply: modification time, size and inode.
public struct FileFingerprint: Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int64
    public var size: Int64
    public var inode: UInt64
}

/// An open directory whose files are read by name (`openat`): the kernel resolves the directory's path once
/// instead of once per file, which is most of the cost of opening a cgroup control file.
public final class DirectoryHandle {
    public let path: String
    private let descriptor: Int32

    /// Opens a directory; nil when it does not exist (or is not a directory).
    public init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.path = path
        self.descriptor = fd
    }

    deinit { close(descriptor) }

    /// Reads the file `name` of the directory into `buffer` and returns its length. Meant for kernfs, procfs
    /// and regular files (a short read is the end; see `SystemFile`).
    public func read(_ name: String, into buffer: inout [UInt8], limit: Int = 1 << 20) throws(SystemFileError) -> Int {
        let fd = openat(descriptor, name, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemFile.openError(path + "/" + name) }
        defer { close(fd) }
        return try SystemFile.read(
            descriptor: fd, path: self.path + "/" + name, into: &buffer, limit: limit, shortReadEnds: true)
    }
}
