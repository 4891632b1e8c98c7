import CEEMSTestSupport
import Testing

@testable import CEEMSExporter

@Suite struct IPMIDCMICollectorTests {
    static let ipmitoolOutput = SampleOutputs.ipmitool

    func collector(
        command: [String], waitBudget: Duration = .seconds(2), maximumAge: Duration = .seconds(300)
    )
        -> IPMIDCMICollector
    {
        var options = ExporterConfiguration.IPMIOptions()
        options.command = command
        options.testMode = true
        return IPMIDCMICollector(
            options: options, hostname: "n1", logger: quietLogger, waitBudget: waitBudget, maximumAge: maximumAge)
    }

    /// A scrape once the tool's first reading is in: on a machine loaded by the whole suite, starting the tool can
    /// take longer than one scrape's wait budget (the reading then lands for the next scrape).
    static func settled(_ collector: IPMIDCMICollector) async -> String {
        var text = ""
        for _ in 0..<30 {
            text = await scrape([collector])
            if text.contains("current_watts") { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return text
    }

    @Test func readsThePowerFromTheConfiguredCommand() async throws {
        let tree = try FixtureTree()
        let tool = try tree.script("ipmitool", "cat <<'EOF'\n\(Self.ipmitoolOutput)\nEOF")
        let text = await Self.settled(collector(command: [tool, "dcmi", "power", "reading"]))
        #expect(text.contains("ceems_ipmi_dcmi_current_watts{hostname=\"n1\"} 180\n"))
        #expect(text.contains("ceems_ipmi_dcmi_min_watts{hostname=\"n1\"} 90\n"))
        #expect(text.contains("ceems_ipmi_dcmi_max_watts{hostname=\"n1\"} 310\n"))
        #expect(text.contains("ceems_ipmi_dcmi_avg_watts{hostname=\"n1\"} 175\n"))
        #expect(text.contains("ceems_scrape_collector_success{collector=\"ipmi_dcmi\"} 1"))
    }

    @Test func recognisesCapmcByItsName() async throws {
        let tree = try FixtureTree()
        let tool = try tree.script("capmc", #"echo '{"avg":5942,"min":5748,"max":6132,"e":0,"err_msg":""}'"#)
        let collector = collector(command: [tool])
        #expect(collector.source == .command(path: tool, arguments: ["get_system_power", "-w", "600"]))
        let text = await Self.settled(collector)
        #expect(text.contains("ceems_ipmi_dcmi_current_watts{hostname=\"n1\"} 5942\n"))
        #expect(text.contains("ceems_ipmi_dcmi_avg_watts{hostname=\"n1\"} 5942\n"))
    }

    @Test func aHungToolNeverHoldsTheScrapeAndTheLastReadingIsServed() async throws {
        let tree = try FixtureTree()
        let marker = tree.path("hang")
        let tool = try tree.script(
            "ipmitool", "if [ -e \(marker) ]; then sleep 30; fi\ncat <<'EOF'\n\(Self.ipmitoolOutput)\nEOF")
        let collector = collector(command: [tool], waitBudget: .milliseconds(300))
        await collector.prime()
        try tree.file("hang", "")
        let start = ContinuousClock.now
        // The tool hangs 30 s and the scrape deadline is 20 s: only the wait budget makes it quick.
        let text = await scrape([collector], timeout: .seconds(20))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(text.contains("ceems_ipmi_dcmi_current_watts{hostname=\"n1\"} 180\n"))
    }

    @Test func aToolThatHangsFromTheStartGivesSuccessZeroQuickly() async throws {
        let tree = try FixtureTree()
        let tool = try tree.script("ipmitool", "sleep 30")
        let collector = collector(command: [tool], waitBudget: .milliseconds(300))
        let start = ContinuousClock.now
        // The tool hangs 30 s and the scrape deadline is 20 s: only the wait budget makes it quick.
        let text = await scrape([collector], timeout: .seconds(20))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(text.contains("ceems_scrape_collector_success{collector=\"ipmi_dcmi\"} 0"))
        #expect(!text.contains("ceems_ipmi_dcmi_current_watts"))
    }

    @Test func garbageAndZeroReadingsAreFailuresThatKeepTheLastGoodReading() async throws {
        let tree = try FixtureTree()
        let mode = tree.path("mode")
        let tool = try tree.script(
            "ipmitool",
            """
            case "$(cat \(mode) 2>/dev/null)" in
              garbage) head -c 300 /dev/urandom ;;
              zero) printf 'Instantaneous power reading: 0 Watts\\nPower reading state is: activated\\n' ;;
              *) cat <<'EOF'
            \(Self.ipmitoolOutput)
            EOF
            ;;
            esac
            """)
        let collector = collector(command: [tool])
        #expect(await Self.settled(collector).contains("current_watts{hostname=\"n1\"} 180"))
        var previousError: String?
        for bad in ["garbage", "zero"] {
            try tree.file("mode", bad)
            // The tool runs beside the scrapes (within a wait budget): on a loaded machine its bad answer can land
            // a scrape or two later. Every scrape meanwhile still serves the last good reading.
            for _ in 0..<30 {
                let text = await scrape([collector])
                #expect(text.contains("current_watts{hostname=\"n1\"} 180"), "\(bad)")
                if let error = collector.lastErrorDescription, error != previousError { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(collector.lastErrorDescription != nil, "\(bad)")
            previousError = collector.lastErrorDescription
        }
    }

    @Test func staleReadingsStopBeingServed() async throws {
        let tree = try FixtureTree()
        let tool = try tree.script(
            "ipmitool", "if [ -e \(tree.path("broken")) ]; then exit 1; fi\ncat <<'EOF'\n\(Self.ipmitoolOutput)\nEOF")
        // An age limit well above a loaded machine's scheduling delays between reading and serving.
        let collector = collector(command: [tool], maximumAge: .seconds(1))
        #expect(await Self.settled(collector).contains("current_watts"))
        try tree.file("broken", "")
        try await Task.sleep(for: .milliseconds(1500))
        let text = await scrape([collector])
        #expect(!text.contains("current_watts"))
        #expect(text.contains("ceems_scrape_collector_success{collector=\"ipmi_dcmi\"} 0"))
    }

    @Test func noToolAndNoDeviceIsUnavailableNotFatal() async throws {
        var options = ExporterConfiguration.IPMIOptions()
        options.command = ["/nonexistent/ipmi-dcmi"]
        let collector = IPMIDCMICollector(options: options, hostname: "", logger: quietLogger)
        guard case .unavailable = collector.source else {
            Issue.record("expected unavailable, got \(collector.source)")
            return
        }
        #expect(await scrape([collector]).contains("ceems_scrape_collector_success{collector=\"ipmi_dcmi\"} 0"))
    }
}
