import CEEMSCore

#if canImport(Glibc)
import Glibc
#endif

/// One inotify event: the watch it belongs to, what happened and, for a directory watch, the entry's name.
public struct InotifyEvent: Sendable, Equatable {
    public var watch: Int32
    public var mask: UInt32
    public var name: String

    public init(watch: Int32, mask: UInt32, name: String) {
        self.watch = watch
        self.mask = mask
        self.name = name
    }

    public var isDirectoryCreated: Bool { mask & UInt32(IN_CREATE) != 0 && mask & UInt32(IN_ISDIR) != 0 }
    public var isModified: Bool { mask & UInt32(IN_MODIFY) != 0 }
    /// The watch is gone (its file or directory was removed).
    public var isWatchRemoved: Bool { mask & UInt32(IN_IGNORED) != 0 }
    /// Events were dropped: the kernel queue overflowed.
    public var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
}

/// A Linux inotify instance (non-blocking descriptor, close-on-exec). Reads wait with `poll` up to a timeout,
/// so a watching thread can check for shutdown.
public final class Inotify: @unchecked Sendable {
    // The descriptor is written only by init and close; callers serialise close with their reading thread.
    private var descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    public static let modify = UInt32(IN_MODIFY)
    public static let createDirectory = UInt32(IN_CREATE) | UInt32(IN_ONLYDIR)

    public init() throws(SystemFileError) {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw .failed(path: "inotify_init1", errno: errno) }
    }

    deinit { close() }

    /// Adds (or updates) a watch; returns its descriptor.
    public func add(_ path: String, mask: UInt32) throws(SystemFileError) -> Int32 {
        let watch = inotify_add_watch(descriptor, path, mask)
        guard watch >= 0 else { throw errno == ENOENT ? .notFound(path: path) : .failed(path: path, errno: errno) }
        return watch
    }

    public func remove(_ watch: Int32) {
        _ = inotify_rm_watch(descriptor, watch)
    }

    /// The events available within `timeoutMilliseconds` (none on timeout).
    public func read(timeoutMilliseconds: Int32) -> [InotifyEvent] {
        guard descriptor >= 0 else { return [] }
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) > 0 else { return [] }
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return [] }
        return Self.parse(buffer[..<count])
    }

    /// Decodes `struct inotify_event` records: wd (4), mask (4), cookie (4), len (4), then `len` bytes of
    /// NUL-padded name.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        var offset = bytes.startIndex
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while bytes.endIndex - offset >= 16 {
            let length = Int(word(offset + 12))
            guard bytes.endIndex - offset - 16 >= length else { break }
            let nameBytes = bytes[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
            events.append(
                InotifyEvent(
                    watch: Int32(bitPattern: word(offset)), mask: word(offset + 4),
                    name: String(decoding: nameBytes, as: UTF8.self)))
            offset += 16 + length
        }
        return events
    }

    public func close() {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
