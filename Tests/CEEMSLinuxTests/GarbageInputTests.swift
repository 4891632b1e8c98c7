import CEEMSLinux
import CEEMSTestSupport
import Testing

/// Every byte parser must survive arbitrary input: no trap, only nil, an error or partial values. Inputs are
/// random bytes, random text over the files' alphabet and mutations of valid files, from a fixed seed; the
/// libFuzzer harness (scripts/fuzz) explores further.
@Suite struct GarbageInputTests {
    static let alphabet = Array("0123456789 :=,-\n\t()-.abcdefkBWattsActivefull total=populated max\u{0}".utf8)
    static let validSamples: [String] = [
        "usage_usec 300\nuser_usec 200\nsystem_usec 100\n", "0-3,7,9-10\n", "populated 1\nfrozen 0\n",
        "some avg10=0.00 total=1\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=4567\n",
        "8:0 rbytes=1024 wbytes=2048 rios=3 wios=4\n", "8:0 Read 100\n8:0 Write 200\nTotal 300\n",
        "mlx5_0 hca_handle=2 hca_object=20\n", "cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n",
        "MemTotal:       15666184 kB\nSwapTotal: 0 kB\n", " 8 0 sda 1 2 3\n",
        "Current Power                        : 332 Watts\n",
    ]

    static func inputs(seed: UInt64, count: Int) -> [ArraySlice<UInt8>] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { index in
            if index % 3 == 2 {
                return random.mutate(Array(validSamples[index % validSamples.count].utf8))[...]
            }
            return random.bytes(maximumLength: 400, alphabet: alphabet)[...]
        }
    }

    @Test(arguments: [1 as UInt64, 2, 3])
    func parsersNeverTrap(seed: UInt64) {
        for input in Self.inputs(seed: seed, count: 800) {
            _ = try? ProcStat.parse(input)
            _ = CPUInfo.parse(input)
            _ = Meminfo.parse(input)
            _ = NetDev.parse(input)
            _ = ProcessSelfStat.parse(input)
            _ = ProcessLimits.softLimit("Max open files", in: input)
            let text = String(decoding: input, as: UTF8.self)
            _ = IPMIOutputParser.parseText(text)
            _ = IPMIOutputParser.parseCapmc(text)
            _ = IPMIOutputParser.parseDCMIResponse(Array(input))
            _ = ByteParsing.double(input)
            _ = ByteParsing.int64(input)
            _ = CgroupFiles.pids(input)
            _ = CgroupFiles.keyedValues(input, keys: ["user_usec", "system_usec"])
            _ = CgroupFiles.pressureFullTotal(input)
            _ = CgroupFiles.ioStat(input)
            _ = CgroupFiles.blkioV1(input)
            _ = CgroupFiles.rdmaCurrent(input)
            _ = DiskStats.deviceNames(input)
            _ = ProcessEnvironment.value(of: "SLURM_JOB_ID", in: input)
            _ = CgroupPathEscaping.unescape(text)
            _ = RDMAOutput.resources(text, lengthKey: "mrlen")
            _ = RDMAOutput.qpCounters(text)
            _ = Inotify.parse(input)
        }
    }

    /// Properties that hold for any input, not just "no crash".
    @Test(arguments: [7 as UInt64, 8])
    func parsedValuesStayWithinTheirInput(seed: UInt64) {
        for input in Self.inputs(seed: seed, count: 800) {
            // Every PID comes from a line of the input, and is positive.
            let pids = CgroupFiles.pids(input)
            #expect(pids.count <= input.filter { $0 == UInt8(ascii: "\n") }.count + 1)
            #expect(pids.allSatisfy { $0 > 0 })
            // A cpuset count is never negative and a single-CPU list counts one per comma-separated item.
            if let count = CgroupFiles.cpusetCount(input) { #expect(count >= 0) }
            // Unescaping never makes a path longer.
            let text = String(decoding: input, as: UTF8.self)
            #expect(CgroupPathEscaping.unescape(text).utf8.count <= text.utf8.count)
            // Keyed lookups return one slot per key.
            #expect(CgroupFiles.keyedValues(input, keys: ["a", "b", "c"]).count == 3)
        }
    }

    @Test func integerParsingRejectsOverflowAndNonDigits() {
        #expect(ByteParsing.uint64("18446744073709551615".bytes) == UInt64.max)
        #expect(ByteParsing.uint64("18446744073709551616".bytes) == nil)
        #expect(ByteParsing.uint64("12a".bytes) == nil)
        #expect(ByteParsing.uint64("".bytes) == nil)
        #expect(ByteParsing.int64("-42".bytes) == -42)
        #expect(ByteParsing.double("3e9".bytes) == 3e9)
        #expect(ByteParsing.double("1.2.3".bytes) == nil)
    }
}
