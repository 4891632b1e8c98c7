import CEEMSCore
import CEEMSWeb

/// `tsdb create-relabel-configs` (ceems-tool.md §3.4): the `metric_relabel_configs` that give GPU exporter series
/// the join labels of the recording rules.
public enum RelabelConfigs {
    struct Step {
        var sources: [String] = []
        var target = ""
        var regex = ""
        var replacement = ""
        var action: String
    }

    static func steps(for vendor: GPUVendor) -> [Step] {
        switch vendor {
        case .nvidia:
            return [
                Step(sources: ["modelName", "UUID"], target: "gpuuuid", regex: "NVIDIA(.*);(.*)", replacement: "$2", action: "replace"),
                Step(sources: ["modelName", "GPU_I_ID"], target: "gpuiid", regex: "NVIDIA(.*);(.*)", replacement: "$2", action: "replace"),
                Step(regex: "UUID", action: "labeldrop"),
                Step(regex: "GPU_I_ID", action: "labeldrop"),
            ]
        case .amdSMI:
            return [
                Step(sources: ["gpu_power"], target: "index", regex: "(.*)", replacement: "$1", action: "replace"),
                Step(sources: ["index", "gpu_use_percent"], target: "index", regex: ";(.+)", replacement: "$1", action: "replace"),
                Step(sources: ["index", "gpu_memory_use_percent"], target: "index", regex: ";(.+)", replacement: "$1", action: "replace"),
                Step(regex: "gpu_power", action: "labeldrop"),
                Step(regex: "gpu_use_percent", action: "labeldrop"),
                Step(regex: "gpu_memory_use_percent", action: "labeldrop"),
            ]
        case .amdDeviceMetrics:
            return [
                Step(sources: ["gpu_id"], target: "index", regex: "(.*)", replacement: "$1", action: "replace"),
                Step(sources: ["gpu_partition_id"], target: "gpuiid", regex: "(.*)", replacement: "$1", action: "replace"),
                Step(regex: "gpu_id", action: "labeldrop"),
                Step(regex: "gpu_partition_id", action: "labeldrop"),
            ]
        }
    }

    /// The `scrape_configs:` YAML for GPU exporter jobs (job → vendor), jobs sorted.
    public static func yaml(jobs: [(job: String, vendor: GPUVendor)]) -> String {
        var text = "scrape_configs:\n"
        for (job, vendor) in jobs.sorted(by: { $0.job < $1.job }) {
            text += "  - job_name: \(YAMLText.quoted(job))\n"
            text += "    metric_relabel_configs:\n"
            for step in steps(for: vendor) {
                var first = true
                func line(_ key: String, _ value: String) {
                    text += (first ? "      - " : "        ") + "\(key): \(value)\n"
                    first = false
                }
                if !step.sources.isEmpty {
                    line("source_labels", "[" + step.sources.map(YAMLText.quoted).joined(separator: ", ") + "]")
                }
                if !step.target.isEmpty { line("target_label", YAMLText.quoted(step.target)) }
                line("regex", YAMLText.quoted(step.regex))
                if !step.replacement.isEmpty { line("replacement", YAMLText.quoted(step.replacement)) }
                line("action", step.action)
            }
        }
        return text
    }

    /// Looks up the GPU exporter jobs and returns the YAML.
    public static func generate(api: PrometheusAPI, start: Double, end: Double) async throws -> String {
        guard start < end else { throw ToolError("start time is not before end time") }
        let series = try await api.series(
            matching: GPUVendor.allCases.map(\.powerSeries), start: start, end: end)
        var jobs: [String: GPUVendor] = [:]
        for labels in series {
            guard let name = labels["__name__"], let job = labels["job"],
                let vendor = GPUVendor.allCases.first(where: { $0.powerSeries == name })
            else { continue }
            jobs[job] = vendor
        }
        return yaml(jobs: jobs.map { ($0.key, $0.value) })
    }
}

/// `tsdb create-ceems-tsdb-updater-queries` (§3.5): the API server's updater queries for the recorded series
/// that exist, in the shapes of the server's defaults.
public enum UpdaterQueries {
    /// (field, sub-key, series, emission provider suffix?) in §3.5's order.
    static let table: [(field: String, subkey: String, series: String, emissions: Bool)] = [
        ("avg_cpu_usage", "global", "uuid:ceems_cpu_usage:ratio_irate", false),
        ("avg_cpu_mem_usage", "global", "uuid:ceems_cpu_memory_usage:ratio", false),
        ("avg_gpu_usage", "global", "uuid:ceems_gpu_usage:ratio", false),
        ("avg_gpu_mem_usage", "global", "uuid:ceems_gpu_memory_usage:ratio", false),
        ("total_cpu_energy_usage_kwh", "total", "uuid:ceems_host_power_watts:pue", false),
        ("total_gpu_energy_usage_kwh", "total", "uuid:ceems_gpu_power_watts:pue", false),
        ("total_cpu_emissions_gms", "", "uuid:ceems_host_emissions_g_s:pue", true),
        ("total_gpu_emissions_gms", "", "uuid:ceems_gpu_emissions_g_s:pue", true),
    ]

    /// field → sub-key → query, for the recorded series present and their emission providers.
    public static func queries(series: Set<String>, providers: [String: [String]]) -> [String: [String: String]] {
        var queries: [String: [String: String]] = [:]
        for item in table where series.contains(item.series) {
            if item.emissions {
                for provider in providers[item.series, default: []] {
                    queries[item.field, default: [:]][provider + "_total"] = UpdaterQueryShapes.integral(
                        item.series, divisor: "1e3", provider: provider)
                }
            } else if item.field.hasPrefix("avg_") {
                queries[item.field, default: [:]][item.subkey] = UpdaterQueryShapes.average(item.series)
            } else {
                queries[item.field, default: [:]][item.subkey] = UpdaterQueryShapes.integral(
                    item.series, divisor: "3.6e9")
            }
        }
        return queries
    }

    /// `queries:` YAML, keys sorted, a blank line between fields.
    public static func yaml(_ queries: [String: [String: String]]) -> String {
        var blocks: [String] = []
        for field in queries.keys.sorted() {
            var block = "  \(field):\n"
            for (subkey, query) in queries[field]!.sorted(by: { $0.key < $1.key }) {
                block += "    \(subkey): \(YAMLText.quoted(query))\n"
            }
            blocks.append(block)
        }
        return "queries:\n" + blocks.joined(separator: "\n")
    }

    public static func generate(api: PrometheusAPI, start: Double, end: Double) async throws -> String {
        guard start < end else { throw ToolError("start time is not before end time") }
        let found = try await api.series(
            matching: table.map(\.series).map { "{__name__=\(PromQLText.quoted($0))}" }, start: start, end: end)
        var series: Set<String> = []
        var providers: [String: Set<String>] = [:]
        for labels in found {
            guard let name = labels["__name__"] else { continue }
            series.insert(name)
            if let provider = labels["provider"], !provider.isEmpty { providers[name, default: []].insert(provider) }
        }
        return yaml(queries(series: series, providers: providers.mapValues { $0.sorted() }))
    }
}
