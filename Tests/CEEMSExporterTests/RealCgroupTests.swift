import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Logging
import Testing

@testable import CEEMSExporter

#if canImport(Glibc)
import Glibc
#endif

/// A SLURM-shaped job on this machine's real cgroups: a busy process in a job cgroup, scraped twice two
/// seconds apart; the cgroups are removed after.
@Suite(.serialized) struct RealCgroupTests {
    static let v1Root = "/sys/fs/cgroup"
    static let v2Root = "/sys/fs/cgroup/unified"

    static var v1Writable: Bool {
        geteuid() == 0 && access(v1Root + "/cpuacct/cgroup.procs", W_OK) == 0
            && access(v1Root + "/memory/cgroup.procs", W_OK) == 0
    }
    static var v2Writable: Bool { geteuid() == 0 && access(v2Root + "/cgroup.procs", W_OK) == 0 }

    /// A shell that moves itself into `cgroups` and then spins until killed.
    struct BusyProcess {
        let pid: pid_t

        init(joining cgroups: [String], seconds: Int? = nil) throws {
            let busy = seconds.map { "exec timeout \($0) sh -c 'while :; do :; done'" } ?? "while :; do :; done"
            // The memory grows a little so that the memory controller has something to count.
            try self.init(joining: cgroups, script: "x=$(head -c 2000000 /dev/zero | tr '\\0' a) && \(busy)")
        }

        /// A shell that moves itself into `cgroups` and then runs `script`.
        init(joining cgroups: [String], script body: String) throws {
            let joins = cgroups.map { "echo $$ > '\($0)/cgroup.procs'" }.joined(separator: " && ")
            let script = joins.isEmpty ? body : "\(joins) && \(body)"
            var pid: pid_t = 0
            let arguments = ["/bin/sh", "-c", script]
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            // The child starts with no blocked signal and default handlers, whatever the test runner's threads have
            // (`timeout` needs SIGALRM, and SIGTERM must stop its child).
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var empty = sigset_t()
            sigemptyset(&empty)
            var all = sigset_t()
            sigfillset(&all)
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setsigdefault(&attributes, &all)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            guard posix_spawn(&pid, "/bin/sh", nil, &attributes, &argv, environ) == 0 else {
                throw FixtureTree.Failure("posix_spawn")
            }
            self.pid = pid
        }

        func waitUntilIn(_ cgroup: String) async throws {
            for _ in 0..<100 {
                if let text = try? SystemFile.readString(cgroup + "/cgroup.procs"), text.contains("\(pid)") { return }
                try await Task.sleep(for: .milliseconds(20))
            }
            throw FixtureTree.Failure("process \(pid) never joined \(cgroup)")
        }

        /// Kills the process and reaps it (it ends at once: the wait is short).
        func stop() {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }

        /// Waits for the process to end without blocking a thread of the shared pool.
        func wait() async {
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    static func makeDirectories(_ path: String) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            mkdir(current, 0o755)
        }
    }

    /// Removes cgroup directories deepest first (a cgroup is removed with rmdir once empty).
    static func removeCgroups(_ paths: [String]) {
        for path in paths.sorted(by: { $0.count > $1.count }) { rmdir(path) }
    }

    /// The slurm collector on a real hierarchy, started (its watcher running).
    static func slurmCollectors(
        root: String, version: String, logger: Logger = quietLogger,
        configure: (inout ExporterConfiguration) -> Void = { _ in }
    ) async throws -> [ComputeUnitCollector] {
        var configuration = ExporterConfiguration()
        configuration.fs = LinuxFS(cgroupfs: root)
        configuration.hostname = "node-1"
        configuration.cgroups.forceVersion = version
        configuration.gpu.type = "nogpu"
        configure(&configuration)
        let collectors = try await ComputeUnitCollectors.make(
            configuration: configuration, managers: [.slurm], logger: logger)
        for collector in collectors { await collector.start() }
        return collectors
    }

    /// Two scrapes two seconds apart, and the CPU user seconds of `uuid` in each.
    static func scrapeTwice(
        _ collectors: [ComputeUnitCollector], uuid: String
    ) async throws -> (second: String, before: Double, after: Double) {
        let family = "ceems_compute_unit_cpu_user_seconds_total"
        let first = await scrape(collectors)
        try await Task.sleep(for: .seconds(2))
        let second = await scrape(collectors)
        let before = try #require(value(first, family, uuid: uuid))
        let after = try #require(value(second, family, uuid: uuid))
        return (second, before, after)
    }

    static func value(_ text: String, _ family: String, uuid: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(family + "{") && line.contains("uuid=\"\(uuid)\"")
        {
            return Double(line.split(separator: " ").last ?? "")
        }
        return nil
    }

    @Test(.enabled(if: v1Writable, "needs root and writable cgroup v1 cpuacct and memory"))
    func cgroupV1JobShowsGrowingCPUAndItsMemory() async throws {
        let id = String(880_000 + Int(getpid() % 10_000))
        let cpuacct = Self.v1Root + "/cpuacct/slurm/uid_0/job_\(id)"
        let memory = Self.v1Root + "/memory/slurm/uid_0/job_\(id)"
        Self.makeDirectories(cpuacct + "/step_0")
        Self.makeDirectories(memory + "/step_0")
        defer {
            Self.removeCgroups([
                cpuacct + "/step_0", cpuacct, Self.v1Root + "/cpuacct/slurm/uid_0", Self.v1Root + "/cpuacct/slurm",
                memory + "/step_0", memory, Self.v1Root + "/memory/slurm/uid_0", Self.v1Root + "/memory/slurm",
            ])
        }
        let process = try BusyProcess(joining: [cpuacct + "/step_0", memory + "/step_0"])
        defer { process.stop() }
        try await process.waitUntilIn(cpuacct + "/step_0")

        let collectors = try await Self.slurmCollectors(root: Self.v1Root, version: "v1")
        defer { Task { for collector in collectors { await collector.shutdown() } } }
        let (second, before, after) = try await Self.scrapeTwice(collectors, uuid: id)
        #expect(after - before > 0.1, "CPU seconds grew from \(before) to \(after)")
        let used = try #require(Self.value(second, "ceems_compute_unit_memory_used_bytes", uuid: id))
        #expect(used > 1_000_000)
        #expect(second.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
    }

    @Test(.enabled(if: v2Writable, "needs root and a writable cgroup v2 mount"))
    func cgroupV2JobShowsGrowingCPUWithoutAMemoryController() async throws {
        let id = String(890_000 + Int(getpid() % 10_000))
        let scope = Self.v2Root + "/system.slice/slurmstepd.scope"
        let job = scope + "/job_\(id)"
        let task = job + "/step_0/user/task_0"
        let createdSlice = access(Self.v2Root + "/system.slice", F_OK) != 0
        Self.makeDirectories(task)
        defer {
            var paths = [task, job + "/step_0/user", job + "/step_0", job, scope]
            if createdSlice { paths.append(Self.v2Root + "/system.slice") }
            Self.removeCgroups(paths)
        }
        let process = try BusyProcess(joining: [task])
        defer { process.stop() }
        try await process.waitUntilIn(task)

        let collectors = try await Self.slurmCollectors(root: Self.v2Root, version: "v2")
        defer { Task { for collector in collectors { await collector.shutdown() } } }
        let (second, before, after) = try await Self.scrapeTwice(collectors, uuid: id)
        #expect(after - before > 0.1, "CPU seconds grew from \(before) to \(after)")
        // The v2 mount here has no memory controller: no memory series, but the scrape is a success.
        #expect(Self.value(second, "ceems_compute_unit_memory_used_bytes", uuid: id) == nil)
        #expect(second.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
    }

    @Test(.enabled(if: v2Writable, "needs root and a writable cgroup v2 mount"))
    func jobsEndingBetweenScrapesAreReportedOnceWithFinalCounters() async throws {
        try await SharedScopeLock.v2.run { try await jobsEndingBetweenScrapes() }
    }

    func jobsEndingBetweenScrapes() async throws {
        let base = 870_000 + Int(getpid() % 10_000)
        let scope = Self.v2Root + "/system.slice/slurmstepd.scope"
        let createdSlice = access(Self.v2Root + "/system.slice", F_OK) != 0
        Self.makeDirectories(scope)
        let collectors = try await Self.slurmCollectors(root: Self.v2Root, version: "v2")
        defer {
            Task { for collector in collectors { await collector.shutdown() } }
            Self.removeCgroups(createdSlice ? [scope, Self.v2Root + "/system.slice"] : [scope])
        }
        let family = "ceems_compute_unit_cpu_user_seconds_total"

        // A job seen by one scrape, which then ends (its cgroup removed, as slurmstepd does).
        let longJob = String(base)
        let longTask = scope + "/job_\(longJob)/step_0"
        Self.makeDirectories(longTask)
        let long = try BusyProcess(joining: [longTask], seconds: 2)
        try await long.waitUntilIn(longTask)
        let seen = try #require(Self.value(await scrape(collectors), family, uuid: longJob))
        // A job that starts and ends between two scrapes.
        let shortJob = String(base + 1)
        let shortTask = scope + "/job_\(shortJob)/step_0"
        try await Task.sleep(for: .milliseconds(300))  // the watcher sees the new directory
        Self.makeDirectories(shortTask)
        let short = try BusyProcess(joining: [shortTask], seconds: 1)
        await short.wait()
        await long.wait()
        try await Task.sleep(for: .milliseconds(300))
        Self.removeCgroups([longTask, scope + "/job_\(longJob)", shortTask, scope + "/job_\(shortJob)"])

        let afterEnd = await scrape(collectors)
        let final = try #require(Self.value(afterEnd, family, uuid: longJob))
        #expect(final > seen + 0.1, "final \(final) after \(seen)")
        let shortSeconds = try #require(Self.value(afterEnd, family, uuid: shortJob))
        #expect(shortSeconds > 0.1)
        #expect(afterEnd.contains(#"ceems_compute_units{hostname="node-1",manager="slurm"} 0"#))
        // Once only.
        let later = await scrape(collectors)
        #expect(Self.value(later, family, uuid: longJob) == nil)
        #expect(Self.value(later, family, uuid: shortJob) == nil)
    }
}

/// Held by the tests whose assertions depend on which jobs exist in the real cgroup v2 `slurmstepd.scope` (counts of
/// current units), across suites that otherwise run in parallel.
actor SharedScopeLock {
    static let v2 = SharedScopeLock()
    private var held = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<Result: Sendable>(_ body: @Sendable () async throws -> Result) async rethrows -> Result {
        if held {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            held = true
        }
        defer {
            if waiting.isEmpty { held = false } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}
