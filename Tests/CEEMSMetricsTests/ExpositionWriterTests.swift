import CEEMSMetrics
import CEEMSTestSupport
import Testing

@Suite struct ExpositionWriterTests {
    static let units = MetricDescriptor(
        "ceems_compute_units", help: "Total number of jobs", type: .gauge, labels: ["manager", "hostname"])
    static let cpu = MetricDescriptor(
        "ceems_compute_unit_cpu_user_seconds_total", help: "Total job CPU user seconds", type: .counter,
        labels: ["uuid", "manager", "hostname", "cgrouphostname"])
    static let empty = MetricDescriptor("ceems_empty", help: "Never has samples", type: .gauge)
    static let escaped = MetricDescriptor(
        "ceems_escape_test", help: "A help with \\ backslash\nand newline", type: .untyped, labels: ["value"])
    static let plain = MetricDescriptor("ceems_plain", help: "No labels", type: .gauge)

    @Test func matchesTheGoldenFile() throws {
        var first = MetricSink()
        first.add(Self.units, 3, ["slurm", "node1"])
        first.add(Self.cpu, 10.5, ["1009249", "slurm", "node1", ""])
        first.add(Self.cpu, 2e6, ["1009248", "slurm", "node1", ""])
        // Byte order, not numeric: "10" < "9".
        first.add(Self.cpu, 0.25, ["9", "slurm", "node1", ""])
        first.add(Self.cpu, 0.5, ["10", "slurm", "node1", ""])
        var second = MetricSink()
        second.add(Self.escaped, 1, ["quote \" backslash \\ newline \n end"])
        second.add(Self.plain, 42, [])
        // A series seen twice is printed once (the first one).
        second.add(Self.plain, 43, [])
        _ = Self.empty
        let text = ExpositionWriter.render([second, first])
        try Golden.check(text, name: "exposition.txt")
    }

    @Test func familiesSortInByteOrder() {
        var sink = MetricSink()
        for name in ["ceems_meminfo_MemTotal_bytes", "ceems_meminfo_MemAvailable_bytes", "ceems_meminfo_MemFree_bytes"]
        {
            sink.add(MetricDescriptor(name, help: "h", type: .gauge), 1, [])
        }
        let names = ExpositionWriter.render([sink]).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(
            names == [
                "ceems_meminfo_MemAvailable_bytes 1", "ceems_meminfo_MemFree_bytes 1", "ceems_meminfo_MemTotal_bytes 1",
            ])
    }

    @Test func sameFamilyFromTwoCollectorsIsMerged() {
        var a = MetricSink()
        a.add(ScrapeMetrics.success, 1, ["rapl"])
        var b = MetricSink()
        b.add(ScrapeMetrics.success, 0, ["cpu"])
        let text = ExpositionWriter.render([a, b])
        #expect(text.components(separatedBy: "# HELP ceems_scrape_collector_success").count == 2)
        #expect(
            text.hasSuffix(
                "ceems_scrape_collector_success{collector=\"cpu\"} 0\nceems_scrape_collector_success{collector=\"rapl\"} 1\n"
            ))
    }
}

extension String {
    func components(separatedBy separator: String) -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}
