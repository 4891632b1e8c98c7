import CEEMSLinux
import CEEMSMetrics
import CEEMSTestSupport
import Testing

@testable import CEEMSExporter

@Suite struct NodeCollectorsTests {
    @Test func nodeCollectorsMatchTheGoldenExposition() async throws {
        let tree = try NodeFixture.make()
        let fs = NodeFixture.fs(tree)
        let collectors: [any Collector] = [
            CPUCollector(fs: fs, hostname: "node-1", assumeFourPhysicalCores: false),
            MeminfoCollector(fs: fs, hostname: "node-1", allStats: false),
            RAPLCollector(fs: fs, hostname: "node-1", zoneLabel: false),
            HwmonCollector(fs: fs, hostname: "node-1"),
            try NetdevCollector(fs: fs, hostname: "node-1", include: nil, exclude: "^lo$"),
            InfinibandCollector(fs: fs),
            CrayPMCountersCollector(fs: fs, hostname: "node-1"),
        ]
        try Golden.check(await scrape(collectors, replacing: tree.root), name: "node-collectors.txt")
    }

    @Test func optionalLayoutsMatchTheGoldenExposition() async throws {
        let tree = try NodeFixture.make()
        let fs = NodeFixture.fs(tree)
        let collectors: [any Collector] = [
            MeminfoCollector(fs: fs, hostname: "", allStats: true),
            RAPLCollector(fs: fs, hostname: "", zoneLabel: true),
            try NetdevCollector(fs: fs, hostname: "", include: "^eth", exclude: nil),
        ]
        try Golden.check(await scrape(collectors, replacing: tree.root), name: "node-collectors-options.txt")
    }

    @Test func absentSourcesReportUnavailableWithoutFailingTheScrape() async throws {
        let empty = try FixtureTree()
        try empty.file("proc/stat", "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
        let fs = LinuxFS(procfs: empty.path("proc"), sysfs: empty.path("sys"))
        let text = await scrape([
            CPUCollector(fs: fs, hostname: "h", assumeFourPhysicalCores: false),
            RAPLCollector(fs: fs, hostname: "h", zoneLabel: false), HwmonCollector(fs: fs, hostname: "h"),
            InfinibandCollector(fs: fs), CrayPMCountersCollector(fs: fs, hostname: "h"),
            MeminfoCollector(fs: fs, hostname: "h", allStats: false),
        ])
        #expect(text.contains("ceems_scrape_collector_success{collector=\"cpu\"} 1"))
        for name in ["rapl", "hwmon", "infiniband", "cray_pm_counters", "meminfo"] {
            #expect(text.contains("ceems_scrape_collector_success{collector=\"\(name)\"} 0"), "\(name)")
        }
        #expect(text.contains("ceems_cpu_count{hostname=\"h\"} 1"))
    }

    @Test func cpuCountersNeverGoBackwardsUnlessIdleResets() throws {
        let tree = try FixtureTree()
        let collector = CPUCollector(
            fs: LinuxFS(procfs: tree.path("proc")), hostname: "", assumeFourPhysicalCores: true)
        var times = CPUTimes()
        times.idle = 100
        times.iowait = 10
        #expect(collector.monotonic(times).iowait == 10)
        times.iowait = 9.5
        #expect(collector.monotonic(times).iowait == 10)
        times.idle = 99
        #expect(collector.monotonic(times).idle == 100)
        times.idle = 50
        times.iowait = 1
        let reset = collector.monotonic(times)
        #expect(reset.idle == 50)
        #expect(reset.iowait == 1)
    }

    @Test(arguments: [
        ("package", "package"), ("psys", "psys"), ("a-b c", "a_b_c"), ("x__-__y", "x_y"), ("_core_", "_core_"),
    ])
    func sanitisesRAPLZoneNames(zone: String, expected: String) {
        #expect(RAPLCollector.sanitise(zone) == expected)
    }

    @Test func badNetdevRegexIsAConstructorError() {
        #expect(throws: (any Error).self) {
            try NetdevCollector(fs: LinuxFS(), hostname: "", include: "([", exclude: nil)
        }
    }
}
