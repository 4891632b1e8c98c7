import CEEMSCore
import CLinuxSupport

#if canImport(Glibc)
import Glibc
#endif

/// POSIX access ACLs (`system.posix_acl_access`, the kernel's binary form: a version word then 8-byte entries of
/// tag, permissions and id), enough to grant one user access to a file and to undo it exactly (exporter.md §10).
public struct PosixACL: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var tag: UInt16
        public var permissions: UInt16
        public var id: UInt32
    }

    public static let attribute = "system.posix_acl_access"
    static let version: UInt32 = 2
    static let userObject: UInt16 = 0x01, user: UInt16 = 0x02, groupObject: UInt16 = 0x04, group: UInt16 = 0x08
    static let mask: UInt16 = 0x10, other: UInt16 = 0x20
    static let undefinedID = UInt32.max

    public var entries: [Entry]

    /// The minimal ACL that a file's mode bits stand for.
    public init(mode: UInt32) {
        entries = [
            Entry(tag: Self.userObject, permissions: UInt16(mode >> 6 & 7), id: Self.undefinedID),
            Entry(tag: Self.groupObject, permissions: UInt16(mode >> 3 & 7), id: Self.undefinedID),
            Entry(tag: Self.other, permissions: UInt16(mode & 7), id: Self.undefinedID),
        ]
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count >= 4, (bytes.count - 4) % 8 == 0, Self.word(bytes, 0) == Self.version else { return nil }
        entries = stride(from: 4, to: bytes.count, by: 8).map { offset in
            Entry(
                tag: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8,
                permissions: UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8,
                id: Self.word(bytes, offset + 4))
        }
    }

    public var bytes: [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt32, _ width: Int) {
            for shift in stride(from: 0, to: width * 8, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        append(Self.version, 4)
        for entry in entries {
            append(UInt32(entry.tag), 2)
            append(UInt32(entry.permissions), 2)
            append(entry.id, 4)
        }
        return bytes
    }

    /// Adds `permissions` (bits 4 read, 2 write, 1 execute) for `uid`, widening the mask so they take effect.
    public mutating func grant(user uid: UInt32, permissions: UInt16) {
        if let index = entries.firstIndex(where: { $0.tag == Self.user && $0.id == uid }) {
            entries[index].permissions |= permissions
        } else {
            entries.append(Entry(tag: Self.user, permissions: permissions, id: uid))
        }
        if let index = entries.firstIndex(where: { $0.tag == Self.mask }) {
            entries[index].permissions |= permissions
        } else {
            let groupClass = entries.filter { [Self.user, Self.groupObject, Self.group].contains($0.tag) }
            let union = groupClass.reduce(UInt16(0)) { $0 | $1.permissions }
            entries.append(Entry(tag: Self.mask, permissions: union, id: Self.undefinedID))
        }
        // The kernel wants the entries ordered by tag, then id.
        entries.sort { ($0.tag, $0.id) < ($1.tag, $1.id) }
    }

    /// The permissions the ACL gives `uid` through a named-user entry (masked), if it has one.
    public func permissions(ofUser uid: UInt32) -> UInt16? {
        guard let entry = entries.first(where: { $0.tag == Self.user && $0.id == uid }) else { return nil }
        let mask = entries.first(where: { $0.tag == Self.mask })?.permissions ?? 7
        return entry.permissions & mask
    }

    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}

extension PosixACL {
    public enum Failure: Error, CustomStringConvertible {
        case system(path: String, call: String, code: Int32)

        public var description: String {
            switch self {
            case .system(let path, let call, let code): "\(call) \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// What a file's access ACL and mode were before a grant, to put them back.
    public struct Original: Equatable, Sendable {
        public var path: String
        public var mode: UInt32
        /// The access ACL attribute, `nil` when the file had none (only its mode bits).
        public var attribute: [UInt8]?
    }

    /// The file's ACL (read from the attribute, or derived from the mode) and what to restore later.
    public static func read(_ path: String) throws(Failure) -> (acl: PosixACL, original: Original) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .system(path: path, call: "stat", code: errno) }
        let mode = UInt32(info.st_mode) & 0o7777
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = getxattr(path, attribute, &buffer, buffer.count)
        if count < 0 {
            guard errno == ENODATA || errno == EOPNOTSUPP else {
                throw .system(path: path, call: "getxattr", code: errno)
            }
            return (PosixACL(mode: mode), Original(path: path, mode: mode, attribute: nil))
        }
        let bytes = Array(buffer.prefix(count))
        return (PosixACL(bytes: bytes) ?? PosixACL(mode: mode), Original(path: path, mode: mode, attribute: bytes))
    }

    /// Writes `acl` as the file's access ACL (the kernel sets the group mode bits to its mask).
    public static func write(_ acl: PosixACL, to path: String) throws(Failure) {
        let bytes = acl.bytes
        guard setxattr(path, attribute, bytes, bytes.count, 0) == 0 else {
            throw .system(path: path, call: "setxattr", code: errno)
        }
    }

    /// Puts back the ACL and mode a file had before a grant.
    public static func restore(_ original: Original) throws(Failure) {
        if let attribute = original.attribute {
            guard setxattr(original.path, Self.attribute, attribute, attribute.count, 0) == 0 else {
                throw .system(path: original.path, call: "setxattr", code: errno)
            }
        } else if removexattr(original.path, attribute) != 0, errno != ENODATA {
            throw .system(path: original.path, call: "removexattr", code: errno)
        }
        guard chmod(original.path, mode_t(original.mode)) == 0 else {
            throw .system(path: original.path, call: "chmod", code: errno)
        }
    }
}

extension PosixACL.Original {
    /// One line of text (hex fields) that survives an `execve` in the environment.
    public var encoded: String {
        let attributeText = attribute.map { Self.hex($0) } ?? "-"
        return "\(Self.hex(Array(path.utf8))):\(String(mode, radix: 8)):\(attributeText)"
    }

    public init?(encoded: Substring) {
        let fields = encoded.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, let pathBytes = Self.bytes(hex: fields[0]), let mode = UInt32(fields[1], radix: 8)
        else { return nil }
        path = String(decoding: pathBytes, as: UTF8.self)
        self.mode = mode
        if fields[2] == "-" {
            attribute = nil
        } else {
            guard let bytes = Self.bytes(hex: fields[2]) else { return nil }
            attribute = bytes
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes { text += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
        return String(decoding: text, as: UTF8.self)
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let value = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(value)
        }
        return bytes
    }
}
