import CEEMSLinux
import CEEMSTestSupport
import Testing

@testable import CEEMSExporter

@Suite struct EndedUnitsTests {
    static func unit(_ id: String) -> ComputeUnit {
        ComputeUnit(
            uuid: id, id: id, cgroupHostname: "", path: "/system.slice/slurmstepd.scope/job_\(id)", directories: [])
    }

    static func reading(
        _ id: String, user: Double, memory: Double, at: ContinuousClock.Instant, scraped: Bool
    )
        -> EndedUnits.Reading
    {
        var stats = UnitStats()
        stats.cpuUser = user
        stats.memoryUsed = memory
        return EndedUnits.Reading(unit: unit(id), stats: stats, gpuRows: [], at: at, scraped: scraped)
    }

    @Test func aReportedUnitThatIsGoneComesBackOnceWithTheNewestCounters() {
        let ended = EndedUnits(watcher: nil)
        let start = ContinuousClock.now
        ended.remember([Self.reading("1", user: 10, memory: 500, at: start, scraped: true)])
        #expect(ended.ended(current: [Self.unit("1")]).isEmpty)
        ended.remember([Self.reading("1", user: 11, memory: 600, at: start + .seconds(10), scraped: true)])
        // The watcher's final reading: CPU final, memory already released.
        ended.recordFinal(Self.reading("1", user: 12.5, memory: 0, at: start + .seconds(15), scraped: false))
        let readings = ended.ended(current: [])
        #expect(readings.count == 1)
        #expect(readings.first?.stats.cpuUser == 12.5)
        #expect(readings.first?.stats.memoryUsed == 600)
        #expect(readings.first?.scraped == true)
        #expect(ended.ended(current: []).isEmpty)
    }

    @Test func anOlderFinalReadingNeverRollsCountersBack() {
        let ended = EndedUnits(watcher: nil)
        let start = ContinuousClock.now
        ended.recordFinal(Self.reading("2", user: 1, memory: 0, at: start, scraped: false))
        ended.remember([Self.reading("2", user: 5, memory: 10, at: start + .seconds(1), scraped: true)])
        #expect(ended.ended(current: []).first?.stats.cpuUser == 5)
    }

    @Test func aUnitSeenOnlyByTheWatcherIsReportedOnceAndPendingReadingsAreBounded() {
        let ended = EndedUnits(watcher: nil)
        let start = ContinuousClock.now
        for index in 0..<(EndedUnits.maximumPending + 10) {
            ended.recordFinal(
                Self.reading("\(index)", user: 1, memory: 0, at: start + .milliseconds(index), scraped: false))
        }
        let readings = ended.ended(current: [Self.unit("4000")])
        #expect(readings.count == EndedUnits.maximumPending - 1)
        #expect(!readings.contains { $0.unit.id == "0" })  // the oldest were dropped
        #expect(readings.allSatisfy { !$0.scraped })
        #expect(ended.ended(current: []).count == 1)  // the one still present then, now gone
    }
}

@Suite struct UnitLimitsCacheTests {
    @Test func limitsAreReadAgainOnlyOnceOldAndGarbageIsNeverCached() throws {
        let tree = try UnitFixture.slurmV2([.init(id: 1, pids: [10])])
        let directory = "cgroup/system.slice/slurmstepd.scope/job_1"
        let layout = CgroupLayout(version: .v2, root: tree.path("cgroup"), activeController: "")
        func reader(maximumAge: Duration) -> UnitStatsReader {
            UnitStatsReader(
                layout: layout, options: UnitStatsOptions(), hostMemoryTotal: 1, hostSwapTotal: 1, deviceNames: [:],
                limitsMaximumAge: maximumAge)
        }
        let cached = reader(maximumAge: .seconds(60))
        let uncached = reader(maximumAge: .zero)
        var buffer: [UInt8] = []
        let relative = "/system.slice/slurmstepd.scope/job_1"
        #expect(cached.read(relative, buffer: &buffer).memoryTotal == 1)  // "max" → host total
        try tree.file(directory + "/memory.max", "4096\n")
        #expect(cached.read(relative, buffer: &buffer).memoryTotal == 1)
        #expect(uncached.read(relative, buffer: &buffer).memoryTotal == 4096)
        cached.limits.prune(keeping: [])
        #expect(cached.read(relative, buffer: &buffer).memoryTotal == 4096)
        // A limit file holding garbage is reported every time, and read again.
        try tree.file(directory + "/memory.max", "garbage\n")
        cached.limits.prune(keeping: [])
        #expect(cached.read(relative, buffer: &buffer).failedFiles == ["memory.max"])
        #expect(cached.read(relative, buffer: &buffer).failedFiles == ["memory.max"])
        try tree.file(directory + "/memory.max", "8192\n")
        #expect(cached.read(relative, buffer: &buffer).memoryTotal == 8192)
    }
}
