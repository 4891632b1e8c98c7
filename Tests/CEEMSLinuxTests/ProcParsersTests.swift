import CEEMSLinux
import CEEMSTestSupport
import Testing

@Suite struct ProcParsersTests {
    // Format of /proc/stat (proc(5)): ticks of USER_HZ.
    let stat = """
        cpu  301854 612 111922 8979004 3552 2 3944 7 0 0
        cpu0 150000 300 50000 4400000 1700 1 2000 3 0 0
        cpu1 151854 312 61922 4579004 1852 1 1944 4 0 0
        intr 123456 0 9 0
        ctxt 987654321
        btime 1700000000
        processes 4242
        procs_running 2
        """

    @Test func parsesProcStat() throws {
        let parsed = try ProcStat.parse(stat.bytes)
        #expect(parsed.cpuCount == 2)
        #expect(parsed.bootTime == 1_700_000_000)
        #expect(parsed.total.user == 3018.54)
        #expect(parsed.total.idle == 89790.04)
        #expect(parsed.total.softirq == 39.44)
        #expect(parsed.total.steal == 0.07)
    }

    @Test func procStatWithoutCPULineIsAnError() {
        #expect(throws: ProcStat.ParseError.missingCPULine) { try ProcStat.parse("intr 1\nctxt 2\n".bytes) }
    }

    @Test func countsPhysicalCoresOverSockets() {
        var text = ""
        for processor in 0..<8 {
            text += """
                processor\t: \(processor)
                vendor_id\t: GenuineIntel
                physical id\t: \(processor / 4)
                siblings\t: 4
                core id\t\t: \(processor % 2)
                cpu cores\t: 2

                """
        }
        let info = CPUInfo.parse(text.bytes)
        #expect(info.logicalCPUs == 8)
        #expect(info.physicalCores == 4)
        #expect(CPUInfo.parse("processor : 0\nmodel name : ARMv8\n".bytes).physicalCores == 0)
    }

    @Test func parsesMeminfo() {
        let text = """
            MemTotal:       15666184 kB
            MemFree:          440324 kB
            Active(anon):     267256 kB
            HugePages_Total:       0
            Hugepagesize:       2048 kB
            garbage line
            """
        let fields = Meminfo.parse(text.bytes)
        #expect(
            fields.map(\.name) == [
                "MemTotal_bytes", "MemFree_bytes", "Active_anon_bytes", "HugePages_Total", "Hugepagesize_bytes",
            ])
        #expect(Meminfo.bytes(of: "MemTotal", in: fields) == 16_042_172_416)
        #expect(fields[3].value == 0)
    }

    @Test func parsesNetDev() {
        let text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo: 1664039048 1566805    0    0    0     0          0         0 1664039048 1566805    0    0    0     0       0          0
              eth0: 874354587 1036395    1    2    3     4          5         6 563352563  732147    7    8    9    10      11         12
            broken: 1 2 3
            """
        let devices = NetDev.parse(text.bytes)
        #expect(devices.map(\.device) == ["lo", "eth0"])
        #expect(
            devices[1].counters == [
                874_354_587, 1_036_395, 1, 2, 3, 4, 5, 6, 563_352_563, 732_147, 7, 8, 9, 10, 11, 12,
            ])
    }

    @Test func parsesProcessStatWithAWeirdCommandName() throws {
        let text =
            "4242 (ceems (exp) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 50 0 0 20 0 8 0 12345 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let parsed = try #require(ProcessSelfStat.parse(text.bytes))
        #expect(parsed.cpuTicks == 200)
        #expect(parsed.startTicks == 12345)
        #expect(parsed.virtualBytes == 104_857_600)
        #expect(parsed.residentPages == 2560)
    }

    @Test func parsesLimits() {
        let text = """
            Limit                     Soft Limit           Hard Limit           Units
            Max open files            1024                 524288               files
            Max address space         unlimited            unlimited            bytes
            """
        #expect(ProcessLimits.softLimit("Max open files", in: text.bytes) == 1024)
        #expect(ProcessLimits.softLimit("Max address space", in: text.bytes) == -1)
        #expect(ProcessLimits.softLimit("Max processes", in: text.bytes) == nil)
    }
}
