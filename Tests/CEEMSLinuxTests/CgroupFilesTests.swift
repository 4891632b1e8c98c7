import CEEMSLinux
import CEEMSTestSupport
import Testing

@Suite struct CgroupFilesTests {
    @Test func pidsSkipGarbageZeroAndOutOfRangeValues() {
        #expect(CgroupFiles.pids("12\n 34 \n0\nabc\n99999999999\n\n56".bytes) == [12, 34, 56])
        #expect(CgroupFiles.pids("".bytes).isEmpty)
    }

    @Test(arguments: [
        ("0-3,7,9-10\n", 7), ("5", 1), ("", 0), ("\n", 0), (" 1,41 ", 2), ("0-1023", 1024),
    ])
    func cpusetCounts(text: String, count: Int) {
        #expect(CgroupFiles.cpusetCount(text.bytes) == count)
    }

    @Test(arguments: ["3-1", "a-b", "1--2", "1,x", "0-99999999999", "1-2-3"])
    func malformedCpusetsGiveNil(text: String) {
        #expect(CgroupFiles.cpusetCount(text.bytes) == nil)
    }

    @Test func singleValuesAndMax() {
        #expect(CgroupFiles.singleValue("4096\n".bytes) == 4096)
        #expect(CgroupFiles.singleValue("max\n".bytes) == nil)
        #expect(CgroupFiles.isMax("max\n".bytes))
        #expect(!CgroupFiles.isMax("maximum".bytes))
        #expect(CgroupFiles.singleValue("12 34".bytes) == nil)
        #expect(CgroupFiles.singleValue("-1".bytes) == nil)
    }

    @Test func keyedValuesFollowTheAskedOrderAndIgnoreOtherKeys() {
        let cpuStat = "usage_usec 300\nuser_usec 200\nsystem_usec 100\nnr_periods 0\n"
        #expect(CgroupFiles.keyedValues(cpuStat.bytes, keys: ["system_usec", "user_usec"]) == [100, 200])
        #expect(CgroupFiles.keyedValues("user_usecs 5\n".bytes, keys: ["user_usec"]) == [nil])
        #expect(CgroupFiles.keyedValues("anon\nfile 12".bytes, keys: ["anon", "file"]) == [nil, 12])
        // The first occurrence wins (memory.stat has both `file` and `file_mapped`-like keys, never duplicates).
        #expect(CgroupFiles.keyedValues("oom 1\noom 2\n".bytes, keys: ["oom"]) == [1])
    }

    @Test func populatedAndPressure() {
        #expect(CgroupFiles.populated("populated 1\nfrozen 0\n".bytes) == true)
        #expect(CgroupFiles.populated("populated 0\nfrozen 0\n".bytes) == false)
        #expect(CgroupFiles.populated("frozen 0\n".bytes) == nil)
        let pressure = """
            some avg10=0.00 avg60=0.00 avg300=0.00 total=123
            full avg10=0.00 avg60=0.00 avg300=0.00 total=4567

            """
        #expect(CgroupFiles.pressureFullTotal(pressure.bytes) == 4567)
        #expect(CgroupFiles.pressureFullTotal("some avg10=0.00 total=1\n".bytes) == nil)
        #expect(CgroupFiles.pressureFullTotal("full avg10=0.00 total=x\n".bytes) == nil)
    }

    @Test func ioStatReadsEveryDevice() {
        let text = "8:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n259:0 rbytes=5 wbytes=oops\nnoise\n"
        let stats = CgroupFiles.ioStat(text.bytes)
        #expect(stats.count == 2)
        #expect(stats[0].device == "8:0")
        #expect(stats[0].readBytes == 1024 && stats[0].writeBytes == 2048)
        #expect(stats[0].readRequests == 3 && stats[0].writeRequests == 4)
        #expect(stats[1].device == "259:0" && stats[1].readBytes == 5 && stats[1].writeBytes == 0)
    }

    @Test func blkioV1GroupsReadAndWritePerDevice() {
        let text = "8:0 Read 100\n8:0 Write 200\n8:0 Sync 300\n8:16 Read 7\nTotal 607\n"
        let stats = CgroupFiles.blkioV1(text.bytes)
        #expect(stats.map(\.device) == ["8:0", "8:16"])
        #expect(stats[0].read == 100 && stats[0].write == 200)
        #expect(stats[1].read == 7 && stats[1].write == 0)
    }

    @Test func rdmaCurrentPerDevice() {
        let stats = CgroupFiles.rdmaCurrent("mlx5_0 hca_handle=2 hca_object=20\nhfi1_0 hca_handle=479\n".bytes)
        #expect(stats.map(\.device) == ["mlx5_0", "hfi1_0"])
        #expect(stats[0].handles == 2 && stats[0].objects == 20)
        #expect(stats[1].handles == 479 && stats[1].objects == 0)
    }

    @Test(arguments: [
        (#"machine-qemu\x2d1\x2dinstance\x2d00000001.scope"#, "machine-qemu-1-instance-00000001.scope"),
        (#"a\055b"#, "a-b"), (#"tab\there"#, "tab\there"), ("plain/path", "plain/path"),
        (#"bad\x2"#, #"bad\x2"#), (#"bad\q"#, #"bad\q"#), (#"quote"x\x2d"#, #"quote"x\x2d"#), (#"trail\"#, #"trail\"#),
    ])
    func systemdEscapesAreDecodedLikeGoUnquote(path: String, expected: String) {
        #expect(CgroupPathEscaping.unescape(path) == expected)
    }

    @Test func processEnvironmentMatchesExactNames() {
        let environ = Array("SLURM_JOB_IDX=9\u{0}SLURM_JOB_ID=42\u{0}\u{0}PATH=/bin".utf8)[...]
        #expect(ProcessEnvironment.value(of: "SLURM_JOB_ID", in: environ) == "42")
        #expect(ProcessEnvironment.value(of: "PATH", in: environ) == "/bin")
        #expect(ProcessEnvironment.value(of: "HOME", in: environ) == nil)
        #expect(ProcessEnvironment.entries(environ).count == 3)
    }

    @Test func diskStatsNamesDevicesAndLaterLinesWin() {
        let text = " 8 0 sda 1 2 3\n 8 16 sdb 1 2 3\n 8 0 sdz 1\nbroken line\n"
        #expect(DiskStats.deviceNames(text.bytes) == ["8:0": "sdz", "8:16": "sdb"])
    }

    @Test func inotifyEventsAreDecoded() {
        func record(_ watch: UInt32, _ mask: UInt32, _ name: String, padTo length: Int) -> [UInt8] {
            func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
            var nameBytes = Array(name.utf8)
            nameBytes += [UInt8](repeating: 0, count: length - nameBytes.count)
            return le(watch) + le(mask) + le(0) + le(UInt32(length)) + nameBytes
        }
        let bytes = record(3, 0x4000_0100, "job_1", padTo: 16) + record(4, 0x2, "", padTo: 0) + [1, 2, 3]
        let events = Inotify.parse(bytes[...])
        #expect(events.count == 2)
        #expect(events[0] == InotifyEvent(watch: 3, mask: 0x4000_0100, name: "job_1"))
        #expect(events[0].isDirectoryCreated)
        #expect(events[1].isModified && events[1].name.isEmpty)
    }
}
