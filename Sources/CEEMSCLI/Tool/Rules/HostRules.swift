import CEEMSCore

/// Recording rules of a CEEMS exporter job: CPU and memory usage of each unit, node power × PUE, each unit's share
/// of it (ceems-tool.md §4.2–§4.3) and its emission rate (§4.5), and the job aggregates (§4.6).
///
/// Every node-level quantity is reduced to the `instance` label before it meets unit series, so the joins are
/// one-to-many whatever else a node series carries; every divisor is filtered `> 0`, so an idle node gives no
/// sample instead of NaN.
public struct HostRules: Sendable {
    public let plan: HostRulePlan
    public let settings: RuleSettings

    public init(plan: HostRulePlan, settings: RuleSettings) {
        self.plan = plan
        self.settings = settings
    }

    var rate: String { GoDurationFormat.string(settings.rateInterval) }
    var pue: String { PromQLText.number(settings.pue) }

    func select(_ name: String, _ extra: String = "") -> String {
        "\(name){job=\(PromQLText.quoted(plan.job))\(extra.isEmpty ? "" : "," + extra)}"
    }

    func irate(_ name: String) -> String { "irate(\(select(name))[\(rate)])" }

    func perNode(_ expression: String) -> String { "sum by (instance) (\(expression))" }

    // MARK: unit shares (§4.2)

    /// $\dot U_u + \dot S_u$.
    var unitCPURate: String {
        "(\(irate("ceems_compute_unit_cpu_user_seconds_total")) + \(irate("ceems_compute_unit_cpu_system_seconds_total")))"
    }

    /// Busy CPU time of the node per second (every mode but idle, iowait and steal).
    var nodeBusyCPU: String {
        perNode("irate(\(select("ceems_cpu_seconds_total", #"mode!~"idle|iowait|steal""#))[\(rate)])")
    }

    /// $c_u$.
    var cpuShare: String {
        "\(unitCPURate)\n  / on (instance) group_left ()\n  (\(nodeBusyCPU) > 0)"
    }

    /// $m_u$.
    var memoryShare: String {
        let used =
            "\(perNode(select("ceems_meminfo_MemTotal_bytes"))) - \(perNode(select("ceems_meminfo_MemAvailable_bytes")))"
        return "\(select("ceems_compute_unit_memory_used_bytes"))\n  / on (instance) group_left ()\n  ((\(used)) > 0)"
    }

    /// $q_u = M_u / (M_u N_i)$: 1/N for units with memory in use, no sample otherwise.
    var miscShare: String {
        let memory = select("ceems_compute_unit_memory_used_bytes")
        return "(\(memory) > 0) / (\(memory) > 0)\n  / on (instance) group_left ()\n  \(perNode(select("ceems_compute_units")))"
    }

    // MARK: node power

    /// The node meter series (Redfish restricted to the chosen chassis).
    var meter: String {
        switch plan.power {
        case .redfish(let chassis): select(plan.power.seriesName, "chassis=" + PromQLText.quoted(chassis))
        default: select(plan.power.seriesName)
        }
    }

    /// `instance:<meter>:pue`: p S, or p (S − Σ GPU power of the host) where the meter includes the GPUs
    /// (nodes where that is ≤ 0 dropped; nodes without GPU series keep p S).
    var nodePowerRule: RuleFile.Rule {
        let record = "instance:\(plan.power.seriesName):pue"
        if case .cray = plan.power { return .init(record, "\(pue) * \(meter)") }
        guard let gpu = plan.gpuPowerIncluded else { return .init(record, "\(pue) * \(meter)") }
        let host = HostMatch.tagged(meter)
        let gpuPower = HostMatch.tagged("\(gpu.vendor.powerSeries){job=\(PromQLText.quoted(gpu.job))}")
        let scaled = gpu.vendor.powerScaler == 1 ? "" : " / \(PromQLText.number(gpu.vendor.powerScaler))"
        let expression = """
            \(pue) * sum without (\(HostMatch.label)) (
              (
                \(host)
                - on (\(HostMatch.label)) group_left ()
                sum by (\(HostMatch.label)) (\(gpuPower))\(scaled)
              ) > 0
              or
              \(host) unless on (\(HostMatch.label)) \(gpuPower)
            )
            """
        return .init(record, expression)
    }

    /// $H_i$ per node.
    var nodePower: String { perNode(select("instance:\(plan.power.seriesName):pue")) }

    func perNodeRate(_ name: String) -> String { perNode(irate(name)) }

    // MARK: rules

    public func ruleFile() -> RuleFile {
        var unitRules: [RuleFile.Rule] = [
            .init(
                "uuid:ceems_cpu_usage:ratio_irate",
                "100 * \(unitCPURate)\n  / (\(select("ceems_compute_unit_cpus")) > 0)"),
            .init(
                "uuid:ceems_cpu_memory_usage:ratio",
                "100 * \(select("ceems_compute_unit_memory_used_bytes"))\n  / (\(select("ceems_compute_unit_memory_total_bytes")) > 0)"
            ),
        ]
        if case .rapl = plan.power {
            for name in ["ceems_rapl_package_joules_total", "ceems_rapl_dram_joules_total"] {
                unitRules.append(.init("instance:\(name):pue", "\(pue) * \(select(name))"))
            }
        } else {
            unitRules.append(nodePowerRule)
        }
        unitRules.append(.init("uuid:ceems_host_power_watts:pue", unitPower))
        unitRules += emissionRules(record: "uuid:ceems_host_emissions_g_s:pue", power: select("uuid:ceems_host_power_watts:pue"), jobLabels: false)

        var jobRules: [RuleFile.Rule] = [
            .init("job:ceems_cpu_usage:avg_ratio_irate", jobCPUUsage),
            .init(
                "job:ceems_cpu_memory_usage:avg_ratio",
                "avg by (job) (\n  100 * (1 - sum by (instance, job) (\(select("ceems_meminfo_MemAvailable_bytes")))\n    / sum by (instance, job) (\(select("ceems_meminfo_MemTotal_bytes"))))\n)"
            ),
            .init("job:ceems_host_power_watts:pue", jobPower),
        ]
        jobRules += emissionRules(record: "job:ceems_host_emissions_g_s:pue", power: select("job:ceems_host_power_watts:pue"), jobLabels: true)
        return RuleFile(groups: [
            .init(name: "compute-unit-rules-\(plan.job)", interval: settings.evaluationInterval, rules: unitRules),
            .init(name: "host-agg-rules-\(plan.job)", interval: settings.rateInterval, rules: jobRules),
        ])
    }

    /// $P_u$ (§4.3).
    var unitPower: String {
        func term(_ share: String, _ nodeFactor: String) -> String {
            "(\n  \(share)\n)\n* on (instance) group_left ()\n\(nodeFactor)"
        }
        let package = perNodeRate("ceems_rapl_package_joules_total")
        let dram = perNodeRate("ceems_rapl_dram_joules_total")
        switch plan.power {
        case .ipmi, .redfish:
            let misc = term(miscShare, "(0.1 * \(nodePower))")
            guard plan.raplAvailable else {
                return term(cpuShare, "(0.9 * \(nodePower))") + "\n+\n" + misc
            }
            let total = "((\(package) + \(dram)) > 0)"
            return term(cpuShare, "(0.9 * \(nodePower) * \(package) / \(total))") + "\n+\n"
                + term(memoryShare, "(0.9 * \(nodePower) * \(dram) / \(total))") + "\n+\n" + misc
        case .rapl:
            return term(cpuShare, "(\(pue) * \(package))") + "\n+\n" + term(memoryShare, "(\(pue) * \(dram))")
        case .cray:
            let name = plan.power.seriesName
            let cpu = perNode(select(name, #"domain="cpu""#))
            let memory = perNode(select(name, #"domain="memory""#))
            let others = "(\(perNode(select(name, #"domain="node""#))) - \(perNode(select(name, #"domain!="node""#))))"
            return term(cpuShare, "(\(pue) * \(cpu))") + "\n+\n" + term(memoryShare, "(\(pue) * \(memory))")
                + "\n+\n" + term(miscShare, "(\(pue) * \(others))")
        }
    }

    /// §4.6: mean over nodes of the busy CPU time relative to the physical cores.
    var jobCPUUsage: String {
        let busy = "sum by (instance, job) (irate(\(select("ceems_cpu_seconds_total", #"mode!~"idle|iowait|steal""#))[\(rate)]))"
        let cores =
            "(sum by (instance, job) (\(select("ceems_cpu_count"))) / sum by (instance, job) (\(select("ceems_cpu_per_core_count"))))"
        return "avg by (job) (\n  100 * \(busy)\n  / (\(cores) > 0)\n)"
    }

    /// §4.6: the job's host power.
    var jobPower: String {
        switch plan.power {
        case .ipmi, .redfish:
            return "sum by (job) (\(select("instance:\(plan.power.seriesName):pue")))"
        case .rapl:
            let package = "sum by (job) (\(irate("ceems_rapl_package_joules_total")))"
            let dram = "sum by (job) (\(irate("ceems_rapl_dram_joules_total")))"
            return "\(pue) * (\(package) + \(dram))"
        case .cray:
            let name = plan.power.seriesName
            let node = "sum by (job) (\(select(name, #"domain="node""#)))"
            let accelerators = "sum by (job) (\(select(name, #"domain=~"accel.*""#)))"
            return "\(pue) * (\(node) - (\(accelerators) or 0 * \(node)))"
        }
    }

    func emissionRules(record: String, power: String, jobLabels: Bool) -> [RuleFile.Rule] {
        EmissionRules.rules(record: record, power: power, emissions: settings.emissions, jobLabels: jobLabels)
    }
}

/// Emission-rate rules: power (W) ÷ 3.6e6 × factor (g/kWh) = g/s, one rule per provider (§4.5).
enum EmissionRules {
    static func rules(record: String, power: String, emissions: EmissionFactorSource, jobLabels: Bool)
        -> [RuleFile.Rule]
    {
        switch emissions {
        case .none:
            return []
        case .constant(let provider, let factor, let countryCode, let country):
            var labels = [("provider", provider)]
            if jobLabels { labels += [("country_code", countryCode), ("country", country)] }
            return [.init(record, "\(power) / 3.6e6 * \(PromQLText.number(factor))", labels: labels)]
        case .providers(let countryCode, let names):
            return names.map { provider in
                let factor =
                    "ceems_emissions_gCo2_kWh{country_code=\(PromQLText.quoted(countryCode)),provider=\(PromQLText.quoted(provider))}"
                if jobLabels {
                    let copied = "provider, country_code, country"
                    return .init(
                        record,
                        "\(power) / 3.6e6\n  * on () group_left (\(copied))\n  max by (\(copied)) (\(factor))")
                }
                return .init(
                    record, "\(power) / 3.6e6\n  * on () group_left ()\n  max(\(factor))",
                    labels: [("provider", provider)])
            }
        }
    }
}

/// Series of two exporters on one host differ in their `instance` port: a temporary label holds the host part
/// for the join and is removed after it.
enum HostMatch {
    static let label = "ceemshost"

    static func tagged(_ expression: String) -> String {
        #"label_replace(\#(expression), "\#(label)", "$1", "instance", "(.*?)(?::[0-9]+)?")"#
    }
}
