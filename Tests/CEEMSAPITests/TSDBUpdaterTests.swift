import CEEMSCore
import CEEMSTestSupport
import Foundation
import Testing

@testable import CEEMSAPI

/// The updater against a real Prometheus holding recorded-rule series for the fake cluster's jobs.
@Suite(.enabled(if: RealPrometheus.available || RealPrometheus.required)) struct TSDBUpdaterTests {
    // alice's job 2001 ran 2024-03-04T08:00:05Z–09:00:05Z; bob's 2002 08:30:10Z–08:40:10Z.
    static let series = RealPrometheus.gauges([
        ("uuid:ceems_cpu_usage:ratio_irate", #"uuid="2001""#, 0.5, 1_709_539_205, 1_709_542_805),
        ("uuid:ceems_cpu_usage:ratio_irate", #"uuid="2002""#, 0.25, 1_709_541_010, 1_709_541_610),
        ("uuid:ceems_cpu_memory_usage:ratio", #"uuid="2001""#, 0.125, 1_709_539_205, 1_709_542_805),
        ("uuid:ceems_host_power_watts:pue", #"uuid="2001""#, 200, 1_709_539_205, 1_709_542_805),
        ("uuid:ceems_host_power_watts:pue", #"uuid="2002""#, 100, 1_709_541_010, 1_709_541_610),
        ("uuid:ceems_host_emissions_g_s:pue", #"provider="owid",uuid="2001""#, 0.01, 1_709_539_205, 1_709_542_805),
        ("uuid:ceems_gpu_usage:ratio", #"uuid="2001""#, 0.75, 1_709_539_205, 1_709_542_805),
    ])

    @Test func oneUpdateCycleFillsUnitsAndUsage() async throws {
        let prometheus = try await RealPrometheus(openMetrics: Self.series)
        defer { prometheus.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = try slurmConfig(dataPath: directory + "/data", tsdbURL: prometheus.url)
        try await withAPIServer(config: config) { client, _ in
            let alice = try await client.get("/api/v1/units?uuid=2001", user: "alice")
            let unit = try #require(alice.data.first)
            #expect(unit["avg_cpu_usage"]?["global"]?.doubleValue == 0.5)
            #expect(unit["avg_cpu_mem_usage"]?["global"]?.doubleValue == 0.125)
            #expect(unit["avg_gpu_usage"]?["global"]?.doubleValue == 0.75)
            // 200 W for one hour = 0.2 kWh, give or take a sample at each end.
            let energy = try #require(unit["total_cpu_energy_usage_kwh"]?["total"]?.doubleValue)
            #expect(energy > 0.19 && energy < 0.21)
            let emissions = try #require(unit["total_cpu_emissions_gms"]?["owid_total"]?.doubleValue)
            #expect(emissions > 34 && emissions < 38)  // 0.01 g/s × 3600 s
            #expect(unit["total_cpu_emissions_gms"]?["rte_total"] == nil)
            // No eBPF series: the fields are empty maps, omitted.
            #expect(unit["total_io_write_stats"] == nil)

            let bob = try await client.get("/api/v1/units?uuid=2002", user: "bob")
            let bobEnergy = try #require(bob.data.first?["total_cpu_energy_usage_kwh"]?["total"]?.doubleValue)
            #expect(bobEnergy > 0.015 && bobEnergy < 0.02)  // 100 W × 10 min

            // Usage of proj-a for bob (a member) shows alice's numbers too.
            let usage = try await client.get("/api/v1/usage/global?project=proj-a", user: "bob")
            let aliceRow = try #require(usage.data.first { $0["username"]?.stringValue == "alice" })
            #expect(aliceRow["avg_cpu_usage"]?["global"]?.doubleValue == 0.5)
            #expect(aliceRow["total_cpu_energy_usage_kwh"]?["total"]?.doubleValue == energy)

            // Current usage over the window weighs averages by allocated CPU time.
            let current = try await client.get(
                "/api/v1/usage/current?from=1709506800&to=1709679600&project=proj-a&field=avg_cpu_usage&field=total_cpu_energy_usage_kwh",
                user: "alice")
            #expect(current.data.count == 2)
            let admin = try await client.get("/api/v1/usage/global/admin", user: "admin1")
            #expect(admin.data.count == 4)
        }
    }

    @Test func cutoffIgnoresShortUnitsAndDeletesTheirSeries() async throws {
        let prometheus = try await RealPrometheus(openMetrics: Self.series)
        defer { prometheus.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let extra = "extra_config:\n  cutoff_duration: 15m\n  delete_ignored: true"
        let config = try slurmConfig(dataPath: directory + "/data", tsdbURL: prometheus.url, extraUpdater: extra)
        try await withAPIServer(config: config) { client, _ in
            // bob's 10-minute job is hidden from /units but still counted in usage and stats.
            let bob = try await client.get("/api/v1/units?from=1709506800&to=1709679600", user: "bob")
            #expect(bob.data.strings("uuid") == ["2003"])
            let stats = try await client.get("/api/v1/stats/global/admin", user: "admin1")
            #expect(stats.data.first?["num_units"]?.doubleValue == 4)
        }
        // Its series were deleted through the admin API.
        let client = APIClient(port: Int(prometheus.url.split(separator: ":").last!)!)
        defer { Task { await client.shutdown() } }
        let query = try await client.get(
            "/api/v1/query?query=count(uuid:ceems_host_power_watts:pue%7Buuid%3D%222002%22%7D)&time=1709541300")
        #expect(query.json?["data"]?["result"] == .array([]))
        let kept = try await client.get(
            "/api/v1/query?query=count(uuid:ceems_host_power_watts:pue%7Buuid%3D%222001%22%7D)&time=1709541300")
        #expect(kept.json?["data"]?["result"] != .array([]))
    }

    /// A TSDB that is down: the update still writes units (metrics null), and logs.
    @Test func prometheusDownStillRecordsUnits() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try RealPrometheus.freePort()
        let config = try slurmConfig(dataPath: directory + "/data", tsdbURL: "http://127.0.0.1:\(port)")
        try await withAPIServer(config: config) { client, _ in
            let alice = try await client.get("/api/v1/units?uuid=2001", user: "alice")
            #expect(alice.data.count == 1)
            #expect(alice.data.first?["avg_cpu_usage"] == nil)
        }
    }
}
