import CEEMSCore
import CEEMSLinux
import Logging
import Synchronization

/// Reports each unit once more after it ends, so that Prometheus gets its final counters and a job shorter
/// than the scrape interval is not lost (`--collector.cgroups.ended-units`, on by default).
///
/// A unit that was reported by the last scrape and is gone (or stale) now is exported one more time. Its
/// values come from the newest of two readings: what the last scrape read, and, on cgroup v2, what the
/// ``UnitEndWatcher`` read when the kernel said the unit (or one of its steps) had no process left — the
/// moment its CPU counters are final, just before the resource manager removes the cgroup. The watcher also
/// sees units created and ended between two scrapes; they are exported once, with their final reading.
/// Gauges of instantaneous use (memory, swap) keep the last scraped values, as an emptied cgroup reads 0.
final class EndedUnits: Sendable {
    struct Reading: Sendable {
        var unit: ComputeUnit
        var stats: UnitStats
        var gpuRows: [GPUAssignment]
        var at: ContinuousClock.Instant
        /// Read by a scrape (false: only the watcher saw the unit; its uuid is still the raw id).
        var scraped: Bool
    }

    /// How many final readings are kept while no scrape comes (oldest dropped first).
    static let maximumPending = 4096

    private struct State {
        var reported: [String: Reading] = [:]
        var finals: [String: Reading] = [:]
    }

    private let state = Mutex(State())
    let watcher: UnitEndWatcher?

    init(watcher: UnitEndWatcher?) {
        self.watcher = watcher
    }

    /// The readings to export once more: units reported last time or seen by the watcher, absent from
    /// `current`. They are forgotten once returned.
    func ended(current: [ComputeUnit]) -> [Reading] {
        let present = Set(current.map(\.path))
        return state.withLock { state in
            var result: [Reading] = []
            for (path, reported) in state.reported where !present.contains(path) {
                result.append(Self.merge(reported: reported, final: state.finals.removeValue(forKey: path)))
            }
            for (path, final) in state.finals where !present.contains(path) && state.reported[path] == nil {
                result.append(final)
                state.finals[path] = nil
            }
            state.reported = [:]
            return result.sorted { CgroupDiscovery.walkOrder($0.unit.path, $1.unit.path) }
        }
    }

    /// Remembers what this scrape exported, and makes sure the watcher watches those units.
    func remember(_ readings: [Reading]) {
        state.withLock { state in
            for reading in readings { state.reported[reading.unit.path] = reading }
        }
        watcher?.watch(readings.map(\.unit))
    }

    /// A final reading taken by the watcher (the newest wins).
    func recordFinal(_ reading: Reading) {
        state.withLock { state in
            if let known = state.finals[reading.unit.path], known.at > reading.at { return }
            state.finals[reading.unit.path] = reading
            if state.finals.count > Self.maximumPending,
                let oldest = state.finals.min(by: { $0.value.at < $1.value.at })?.key
            {
                state.finals[oldest] = nil
            }
        }
    }

    /// The counters of the newer reading; instantaneous gauges of the scraped one.
    static func merge(reported: Reading, final: Reading?) -> Reading {
        guard let final, final.at > reported.at, !final.stats.vanished else { return reported }
        var merged = reported
        merged.at = final.at
        merged.stats.cpuUser = final.stats.cpuUser ?? reported.stats.cpuUser
        merged.stats.cpuSystem = final.stats.cpuSystem ?? reported.stats.cpuSystem
        merged.stats.cpuPSI = final.stats.cpuPSI ?? reported.stats.cpuPSI
        merged.stats.memoryPSI = final.stats.memoryPSI ?? reported.stats.memoryPSI
        merged.stats.memoryFailCount = final.stats.memoryFailCount ?? reported.stats.memoryFailCount
        if !final.stats.blockIO.isEmpty { merged.stats.blockIO = final.stats.blockIO }
        return merged
    }

    func stop() {
        watcher?.stop()
    }
}

/// Watches the cgroup v2 tree of one resource manager with inotify, on its own thread: new directories below
/// the roots (new units and their steps), and each unit directory's `cgroup.events`. When a unit or one of
/// its sub-cgroups has no process left (`populated 0`), the unit's stats are read at once, before the cgroup
/// is removed, and handed to ``EndedUnits``.
final class UnitEndWatcher: Sendable {
    private enum Watched: Sendable {
        /// A directory between the roots and the units (watched for new directories only).
        case directory(String)
        /// A unit's directory or one below it (watched for new directories).
        case unit(ComputeUnit, directory: String)
        /// The `cgroup.events` file of such a directory. The file itself is watched: kernfs reports its changes
        /// to a directory watch only while the file's inode happens to be cached.
        case events(ComputeUnit, directory: String)
    }

    private struct State {
        var watches: [Int32: Watched] = [:]
        var watchedPaths: Set<String> = []
        var stopped = false
        var warned = false
    }

    /// inotify watches are counted per user, root's shared with systemd and every other daemon: the watcher
    /// takes a quarter of the limit at most (16384 at most), about 14 per SLURM job.
    let maximumWatches: Int

    let discovery: CgroupDiscovery
    let reader: UnitStatsReader
    private let inotify: Inotify
    private let state = Mutex(State())
    private let sink: Mutex<EndedUnits?> = Mutex(nil)
    private let logger: Logger

    init(discovery: CgroupDiscovery, reader: UnitStatsReader, logger: Logger) throws {
        self.discovery = discovery
        self.reader = reader
        self.logger = logger
        self.inotify = try Inotify()
        let limit =
            (try? SystemFile.readString("/proc/sys/fs/inotify/max_user_watches", limit: 64))
            .flatMap { Int($0.trimmingSpaces()) } ?? 8192
        self.maximumWatches = max(64, min(16384, limit / 4))
    }

    private func warnOnce(_ message: String, _ path: String, _ error: (any Error)?) {
        guard
            state.withLock({ state in
                defer { state.warned = true }; return !state.warned
            })
        else { return }
        logger.warning(
            "\(message)",
            metadata: ["path": "\(path)", "err": "\(error.map { "\($0)" } ?? "-")", "maximum": "\(maximumWatches)"])
    }

    /// Starts the watching thread, delivering final readings to `endedUnits`.
    func start(delivering endedUnits: EndedUnits) {
        sink.withLock { $0 = endedUnits }
        for root in discovery.matcher.roots(layout: discovery.layout) { watchTree(root) }
        if !BackgroundThread.start({ [self] in self.run() }) {
            logger.warning("Cannot start the cgroup watcher thread: ended units keep their last scraped values")
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }

    /// Makes sure the units (found by a scrape) and the roots are watched; new roots appear with the first job.
    func watch(_ units: [ComputeUnit]) {
        for root in discovery.matcher.roots(layout: discovery.layout)
        where !state.withLock({ $0.watchedPaths.contains(root) }) {
            watchTree(root)
        }
        for unit in units {
            let directory = discovery.layout.root + unit.path
            if !state.withLock({ $0.watchedPaths.contains(directory) }) { watchTree(directory, unit: unit) }
        }
    }

    private func run() {
        var buffer: [UInt8] = []
        while !state.withLock({ $0.stopped }) {
            for event in inotify.read(timeoutMilliseconds: 1000) { handle(event, buffer: &buffer) }
        }
        inotify.close()
        sink.withLock { $0 = nil }
    }

    private func handle(_ event: InotifyEvent, buffer: inout [UInt8]) {
        if event.isOverflow {
            logger.warning("cgroup watcher: inotify queue overflow, some final readings may be missed")
            return
        }
        guard let watched = state.withLock({ $0.watches[event.watch] }) else { return }
        if event.isWatchRemoved {
            state.withLock { state in
                state.watches[event.watch] = nil
                switch watched {
                case .directory(let path): state.watchedPaths.remove(path)
                case .unit(_, let directory): state.watchedPaths.remove(directory)
                case .events: break
                }
            }
            return
        }
        switch watched {
        case .directory(let parent):
            if event.isDirectoryCreated { watchTree(parent + "/" + event.name) }
        case .unit(let unit, let directory):
            if event.isDirectoryCreated { watchTree(directory + "/" + event.name, unit: unit) }
        case .events(let unit, let directory):
            if event.isModified {
                guard let count = try? SystemFile.read(directory + "/cgroup.events", into: &buffer),
                    CgroupFiles.populated(buffer[..<count]) == false
                else { return }
                let stats = reader.read(unit.path, buffer: &buffer)
                guard !stats.vanished else { return }
                logger.debug(
                    "Final reading of a unit", metadata: ["path": "\(unit.path)", "emptied": "\(directory)"])
                let reading = EndedUnits.Reading(unit: unit, stats: stats, gpuRows: [], at: .now, scraped: false)
                sink.withLock { $0?.recordFinal(reading) }
            }
        }
    }

    /// Watches `path` and the directories below it: inside a unit for new sub-cgroups and `cgroup.events`,
    /// above units for new directories.
    private func watchTree(_ path: String, unit: ComputeUnit? = nil) {
        var owner = unit
        if owner == nil, let match = discovery.matcher.match(CgroupPathEscaping.unescape(path)) {
            guard !match.isChild else { return }
            owner = ComputeUnit(
                uuid: match.id, id: match.id, cgroupHostname: match.host,
                path: String(path.dropFirst(discovery.layout.root.count)), directories: [path])
        }
        let admitted = state.withLock { state -> Bool? in
            if state.watchedPaths.contains(path) { return nil }
            return state.watches.count + 2 <= maximumWatches
        }
        guard let admitted else { return }
        guard admitted else {
            warnOnce("cgroup watcher: watch budget used up; further units keep their last scraped values", path, nil)
            return
        }
        let watch: Int32
        do {
            watch = try inotify.add(path, mask: Inotify.createDirectory)
        } catch {
            if case .notFound = error { return }
            warnOnce("cgroup watcher cannot add a watch: some units keep their last scraped values", path, error)
            return
        }
        var eventsWatch: Int32?
        if owner != nil {
            do {
                eventsWatch = try inotify.add(path + "/cgroup.events", mask: Inotify.modify)
            } catch {
                if case .notFound = error {
                } else {
                    warnOnce(
                        "cgroup watcher cannot add a watch: some units keep their last scraped values", path, error)
                }
            }
        }
        state.withLock { state in
            state.watches[watch] = owner.map { .unit($0, directory: path) } ?? .directory(path)
            if let eventsWatch, let owner { state.watches[eventsWatch] = .events(owner, directory: path) }
            state.watchedPaths.insert(path)
        }
        guard let entries = try? Directory.unsortedEntries(path) else { return }
        for entry in entries where entry.kind == .directory {
            watchTree(path + "/" + entry.name, unit: owner)
        }
    }
}
