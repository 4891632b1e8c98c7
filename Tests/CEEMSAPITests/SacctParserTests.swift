import CEEMSCore
import Foundation
import Testing

@testable import CEEMSAPI

@Suite struct SacctParserTests {
    let paris = TimeZone(identifier: "Europe/Paris")!

    @Test(arguments: [
        ("320G", Int64(343_597_383_680)), ("320.5G", 344_134_254_592), ("2048", 2_147_483_648),
        ("1.5T", 1_649_267_441_664),
        ("1P", 1_125_899_906_842_624), ("512K", 524_288), ("100M", 104_857_600), ("7.5g", 8_053_063_680),
    ])
    func memoryUnits(text: String, bytes: Int64) {
        #expect(SacctParser.parseMemory(text) == bytes)
    }

    @Test(arguments: ["", "G", "abc", "-1G", "1e400G", "nanG"])
    func badMemoryIsRejected(text: String) {
        #expect(SacctParser.parseMemory(text) == nil)
    }

    @Test func gpuCountsNeverSum() {
        #expect(SacctParser.parseTRES("cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=64G,node=1").gpus == 2)
        #expect(SacctParser.parseTRES("gres/gpu:v100=1,gres/gpu:a100=3").gpus == 3)
        #expect(SacctParser.parseTRES("gres/gpumem=40G,gres/gpuutil=50,cpu=1").gpus == 0)
        #expect(SacctParser.parseTRES("gres/gpu:1g.10gb=7,gres/gpu=7").gpus == 7)
        #expect(
            SacctParser.parseTRES("billing=80,cpu=8,energy=1439089,gres/gpu=8,mem=320G,node=1")
                == .init(billing: 80, nodes: 1, cpus: 8, gpus: 8, memory: 343_597_383_680))
    }

    func parser(windowStart: String, windowEnd: String) -> SacctParser {
        let window = UpdateWindow(
            start: WallClock.parse(windowStart)!, end: WallClock.parse(windowEnd)!, zone: paris)
        return SacctParser(clusterID: "c0", window: window, now: WallClock.parse("2024-03-06T00:00:00+0100")!)
    }

    static let line =
        "77|p1|q1|acc|grp|10|u1|20|2024-03-04T09:00:00+0100|2024-03-04T09:00:00+0100|2024-03-04T10:00:00+0100|01:00:00|3600|0:0|CANCELLED by 20|billing=4,cpu=4,gres/gpu=1,mem=320.5G,node=2|n[1-2],m3|job name|/w"

    @Test func parsesAJob() throws {
        let (units, malformed) = parser(windowStart: "2024-03-04T00:00:00+0100", windowEnd: "2024-03-05T00:00:00+0100")
            .parse(Self.line)
        #expect(malformed == 0)
        let unit = try #require(units.first)
        #expect(unit.uuid == "77" && unit.project == "acc" && unit.user == "u1" && unit.group == "grp")
        #expect(unit.name == "job name" && unit.state == "CANCELLED by 20" && unit.elapsed == "01:00:00")
        #expect(unit.startedAt == "2024-03-04T09:00:00+0100" && unit.startedAtTS == 1_709_539_200_000)
        var writer = JSONWriter()
        unit.write(to: &writer)
        #expect(
            writer.text.contains(
                #""allocation":{"billing":4,"cpus":4,"gpus":1,"mem":344134254592,"nodes":2},"total_time_seconds":{"alloc_cpumemtime":1181491200,"alloc_cputime":14400,"alloc_gpumemtime":3600,"alloc_gputime":3600,"walltime":3600}"#
            ))
        #expect(writer.text.contains(#""nodelistexp":"n1|n2|m3""#))
        #expect(writer.text.contains(#""gid":10"#) && writer.text.contains(#""uid":20"#))
    }

    @Test func overlapWithTheWindow() throws {
        // Window starts in the middle of the job: 30 min counted.
        let (units, _) = parser(windowStart: "2024-03-04T09:30:00+0100", windowEnd: "2024-03-05T00:00:00+0100")
            .parse(Self.line)
        #expect(units.first?.totalTime["walltime"] == 1800)
        // A job that ended before the window keeps its own span.
        let (late, _) = parser(windowStart: "2024-03-05T00:00:00+0100", windowEnd: "2024-03-06T00:00:00+0100")
            .parse(Self.line)
        #expect(late.first?.totalTime["walltime"] == 3600)
        // Ended within the second before the window (sacct's whole-second --starttime returns it again): the
        // previous window counted it, this one adds nothing.
        let window = UpdateWindow(
            start: WallClock.parse("2024-03-04T10:00:00+0100")! + 500, end: WallClock.parse("2024-03-04T10:10:00+0100")!,
            zone: paris)
        let (again, _) = SacctParser(clusterID: "c0", window: window, now: WallClock.parse("2024-03-06T00:00:00+0100")!)
            .parse(Self.line)
        #expect(again.first?.totalTime["walltime"] == 0)
        #expect(again.first?.totalTime["alloc_cputime"] == 0)
    }

    @Test func skipsStepsUnassignedAndMalformedLines() {
        let text = [
            Self.line.replacingOccurrences(of: "77|", with: "77.batch|"),
            Self.line.replacingOccurrences(of: "n[1-2],m3", with: "None assigned"),
            "garbage", "1|2|3", "", "|" + String(repeating: "x|", count: 18),
        ].joined(separator: "\n")
        let (units, malformed) = parser(windowStart: "2024-03-04T00:00:00+0100", windowEnd: "2024-03-05T00:00:00+0100")
            .parse(text)
        #expect(units.isEmpty)
        #expect(malformed == 3)
    }

    @Test func runningJobsHaveUnknownEnd() throws {
        let line = Self.line.replacingOccurrences(of: "2024-03-04T10:00:00+0100", with: "Unknown")
        let (units, _) = parser(windowStart: "2024-03-05T00:00:00+0100", windowEnd: "2024-03-05T12:00:00+0100")
            .parse(line)
        let unit = try #require(units.first)
        #expect(unit.endedAt == "Unknown" && unit.endedAtTS == 0)
        #expect(unit.totalTime["walltime"] == 43200)
    }

    @Test func associations() {
        let (users, projects) = SacctParser.parseAssociations(
            "root|\nroot|root\nacc1|\nacc1|u2\nacc1|u1\nacc2|u1\n|u3\nacc1|u1\n", clusterID: "c0", lastUpdatedAt: "t")
        #expect(users.map(\.name) == ["u1", "u2"])
        #expect(users.first?.projects == ["acc1", "acc2"])
        #expect(projects.map(\.name) == ["acc1", "acc2"])
        #expect(projects.first?.users == ["u1", "u2"])
        #expect(projects.first?.tags == nil)
    }
}
