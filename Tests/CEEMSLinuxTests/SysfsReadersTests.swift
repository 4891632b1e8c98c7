import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Testing

@Suite struct SysfsReadersTests {
    @Test func readsRAPLZonesWithIndicesAndLimits() throws {
        let tree = try FixtureTree()
        let zones: [(String, String, String)] = [
            ("intel-rapl:0", "package-0", "258218293244"), ("intel-rapl:0:0", "dram", "24468409791"),
            ("intel-rapl:1", "package-1", "130570505826"), ("intel-rapl:1:0", "dram", "64930394974"),
        ]
        for (directory, name, energy) in zones {
            try tree.file("class/powercap/\(directory)/name", name + "\n")
            try tree.file("class/powercap/\(directory)/energy_uj", energy + "\n")
        }
        try tree.file("class/powercap/intel-rapl:0/constraint_0_time_window_us", "55967744\n")
        try tree.file("class/powercap/intel-rapl:0/constraint_0_power_limit_uw", "300000000\n")
        try tree.file("class/powercap/intel-rapl:0/constraint_1_time_window_us", "20468203520\n")
        try tree.file("class/powercap/intel-rapl:0/constraint_1_power_limit_uw", "180000000\n")
        try tree.file("class/powercap/enabled", "1\n")
        let reader = PowercapReader(fs: LinuxFS(sysfs: tree.root + "/"))
        let found = try reader.zones()
        #expect(found.map(\.name) == ["package", "dram", "package", "dram"])
        #expect(found.map(\.index) == [0, 0, 1, 1])
        #expect(found[1].path == tree.root + "/class/powercap/intel-rapl:0:0")
        var buffer: [UInt8] = []
        #expect(try reader.energyMicrojoules(found[0], buffer: &buffer) == 258_218_293_244)
        #expect(reader.powerLimitMicrowatts(found[0], buffer: &buffer) == 180_000_000)
        #expect(reader.powerLimitMicrowatts(found[1], buffer: &buffer) == 0)
    }

    @Test func missingPowercapIsNotFound() {
        let reader = PowercapReader(fs: LinuxFS(sysfs: "/nonexistent"))
        #expect(throws: SystemFileError.notFound(path: "/nonexistent/class/powercap")) { try reader.zones() }
    }

    @Test func readsHwmonPowerAndEnergySensors() throws {
        let tree = try FixtureTree()
        try tree.file("class/hwmon/hwmon4/name", "Socket\n")
        try tree.file("class/hwmon/hwmon4/power1_input", "270000000\n")
        try tree.file("class/hwmon/hwmon4/power1_input_lowest", "65000000\n")
        try tree.file("class/hwmon/hwmon4/power1_average", "234000000\n")
        try tree.file("class/hwmon/hwmon4/energy1_input", "22323000000\n")
        try tree.file("class/hwmon/hwmon4/temp1_input", "45000\n")
        try tree.file("devices/platform/acpi.0/hwmon/hwmon5/name", "acpi power meter\n")
        try tree.file("devices/platform/acpi.0/hwmon/hwmon5/power1_average", "150000000\n")
        try tree.directory("devices/platform/acpi.0/ACPI0000:00")
        try tree.link("devices/platform/acpi.0/hwmon/hwmon5/device", to: "../../ACPI0000:00")
        try tree.link("class/hwmon/hwmon5", to: "../../devices/platform/acpi.0/hwmon/hwmon5")
        let readings = try HwmonReader(fs: LinuxFS(sysfs: tree.root)).readings()
        let socket = readings.filter { $0.chip == "socket" }
        #expect(Set(socket.map(\.property)) == ["input", "input_lowest", "average"])
        #expect(socket.first { $0.kind == .energy }?.value == 22323)
        #expect(socket.allSatisfy { $0.chipName == "socket" })
        let acpi = try #require(readings.first { $0.chipName == "acpi_power_meter" })
        // The device is acpi.0/ACPI0000:00: type "acpi_0" (its parent directory), name "acpi0000:00".
        #expect(acpi.chip == "acpi_0_acpi0000:00")
        #expect(acpi.value == 150)
        #expect(!readings.contains { $0.sensor.hasPrefix("temp") })
    }

    @Test func readsInfiniBandPorts() throws {
        let tree = try FixtureTree()
        try tree.file("class/infiniband/mlx5_0/fw_ver", "14.28.2006\n")
        try tree.file("class/infiniband/mlx5_0/board_id", "SM_2001000001034\n")
        try tree.file("class/infiniband/mlx5_0/hca_type", "MT4118\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/state", "4: ACTIVE\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/phys_state", "5: LinkUp\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/rate", "100 Gb/sec (4X EDR)\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/counters/port_rcv_data", "1000\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/counters/symbol_error", "N/A (no PMA)\n")
        try tree.file("class/infiniband/mlx5_0/ports/1/counters_ext/port_xmit_data_64", "7\n")
        let devices = try InfiniBandReader(fs: LinuxFS(sysfs: tree.root)).devices()
        #expect(devices.count == 1)
        let port = try #require(devices.first?.ports.first)
        #expect(devices[0].hcaType == "MT4118")
        #expect(port.state == 4)
        #expect(port.physicalState == 5)
        #expect(port.rateBytesPerSecond == 12_500_000_000)
        #expect(port.counters == ["port_rcv_data": 1000, "ext/port_xmit_data_64": 7])
    }

    @Test func readsCrayPMCounterDomains() throws {
        let tree = try FixtureTree()
        try tree.file("cray/pm_counters/power", "873 W 1734094386309238 us\n")
        try tree.file("cray/pm_counters/energy", "1360621494 J 1734094386309238 us\n")
        try tree.file("cray/pm_counters/power_cap", "0 W\n")
        try tree.file("cray/pm_counters/accel0_power", "99 W 1734094386462336 us\n")
        try tree.file("cray/pm_counters/cpu0_temp", "48 C 1734094386460680 us\n")
        try tree.file("cray/pm_counters/freshness", "12895022\n")
        try tree.file("cray/pm_counters/raw_scan_hz", "10\n")
        let domains = try CrayPMCountersReader(fs: LinuxFS(sysfs: tree.root)).domains()
        #expect(domains.map(\.name) == ["accel0", "cpu0", "node"])
        #expect(domains[2].powerWatts == 873)
        #expect(domains[2].energyJoules == 1_360_621_494)
        #expect(domains[2].powerCapWatts == 0)
        #expect(domains[1].temperatureCelsius == 48)
        #expect(domains[0].energyJoules == nil)
    }
}

@Suite struct ResidentPagesTests {
    @Test func readsTheResidentSetSize() throws {
        let bytes = try #require(ResidentPages.residentBytes())
        #expect(bytes > 1 << 20)
    }

    @Test func releasingCodePagesIsHarmless() {
        // The test process keeps running normally afterwards: code pages fault back in on use.
        let advised = ResidentPages.releaseCodePages()
        #expect(advised >= 0)
        #expect(ResidentPages.residentBytes() != nil)
    }
}
