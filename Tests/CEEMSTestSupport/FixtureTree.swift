#if canImport(Glibc)
import Glibc
#endif

/// Builds a fake `/sys` or `/proc` tree (or any set of files) in a fresh temporary directory.
public struct FixtureTree: Sendable {
    public let root: String

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public init() throws {
        var template = Array("/tmp/ceems-fixture-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else { throw Failure("mkdtemp") }
        root = String(cString: result)
    }

    public func path(_ relative: String) -> String { root + "/" + relative }

    public func directory(_ relative: String) throws {
        var current = root
        for part in relative.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw Failure("mkdir \(current)") }
        }
    }

    public func file(_ relative: String, _ content: String, mode: mode_t = 0o644) throws {
        if let slash = relative.lastIndex(of: "/") { try directory(String(relative[..<slash])) }
        let full = path(relative)
        let fd = open(full, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw Failure("open \(full)") }
        let bytes = Array(content.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        chmod(full, mode)
    }

    /// An executable shell script (fake commands).
    public func script(_ relative: String, _ body: String) throws -> String {
        try file(relative, "#!/bin/sh\n" + body + "\n", mode: 0o755)
        return path(relative)
    }

    public func link(_ relative: String, to target: String) throws {
        if let slash = relative.lastIndex(of: "/") { try directory(String(relative[..<slash])) }
        guard symlink(target, path(relative)) == 0 else { throw Failure("symlink \(relative)") }
    }

    public func remove(_ relative: String) {
        unlink(path(relative))
    }

    /// Removes a directory and everything below it (like `rm -rf`).
    public func removeTree(_ relative: String) {
        FixtureTree.removeTree(atPath: path(relative))
    }

    public static func removeTree(atPath path: String) {
        for name in SharedReference.files(in: path) {
            let child = path + "/" + name
            var info = stat()
            if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                removeTree(atPath: child)
            } else {
                unlink(child)
            }
        }
        rmdir(path)
    }
}

extension String {
    /// The UTF-8 bytes as the slice type the parsers take.
    public var bytes: ArraySlice<UInt8> { Array(utf8)[...] }
}
