import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How a resource-manager collector maps its units to GPUs.
enum GPUMapping: Sendable {
    case none
    case slurm(SlurmGPUMapper)
    case libvirt([GPUDevice])
    case kubernetes(KubernetesGPUMapper)
}

/// Settings of one resource-manager collector.
struct ComputeUnitSettings: Sendable {
    var manager: ResourceManager
    var statsOptions: UnitStatsOptions
    var hostname: String
    /// SLURM: units with no live process are stale (their cgroup outlived the job) and dropped.
    var dropUnitsWithoutProcesses = false
    /// libvirt: where the domain XML files are.
    var libvirtXMLDirectory = "/etc/libvirt/qemu"
    /// SLURM: a command printing the numeric job id of a SLUID (`<command> <sluid>`), tried when the job's
    /// processes do not tell it.
    var jobIDResolver: [String] = []
    var gpuSMCountMetrics = false
    /// Export a unit once more after it ends, with its final counters (see ``EndedUnits``).
    var reportEndedUnits = true
}

/// The `slurm`, `libvirt` and `k8s` collectors: discover units in the cgroup tree, read their stats
/// concurrently, export their metrics and their GPUs, and run the sub-collectors on them.
final class ComputeUnitCollector: Collector {
    var name: String { settings.manager.rawValue }

    let settings: ComputeUnitSettings
    let discovery: CgroupDiscovery
    let reader: UnitStatsReader
    let gpu: GPUSource
    let subCollectors: [any UnitSubCollector]
    private let domains: LibvirtDomainCache?
    private let warnings = WarnOnce()
    private let resolvedJobIDs = Mutex<[String: String]>([:])
    private let workers: Int
    let endedUnits: EndedUnits?

    init(
        settings: ComputeUnitSettings, discovery: CgroupDiscovery, reader: UnitStatsReader, gpu: GPUSource,
        subCollectors: [any UnitSubCollector] = [], logger: Logger = Logger(label: "ceems_exporter")
    ) {
        self.settings = settings
        self.discovery = discovery
        self.reader = reader
        self.gpu = gpu
        self.subCollectors = subCollectors
        self.domains =
            settings.manager == .libvirt ? LibvirtDomainCache(directory: settings.libvirtXMLDirectory) : nil
        self.workers = max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8))
        if settings.reportEndedUnits {
            var watcher: UnitEndWatcher?
            if discovery.layout.version == .v2 {
                do {
                    watcher = try UnitEndWatcher(discovery: discovery, reader: reader, logger: logger)
                } catch {
                    logger.warning(
                        "No inotify: ended units keep their last scraped values",
                        metadata: ["collector": "\(settings.manager.rawValue)", "err": "\(error)"])
                }
            }
            self.endedUnits = EndedUnits(watcher: watcher)
        } else {
            self.endedUnits = nil
        }
    }

    /// The current units with their final `uuid` (libvirt domain UUID, resolved SLUID job ids), without the
    /// stale ones (for `/alloy-targets`; a scrape gets the same from the stats it reads).
    func currentUnits(logger: Logger) async -> [ComputeUnit] {
        var units = discovery.units(withChildren: false)
        if settings.dropUnitsWithoutProcesses {
            units = dropStale(units, logger: logger)
        }
        return await identify(units, logger: logger)
    }

    /// Gives units their `uuid`: the libvirt domain UUID, the job id of a SLUID-named SLURM cgroup.
    private func identify(_ units: [ComputeUnit], logger: Logger) async -> [ComputeUnit] {
        var units = units
        if settings.manager == .libvirt, let domains {
            // Domain XML files are root-only: read as a privileged action.
            let ids = units.map(\.id)
            let known = Privileges.perform([.dacReadSearch]) { domains.domains(for: ids) }
            for position in units.indices {
                // A VM without domain XML keeps its instance name as uuid.
                units[position].uuid = known[units[position].id]?.uuid ?? units[position].id
            }
        }
        if settings.manager == .slurm {
            units = await resolveSLUIDs(units, logger: logger)
        }
        return units
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        let manager = settings.manager.rawValue
        let hostname = settings.hostname

        // Stats of all units, read concurrently in as many slices as CPUs; with them (v2) whether each unit
        // still has processes, so that stale cgroups cost no extra read.
        var units = discovery.units(withChildren: false)
        var results = await readStats(units)
        reader.limits.prune(keeping: Set(units.map(\.path)))
        if settings.dropUnitsWithoutProcesses {
            let keep = liveUnits(units, populated: results.map(\.populated), logger: context.logger)
            units = keep.map { units[$0] }
            results = keep.map { results[$0] }
        }
        let statsByPath = Dictionary(zip(units.map(\.path), results), uniquingKeysWith: { first, _ in first })
        units = await identify(units, logger: context.logger)

        var failed: [String] = []
        var exported: [ComputeUnit] = []
        var exportedStats: [UnitStats] = []
        for unit in units {
            guard let stats = statsByPath[unit.path], !stats.vanished else { continue }
            let labels = [manager, hostname, unit.cgroupHostname, unit.uuid]
            if !stats.failedFiles.isEmpty {
                sink.add(UnitMetrics.collectError, 1, labels)
                failed.append("\(unit.uuid): \(stats.failedFiles.joined(separator: ","))")
            }
            UnitMetrics.add(stats, labels: labels, options: settings.statsOptions, to: &sink)
            exported.append(unit)
            exportedStats.append(stats)
        }
        sink.add(UnitMetrics.units, Double(exported.count), [manager, hostname])

        var gpuProblem: GPUInventoryLoader.Unavailable?
        var gpuRows: [String: [GPUAssignment]] = [:]
        do {
            gpuRows = await gpuAssignments(try gpu.current(), exported, logger: context.logger)
        } catch {
            gpuProblem = error
        }
        for unit in exported { addGPURows(gpuRows[unit.uuid] ?? [], of: unit, to: &sink) }

        if let endedUnits {
            await reportEnded(endedUnits, exported: exported, into: &sink, logger: context.logger)
            let now = ContinuousClock.now
            endedUnits.remember(
                zip(exported, exportedStats).map { unit, stats in
                    EndedUnits.Reading(
                        unit: unit, stats: stats, gpuRows: gpuRows[unit.uuid] ?? [], at: now, scraped: true)
                })
        }

        if !subCollectors.isEmpty {
            let exported = exported
            await withTaskGroup(of: (String, MetricSink, Duration, (any Error)?).self) { group in
                for subCollector in subCollectors {
                    group.addTask {
                        let start = ContinuousClock.now
                        var subSink = MetricSink()
                        do {
                            try await subCollector.collect(units: exported, collector: self, into: &subSink)
                            return (subCollector.name, subSink, .now - start, nil)
                        } catch {
                            return (subCollector.name, subSink, .now - start, error)
                        }
                    }
                }
                for await (name, subSink, duration, error) in group {
                    sink.merge(subSink)
                    sink.add(ScrapeMetrics.duration, duration.inSeconds, [manager, name])
                    if let error {
                        context.logger.error(
                            "Sub-collector failed",
                            metadata: ["collector": "\(manager)", "sub": "\(name)", "err": "\(error)"])
                    }
                }
            }
        }
        if !failed.isEmpty {
            throw UnitCollectionError.unreadableStats(failed)
        }
        if let gpuProblem {
            throw UnitCollectionError.gpusUnavailable(gpuProblem.description)
        }
    }

    enum UnitCollectionError: Error, CustomStringConvertible {
        case unreadableStats([String])
        case gpusUnavailable(String)

        var description: String {
            switch self {
            case .unreadableStats(let units): "unreadable cgroup files: \(units.joined(separator: "; "))"
            case .gpusUnavailable(let reason): "units exported without GPUs: \(reason)"
            }
        }
    }

    private func readStats(_ units: [ComputeUnit]) async -> [UnitStats] {
        guard units.count > 1 else {
            var buffer: [UInt8] = []
            return units.map { self.reader.read($0.path, buffer: &buffer) }
        }
        let reader = self.reader
        let slices = min(workers, units.count)
        return await withTaskGroup(of: (Int, [UnitStats]).self) { group in
            for slice in 0..<slices {
                let range = stride(from: slice, to: units.count, by: slices).map { $0 }
                let paths = range.map { units[$0].path }
                group.addTask {
                    var buffer: [UInt8] = []
                    return (slice, paths.map { reader.read($0, buffer: &buffer) })
                }
            }
            var results = [UnitStats](repeating: UnitStats(), count: units.count)
            for await (slice, stats) in group {
                for (offset, value) in stats.enumerated() { results[slice + offset * slices] = value }
            }
            return results
        }
    }

    /// The live processes of a unit (its whole subtree).
    func processes(of unit: ComputeUnit, buffer: inout [UInt8]) -> [Int32] {
        discovery.processes(of: discovery.withSubtree(unit), buffer: &buffer)
    }

    private func dropStale(_ units: [ComputeUnit], logger: Logger) -> [ComputeUnit] {
        var buffer: [UInt8] = []
        let populated = units.map { unit -> Bool? in
            guard discovery.layout.version == .v2,
                let count = try? SystemFile.read(unit.directories[0] + "/cgroup.events", into: &buffer)
            else { return nil }
            return CgroupFiles.populated(buffer[..<count])
        }
        return liveUnits(units, populated: populated, logger: logger).map { units[$0] }
    }

    /// The positions of the units with live processes. cgroup v2 says whether anything lives below
    /// (`populated`); v1, and recorded trees without `cgroup.events` or with a partial procfs, need the
    /// processes themselves.
    private func liveUnits(_ units: [ComputeUnit], populated: [Bool?], logger: Logger) -> [Int] {
        var buffer: [UInt8] = []
        let partialProcfs = !Directory.exists(discovery.procfs + "/1")
        return units.indices.filter { position in
            let unit = units[position]
            var alive: Bool
            if let known = populated[position] {
                alive = known && (!partialProcfs || !processes(of: unit, buffer: &buffer).isEmpty)
            } else {
                alive = !processes(of: unit, buffer: &buffer).isEmpty
            }
            if !alive {
                warnings.warn(
                    "stale:\(unit.id)", "Ignoring a SLURM job cgroup without processes",
                    metadata: ["id": "\(unit.id)", "path": "\(unit.path)"], logger: logger)
            }
            return alive
        }
    }

    /// SLUID-named job cgroups get their numeric job id from their processes' `SLURM_JOB_ID`, else from the
    /// configured resolver command; unresolved ones are skipped until they can be.
    private func resolveSLUIDs(_ units: [ComputeUnit], logger: Logger) async -> [ComputeUnit] {
        guard units.contains(where: { $0.id.hasPrefix(SlurmMatcher.sluidPrefix) }) else { return units }
        var result: [ComputeUnit] = []
        // SLURM_JOB_ID of the unresolved units' processes (their users' environments: a privileged action).
        let fromEnvironment: [String: String] = Privileges.perform([.sysPtrace, .dacReadSearch]) {
            var found: [String: String] = [:]
            var buffer: [UInt8] = []
            for unit in units where unit.id.hasPrefix(SlurmMatcher.sluidPrefix) {
                let sluid = String(unit.id.dropFirst(SlurmMatcher.sluidPrefix.count))
                guard resolvedJobIDs.withLock({ $0[sluid] }) == nil else { continue }
                for pid in processes(of: unit, buffer: &buffer) {
                    guard let count = try? SystemFile.read(discovery.procfs + "/\(pid)/environ", into: &buffer),
                        let jobID = ProcessEnvironment.value(of: "SLURM_JOB_ID", in: buffer[..<count])
                    else { continue }
                    found[sluid] = jobID
                    break
                }
            }
            return found
        }
        for var unit in units {
            guard unit.id.hasPrefix(SlurmMatcher.sluidPrefix) else {
                result.append(unit)
                continue
            }
            let sluid = String(unit.id.dropFirst(SlurmMatcher.sluidPrefix.count))
            var jobID = resolvedJobIDs.withLock { $0[sluid] } ?? fromEnvironment[sluid]
            if jobID == nil, let command = settings.jobIDResolver.first {
                let arguments = Array(settings.jobIDResolver.dropFirst()) + [sluid]
                if let output = try? await CommandRunner().run(command, arguments: arguments, timeout: .seconds(5)) {
                    let text = output.text.trimmingSpaces()
                    if !text.isEmpty, text.allSatisfy(\.isNumber) { jobID = text }
                }
            }
            guard let jobID else {
                logger.debug("SLUID job cgroup not resolved to a job id yet", metadata: ["sluid": "\(sluid)"])
                continue
            }
            resolvedJobIDs.withLock { $0[sluid] = jobID }
            unit.uuid = jobID
            unit.id = sluid
            result.append(unit)
        }
        let current = Set(result.map(\.id))
        resolvedJobIDs.withLock { cache in cache = cache.filter { current.contains($0.key) } }
        return result
    }

    /// The GPU rows of the units, by uuid.
    private func gpuAssignments(
        _ mapping: GPUMapping, _ units: [ComputeUnit], logger: Logger
    ) async -> [String: [GPUAssignment]] {
        switch mapping {
        case .none:
            return [:]
        case .slurm(let mapper):
            let lookups = Set(mapper.jobsToLookUp(units.map(\.uuid)))
            // Jobs' environments belong to their users: a privileged action.
            let found: [String: SlurmJobEnvironment] = Privileges.perform([.sysPtrace, .dacReadSearch]) {
                var found: [String: SlurmJobEnvironment] = [:]
                var buffer: [UInt8] = []
                for unit in units where lookups.contains(unit.uuid) {
                    var environment = SlurmJobEnvironment()
                    for pid in processes(of: unit, buffer: &buffer) {
                        guard let count = try? SystemFile.read(discovery.procfs + "/\(pid)/environ", into: &buffer),
                            let parsed = SlurmJobEnvironment.parse(buffer[..<count], requireJobID: unit.uuid)
                        else { continue }
                        if !parsed.ordinals.isEmpty {
                            environment = parsed
                            break
                        }
                    }
                    found[unit.uuid] = environment
                }
                return found
            }
            return mapper.update(current: units.map(\.uuid), found: found)
        case .libvirt(let devices):
            guard let domains else { return [:] }
            // Domain XML files are root-only: read as a privileged action.
            let ids = units.map(\.id)
            let known = Privileges.perform([.dacReadSearch]) { domains.domains(for: ids) }
            var rows: [String: [GPUAssignment]] = [:]
            for unit in units {
                if let domain = known[unit.id] { rows[unit.uuid] = domain.assignments(devices: devices) }
            }
            return rows
        case .kubernetes(let mapper):
            return await mapper.assignments(for: units.map(\.uuid), logger: logger)
        }
    }

    private func addGPURows(_ rows: [GPUAssignment], of unit: ComputeUnit, to sink: inout MetricSink) {
        let flag = UnitMetrics.gpuFlag[settings.manager]!
        for row in rows {
            let labels = [
                settings.manager.rawValue, settings.hostname, unit.cgroupHostname, unit.uuid, row.index,
                "\(settings.hostname)/gpu-\(row.index)", row.gpuUUID, row.instanceID,
            ]
            sink.add(flag, row.value, labels)
            if settings.gpuSMCountMetrics, let sm = row.smCount, sm > 0 {
                sink.add(UnitMetrics.gpuSMCount, Double(sm), labels)
            }
        }
    }

    /// Exports the units that ended since the last scrape once more (not counted in `ceems_compute_units`).
    private func reportEnded(
        _ endedUnits: EndedUnits, exported: [ComputeUnit], into sink: inout MetricSink, logger: Logger
    ) async {
        var readings = endedUnits.ended(current: exported)
        guard !readings.isEmpty else { return }
        let unidentified = readings.indices.filter { !readings[$0].scraped }
        if !unidentified.isEmpty {
            let identified = await identify(unidentified.map { readings[$0].unit }, logger: logger)
            let byPath = Dictionary(identified.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
            for position in unidentified {
                if let unit = byPath[readings[position].unit.path] {
                    readings[position].unit = unit
                } else {
                    readings[position].unit.uuid = ""
                }
            }
        }
        let live = Set(exported.map { [$0.cgroupHostname, $0.uuid] })
        for reading in readings where !reading.unit.uuid.isEmpty {
            let unit = reading.unit
            // A new unit with the same id (a requeued job) is already exported: never a duplicate series.
            guard !live.contains([unit.cgroupHostname, unit.uuid]) else { continue }
            logger.debug(
                "Reporting an ended unit once more", metadata: ["uuid": "\(unit.uuid)", "path": "\(unit.path)"])
            let labels = [settings.manager.rawValue, settings.hostname, unit.cgroupHostname, unit.uuid]
            UnitMetrics.add(reading.stats, labels: labels, options: settings.statsOptions, to: &sink)
            addGPURows(reading.gpuRows, of: unit, to: &sink)
        }
    }
}

/// A sub-collector run by a resource-manager collector on its units (RDMA; perf and eBPF come later).
protocol UnitSubCollector: Sendable {
    var name: String { get }
    /// Start-up work (for example turning hardware counters on).
    func start() async
    func collect(units: [ComputeUnit], collector: ComputeUnitCollector, into sink: inout MetricSink) async throws
    /// Releases what `start` acquired.
    func shutdown() async
}

extension UnitSubCollector {
    func start() async {}
    func shutdown() async {}
}

extension ComputeUnitCollector {
    func start() async {
        if let endedUnits { endedUnits.watcher?.start(delivering: endedUnits) }
        for subCollector in subCollectors { await subCollector.start() }
    }

    func shutdown() async {
        endedUnits?.stop()
        for subCollector in subCollectors { await subCollector.shutdown() }
        if case .kubernetes(let mapper) = gpu.existing { await mapper.sources.shutdown() }
    }
}
