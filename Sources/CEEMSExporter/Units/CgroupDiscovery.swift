import CEEMSCore
import CEEMSLinux
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Walks the cgroup tree once per scrape and returns the units of one resource manager.
struct CgroupDiscovery: Sendable {
    let layout: CgroupLayout
    let matcher: any UnitMatcher
    let procfs: String
    /// What the matcher said of each directory seen by the last walk: directories outlive scrapes, so most of a
    /// walk is dictionary lookups instead of path parsing.
    private let matches = MatchMemo()

    init(layout: CgroupLayout, matcher: any UnitMatcher, procfs: String) {
        self.layout = layout
        self.matcher = matcher
        self.procfs = procfs
    }

    /// Finds the units. With `withChildren`, each unit's `directories` hold its whole subtree (needed to read its
    /// processes); otherwise only the unit directory (enough for stats).
    func units(withChildren: Bool) -> [ComputeUnit] {
        let mount = layout.discoveryMount
        var units: [ComputeUnit] = []
        var index: [String: Int] = [:]
        var seen = matches.begin()
        defer { matches.end(seen) }
        for root in matcher.roots(layout: layout) {
            var stack = [root]
            // The root itself may be a unit (a SLURM scope is not, but a layout could be).
            while let directory = stack.popLast() {
                guard let entries = try? Directory.unsortedEntries(directory) else { continue }
                for entry in entries where entry.kind == .directory || Directory.isDirectory(entry, in: directory) {
                    let path = directory + "/" + entry.name
                    guard let match = seen.match(path, matcher) else {
                        stack.append(path)
                        continue
                    }
                    if match.isChild {
                        if withChildren, let position = index[match.id] {
                            units[position].directories.append(path)
                        }
                        if withChildren { stack.append(path) }
                        continue
                    }
                    if let position = index[match.id] {
                        // The same id twice (two controllers' views): keep the first.
                        if withChildren { units[position].directories.append(path) }
                    } else {
                        index[match.id] = units.count
                        units.append(
                            ComputeUnit(
                                uuid: match.id, id: match.id, cgroupHostname: match.host,
                                path: String(path.dropFirst(mount.count)), directories: [path]))
                    }
                    if withChildren { stack.append(path) }
                }
            }
        }
        // Report units in the order of a lexical depth-first walk (as the reference's), whatever order the
        // kernel lists directories in: stable output for `/alloy-targets` and logs.
        units.sort { Self.walkOrder($0.path, $1.path) }
        if withChildren {
            for position in units.indices { units[position].directories.sort(by: Self.walkOrder) }
        }
        return units
    }

    /// Compares paths component by component: "/" sorts before every other byte.
    static func walkOrder(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8) { a, b in
            (a == UInt8(ascii: "/") ? 0 : a) < (b == UInt8(ascii: "/") ? 0 : b)
        }
    }

    /// The live processes of a unit: PIDs of every `cgroup.procs` of its directories that exist under procfs.
    func processes(of unit: ComputeUnit, buffer: inout [UInt8]) -> [Int32] {
        var pids: [Int32] = []
        var seen: Set<Int32> = []
        for directory in unit.directories {
            guard let count = try? SystemFile.read(directory + "/cgroup.procs", into: &buffer) else { continue }
            for pid in CgroupFiles.pids(buffer[..<count]) where seen.insert(pid).inserted {
                if Directory.exists(procfs + "/" + String(pid)) { pids.append(pid) }
            }
        }
        return pids
    }

    /// The subtree of a unit found without children (for lazy process lookups).
    /// The cgroup ids (kernfs inode numbers) of the unit's directories and of every cgroup below them, from the
    /// directory entries themselves (one `stat` per unit directory, none per sub-cgroup).
    func cgroupIDs(_ unit: ComputeUnit) -> [UInt64] {
        var ids: [UInt64] = []
        var stack: [String] = []
        for directory in unit.directories {
            var info = stat()
            guard stat(directory, &info) == 0 else { continue }
            ids.append(UInt64(info.st_ino))
            stack.append(directory)
        }
        while let directory = stack.popLast() {
            guard let entries = try? Directory.unsortedEntries(directory) else { continue }
            for entry in entries where entry.kind == .directory || Directory.isDirectory(entry, in: directory) {
                ids.append(entry.inode)
                stack.append(directory + "/" + entry.name)
            }
        }
        return ids
    }

    func withSubtree(_ unit: ComputeUnit) -> ComputeUnit {
        var unit = unit
        guard let top = unit.directories.first else { return unit }
        var directories = [top]
        var stack = [top]
        while let directory = stack.popLast() {
            guard let entries = try? Directory.unsortedEntries(directory) else { continue }
            for entry in entries where entry.kind == .directory || Directory.isDirectory(entry, in: directory) {
                let path = directory + "/" + entry.name
                directories.append(path)
                stack.append(path)
            }
        }
        unit.directories = directories.sorted(by: Self.walkOrder)
        return unit
    }
}

/// Matcher results by directory path, kept from one walk to the next (entries not seen again are dropped).
final class MatchMemo: Sendable {
    struct Walk {
        fileprivate var previous: [String: UnitMatch?]
        fileprivate var current: [String: UnitMatch?] = [:]

        /// The matcher's answer for a directory, from the last walk when it was there.
        mutating func match(_ path: String, _ matcher: any UnitMatcher) -> UnitMatch? {
            let result: UnitMatch?
            if let known = previous[path] {
                result = known
            } else {
                result = matcher.match(CgroupPathEscaping.unescape(path))
            }
            current[path] = result
            return result
        }
    }

    private let state = Mutex<[String: UnitMatch?]>([:])

    func begin() -> Walk {
        Walk(previous: state.withLock { $0 })
    }

    func end(_ walk: Walk) {
        state.withLock { $0 = walk.current }
    }
}
