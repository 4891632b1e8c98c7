import CEEMSCore

/// The built-in updater queries (§9.2): field → sub-key → template.
enum DefaultQueries {
    static func average(_ series: String) -> String { UpdaterQueryShapes.average(series) }

    static func energy(_ series: String, divisor: String, provider: String? = nil) -> String {
        UpdaterQueryShapes.integral(series, divisor: divisor, provider: provider)
    }

    static func increase(_ series: String) -> String { UpdaterQueryShapes.increase(series) }

    static let all: [String: [String: String]] = {
        var queries: [String: [String: String]] = [
            "avg_cpu_usage": ["global": average("uuid:ceems_cpu_usage:ratio_irate")],
            "avg_cpu_mem_usage": ["global": average("uuid:ceems_cpu_memory_usage:ratio")],
            "avg_gpu_usage": ["global": average("uuid:ceems_gpu_usage:ratio")],
            "avg_gpu_mem_usage": ["global": average("uuid:ceems_gpu_memory_usage:ratio")],
            "total_cpu_energy_usage_kwh": ["total": energy("uuid:ceems_host_power_watts:pue", divisor: "3.6e9")],
            "total_gpu_energy_usage_kwh": ["total": energy("uuid:ceems_gpu_power_watts:pue", divisor: "3.6e9")],
            "total_ingress_stats": ["bytes_total": increase("ceems_ebpf_ingress_bytes_total")],
            "total_egress_stats": ["bytes_total": increase("ceems_ebpf_egress_bytes_total")],
        ]
        for (field, series) in [
            ("total_cpu_emissions_gms", "uuid:ceems_host_emissions_g_s:pue"),
            ("total_gpu_emissions_gms", "uuid:ceems_gpu_emissions_g_s:pue"),
        ] {
            var map: [String: String] = [:]
            for provider in ["rte", "emaps", "owid"] {
                map["\(provider)_total"] = energy(series, divisor: "1e3", provider: provider)
            }
            queries[field] = map
        }
        for (field, direction) in [("total_io_write_stats", "write"), ("total_io_read_stats", "read")] {
            var map: [String: String] = [:]
            for kind in ["bytes", "requests", "errors"] {
                map["\(kind)_total"] = increase("ceems_ebpf_\(direction)_\(kind)_total")
            }
            queries[field] = map
        }
        return queries
    }()
}
