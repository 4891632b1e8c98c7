import ArgumentParser
import CEEMSLinux
import CEEMSWeb
import Testing

@testable import CEEMSExporter

@Suite struct ExporterOptionsTests {
    func configuration(_ arguments: [String], environment: [String: String] = [:]) throws -> ExporterConfiguration {
        try ExporterOptions.parse(arguments).configuration { environment[$0] }
    }

    @Test func defaults() throws {
        let config = try configuration([])
        #expect(config.listenAddresses == [ListenAddress(host: "", port: 9010)])
        #expect(config.enabledCollectors == [.cpu, .meminfo, .rapl])
        #expect(config.telemetryPath == "/metrics")
        #expect(config.maxRequests == 40)
        #expect(config.fs.procfs == "/proc")
        #expect(config.webConfigFile == nil)
    }

    @Test func acceptsBothValueForms() throws {
        let config = try configuration([
            "--web.listen-address", "127.0.0.1:9100", "--web.listen-address=[::1]:9101", "--path.sysfs=/host/sys",
            "--path.procfs", "/host/proc", "--log.level=debug",
        ])
        #expect(
            config.listenAddresses == [
                ListenAddress(host: "127.0.0.1", port: 9100), ListenAddress(host: "::1", port: 9101),
            ])
        #expect(config.fs.sysfs == "/host/sys")
        #expect(config.fs.procfs == "/host/proc")
    }

    @Test func switchesCollectorsOnAndOff() throws {
        let config = try configuration(["--no-collector.rapl", "--collector.ipmi_dcmi", "--collector.netdev"])
        #expect(config.enabledCollectors == [.cpu, .meminfo, .ipmiDCMI, .netdev])
        let only = try configuration([
            "--collector.disable-defaults", "--collector.meminfo", "--collector.cray_pm_counters",
        ])
        #expect(only.enabledCollectors == [.meminfo, .crayPMCounters])
    }

    @Test func deprecatedAliasesKeepWorking() throws {
        let config = try configuration([
            "--collector.meminfo.all.stats", "--collector.ipmi_dcmi.cmd=ipmitool dcmi power reading",
            "--collector.ipmi.dcmi.cmd=/opt/capmc", "--collector.redfish.web-config=/etc/redfish.yml",
            "--collector.redfish.config.file=/etc/new.yml",
        ])
        #expect(config.meminfoAllStats)
        #expect(config.ipmi.command == ["/opt/capmc"])
        #expect(config.redfish.configFile == "/etc/redfish.yml")
        let parsed = try ExporterOptions.parse(["--collector.meminfo.all.stats"])
        #expect(parsed.deprecationWarnings.count == 1)
    }

    @Test func environmentFallbacks() throws {
        let config = try configuration(
            [],
            environment: [
                "CEEMS_EXPORTER_WEB_CONFIG_FILE": "/etc/web.yml", "CEEMS_EXPORTER_REDFISH_COLL_CONFIG_FILE": "/r.yml",
            ])
        #expect(config.webConfigFile == "/etc/web.yml")
        #expect(config.redfish.configFile == "/r.yml")
        let flagWins = try configuration(
            ["--web.config.file=/x.yml"], environment: ["CEEMS_EXPORTER_WEB_CONFIG_FILE": "/etc/web.yml"])
        #expect(flagWins.webConfigFile == "/x.yml")
    }

    @Test func splitsTheIPMICommandOnSpaces() throws {
        #expect(
            try configuration(["--collector.ipmi_dcmi.cmd=sudo ipmi-dcmi --get-system-power-statistics"]).ipmi.command
                == ["sudo", "ipmi-dcmi", "--get-system-power-statistics"])
    }

    @Test(arguments: [
        ["--collector.netdev.device-include=eth0", "--collector.netdev.device-exclude=lo"],
        ["--collector.emissions.provider=carbonara"], ["--log.level=loud"], ["--log.format=xml"],
        ["--collector.unknown"], ["--web.max-requests=-1"],
    ])
    func rejectsInvalidCommandLines(arguments: [String]) {
        #expect(throws: (any Error).self) { try configuration(arguments) }
    }

    @Test func rejectsABadListenAddress() {
        #expect(throws: (any Error).self) { try configuration(["--web.listen-address=9010"]) }
    }
}

@Suite struct KingpinCompatibilityTests {
    @Test func repeatedBooleansTakeTheLastValue() throws {
        let options = try ExporterOptions.parse([
            "--collector.netdev", "--no-collector.netdev", "--collector.hwmon", "--collector.hwmon",
        ])
        let config = try options.configuration { _ in nil }
        #expect(!config.enabledCollectors.contains(.netdev))
        #expect(config.enabledCollectors.contains(.hwmon))
    }

    @Test func unsupportedFlagsAreAnnouncedNotIgnored() throws {
        let options = try ExporterOptions.parse(["--web.systemd-socket", "--runtime.gomaxprocs=2"])
        #expect(options.deprecationWarnings.count == 2)
    }
}
