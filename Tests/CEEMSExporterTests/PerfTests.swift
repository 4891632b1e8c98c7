import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import CEEMSExporter

#if canImport(Glibc)
import Glibc
#endif

/// Counts log messages by text.
final class CountingLogHandler: LogHandler, @unchecked Sendable {
    static let counts = Mutex<[String: Int]>([:])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        Self.counts.withLock { $0["\(event.message)", default: 0] += 1 }
    }
}

/// The perf sub-collector on a real SLURM-shaped v1 job: two busy processes sharing one CPU.
@Suite(.serialized) struct PerfTests {
    static var usable: Bool {
        RealCgroupTests.v1Writable && access(RealCgroupTests.v1Root + "/cpuset/cgroup.procs", W_OK) == 0
            && (try? SystemFile.readString("/proc/sys/kernel/perf_event_paranoid")).flatMap { Int($0.trimmingSpaces()) }
                .map { $0 <= 2 } == true
    }

    @Test(.enabled(if: usable, "needs root, writable cgroup v1 cpuacct/memory/cpuset and perf_event_paranoid ≤ 2"))
    func softwareCountersGrowAndMissingHardwareEventsAreQuiet() async throws {
        let id = String(860_000 + Int(getpid() % 10_000))
        let root = RealCgroupTests.v1Root
        var created: [String] = []
        for controller in ["cpuacct", "memory", "cpuset"] {
            var current = root + "/" + controller
            for part in ["slurm", "uid_0", "job_\(id)", "step_0"] {
                let parent = current
                current += "/" + part
                if mkdir(current, 0o755) == 0 {
                    created.append(current)
                    if controller == "cpuset" {
                        // A new cpuset has no CPU or memory node until given its parent's.
                        try SystemFile.readString(parent + "/cpuset.mems").write(toFile: current + "/cpuset.mems", atomically: false, encoding: .utf8)
                        try "0".write(toFile: current + "/cpuset.cpus", atomically: false, encoding: .utf8)
                    }
                }
            }
        }
        defer { RealCgroupTests.removeCgroups(created) }
        let directories = ["cpuacct", "memory", "cpuset"].map { "\(root)/\($0)/slurm/uid_0/job_\(id)/step_0" }
        // A CPU-bound process and one that sleeps 2 ms at a time (its context switches do not depend on how busy
        // the machine is), both on one CPU.
        let first = try RealCgroupTests.BusyProcess(joining: directories)
        defer { first.stop() }
        let second = try RealCgroupTests.BusyProcess(
            joining: directories, script: "exec python3 -c 'import time\nwhile True: time.sleep(0.002)'")
        defer { second.stop() }
        try await first.waitUntilIn(directories[0])
        try await second.waitUntilIn(directories[0])
        try await Task.sleep(for: .milliseconds(300))
        #expect(kill(second.pid, 0) == 0, "the sleeping process must be running")

        let logger = Logger(label: "perf-test") { _ in CountingLogHandler() }
        let collectors = try await RealCgroupTests.slurmCollectors(root: root, version: "v1", logger: logger) {
            $0.perf.softwareEvents = true
            $0.perf.hardwareEvents = true
            $0.perf.cacheEvents = true
        }
        defer { Task { for collector in collectors { await collector.shutdown() } } }

        let before = await scrape(collectors)
        try await Task.sleep(for: .seconds(2))
        let after = await scrape(collectors)
        try await Task.sleep(for: .seconds(1))
        _ = await scrape(collectors)
        func value(_ text: String, _ family: String) -> Double? { RealCgroupTests.value(text, family, uuid: id) }
        let switches = try #require(value(after, "ceems_perf_context_switches_total"), "\(after)")
        #expect(switches > (value(before, "ceems_perf_context_switches_total") ?? 0) + 10)
        #expect(after.contains("# HELP ceems_perf_context_switches_total Number of context switches"))
        #expect(after.contains(#"ceems_perf_context_switches_total{hostname="node-1",manager="slurm",uuid="\#(id)"}"#))
        #expect(after.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
        // Hardware and cache events this VM does not offer: no series, and one log line each at most.
        let counts = CountingLogHandler.counts.withLock { $0 }
        #expect((counts["perf event not supported here; skipped"] ?? 0) <= PerfSubCollector.hardware.count + PerfSubCollector.caches.count)
        if counts["perf event not supported here; skipped", default: 0] > 0 {
            #expect(!after.contains("ceems_perf_cpucycles_total{") || value(after, "ceems_perf_cpucycles_total")! > 0)
        }
        // Counters of processes gone are closed: after the processes end, the unit has no perf series.
        first.stop()
        second.stop()
        try await Task.sleep(for: .milliseconds(200))
        let gone = await scrape(collectors)
        #expect(value(gone, "ceems_perf_context_switches_total") == nil)
    }

    @Test func profilerSelectionAndParanoia() throws {
        var options = ExporterConfiguration.PerfOptions()
        options.softwareEvents = true
        options.softwareProfilers = ["ContextSwitch", "PageFault"]
        let tree = try FixtureTree()
        try tree.file("proc/sys/kernel/perf_event_paranoid", "2\n")
        let fs = LinuxFS(procfs: tree.path("proc"), sysfs: tree.path("sys"), cgroupfs: tree.path("cgroup"))
        let collector = try PerfSubCollector(options: options, manager: .slurm, hostname: "n", fs: fs, logger: quietLogger)
        #expect(collector.events.map(\.profiler) == ["ContextSwitch", "PageFault"])
        options.softwareProfilers = ["Nonsense"]
        #expect(throws: PerfSubCollector.SetupError.self) {
            try PerfSubCollector(options: options, manager: .slurm, hostname: "n", fs: fs, logger: quietLogger)
        }
        options.softwareProfilers = []
        try tree.file("proc/sys/kernel/perf_event_paranoid", "3\n")
        #expect(throws: PerfSubCollector.SetupError.self) {
            try PerfSubCollector(options: options, manager: .slurm, hostname: "n", fs: fs, logger: quietLogger)
        }
        #expect(PerfSubCollector.isSlurmHelper(Array("slurmstepd: [1.0]\0".utf8)[...]))
        #expect(PerfSubCollector.isSlurmHelper(Array("/bin/bash\0/var/spool/slurm_script\0".utf8)[...]))
        #expect(!PerfSubCollector.isSlurmHelper(Array("python\0train.py\0".utf8)[...]))
    }
}
