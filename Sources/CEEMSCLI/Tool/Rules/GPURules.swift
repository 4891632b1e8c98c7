import CEEMSCore

/// Recording rules of a GPU exporter job: device power × PUE, each unit's share of it (ceems-tool.md §4.4), its
/// usage ratios and emission rate, and the job aggregates.
///
/// NVIDIA devices are joined to units on `gpuuuid` (instances on `gpuuuid`, `gpuiid`), AMD ones on the host and
/// `index` (the host part of `instance`, since the two exporters listen on different ports).
public struct GPURules: Sendable {
    public let plan: GPURulePlan
    public let settings: RuleSettings

    public init(plan: GPURulePlan, settings: RuleSettings) {
        self.plan = plan
        self.settings = settings
    }

    var amd: Bool { plan.vendor != .nvidia }
    var pue: String { PromQLText.number(settings.pue) }

    /// Labels identifying a physical device across the two exporters.
    var device: String { amd ? "\(HostMatch.label), index" : "gpuuuid" }
    /// Labels identifying a GPU instance (MIG / partition) of a device.
    var instance: String { device + ", gpuiid" }

    /// A series of the CEEMS job.
    func unit(_ name: String) -> String {
        let selector = "\(name){job=\(PromQLText.quoted(plan.unitJob))}"
        return amd ? HostMatch.tagged(selector) : selector
    }

    /// A series of the GPU job.
    func gpu(_ name: String) -> String {
        let selector = "\(name){job=\(PromQLText.quoted(plan.gpuJob))}"
        return amd ? HostMatch.tagged(selector) : selector
    }

    func gpuJob(_ name: String) -> String { "\(name){job=\(PromQLText.quoted(plan.gpuJob))}" }

    /// Removes the temporary host label of AMD joins.
    func finish(_ expression: String) -> String {
        amd ? "sum without (\(HostMatch.label)) (\n\(expression)\n)" : expression
    }

    var flag: String { unit("ceems_compute_unit_gpu_index_flag") }

    /// φ × a per-instance value (joined on the instance labels).
    func perUnit(_ perInstance: String) -> String {
        finish("\(flag)\n  * on (\(instance)) group_left ()\n  \(perInstance)")
    }

    /// φ × a per-device value.
    func perUnitDevice(_ perDevice: String) -> String {
        finish("\(flag)\n  * on (\(device)) group_left ()\n  \(perDevice)")
    }

    func byInstance(_ expression: String) -> String { "max by (\(instance)) (\(expression))" }

    var profilingAvailable: Bool {
        plan.vendor == .nvidia && plan.smCount && plan.profiling.contains("SM_ACTIVE")
            && plan.profiling.contains("SM_OCCUPANCY")
    }

    /// $P_{u,g}$. The flag φ already carries a MIG instance's SM fraction and a time-sliced or vGPU share (the
    /// exporter's flag values, exporter.md O2/O3), so without activity data a unit gets φ of its device's power.
    /// With DCGM SM activity and occupancy and the SM counts, instances in use instead share the device by
    /// effective SMs (a·o·s), and the units of one instance split its part by their flags.
    var unitPower: String {
        let devicePower = "max by (\(device)) (\(gpu(plan.vendor.devicePowerRecord)))"
        guard profilingAvailable else { return perUnitDevice(devicePower) }
        let weight =
            "(\(byInstance(gpu("DCGM_FI_PROF_SM_ACTIVE"))) * \(byInstance(gpu("DCGM_FI_PROF_SM_OCCUPANCY"))) * \(byInstance(unit("ceems_compute_unit_gpu_sm_count"))))"
        let share = "(\n    \(weight)\n    / on (\(device)) group_left ()\n    sum by (\(device)) (\(weight) > 0)\n  )"
        let withinInstance = "(\(flag) / on (\(instance)) group_left () sum by (\(instance)) (\(flag)))"
        return finish(
            "\(withinInstance)\n  * on (\(instance)) group_left ()\n  \(share)\n  * on (\(device)) group_left ()\n  \(devicePower)"
        )
    }

    var devicePowerRule: RuleFile.Rule {
        let scaled = plan.vendor.powerScaler == 1 ? "" : " / \(PromQLText.number(plan.vendor.powerScaler))"
        return .init(plan.vendor.devicePowerRecord, "\(pue) * \(gpuJob(plan.vendor.powerSeries))\(scaled)")
    }

    /// (unit usage, unit memory usage, job usage, job memory usage).
    var usageExpressions: (String, String, String, String) {
        switch plan.vendor {
        case .nvidia:
            let engine = plan.profiling.contains("GR_ENGINE_ACTIVE")
            let usage =
                engine
                ? perUnit("(100 * \(byInstance(gpu("DCGM_FI_PROF_GR_ENGINE_ACTIVE"))))")
                : perUnitDevice("max by (\(device)) (\(gpu("DCGM_FI_DEV_GPU_UTIL")))")
            let used = byInstance(gpu("DCGM_FI_DEV_FB_USED"))
            let free = byInstance(gpu("DCGM_FI_DEV_FB_FREE"))
            let memory = perUnit("(100 * \(used) / ((\(used) + \(free)) > 0))")
            let jobUsage =
                engine
                ? "avg by (job) (100 * \(gpuJob("DCGM_FI_PROF_GR_ENGINE_ACTIVE")))"
                : "avg by (job) (\(gpuJob("DCGM_FI_DEV_GPU_UTIL")))"
            let jobMemory =
                "avg by (job) (\n  100 * \(gpuJob("DCGM_FI_DEV_FB_USED"))\n  / ((\(gpuJob("DCGM_FI_DEV_FB_USED")) + \(gpuJob("DCGM_FI_DEV_FB_FREE"))) > 0)\n)"
            return (usage, memory, jobUsage, jobMemory)
        case .amdSMI:
            return (
                perUnitDevice("max by (\(device)) (\(gpu("amd_gpu_use_percent")))"),
                perUnitDevice("max by (\(device)) (\(gpu("amd_gpu_memory_use_percent")))"),
                "avg by (job) (\(gpuJob("amd_gpu_use_percent")))",
                "avg by (job) (\(gpuJob("amd_gpu_memory_use_percent")))"
            )
        case .amdDeviceMetrics:
            let used = byInstance(gpu("gpu_used_vram"))
            let total = byInstance(gpu("gpu_total_vram"))
            return (
                perUnit(byInstance(gpu("gpu_gfx_activity"))),
                perUnit("(100 * \(used) / (\(total) > 0))"),
                "avg by (job) (\(gpuJob("gpu_gfx_activity")))",
                "avg by (job) (\n  100 * \(gpuJob("gpu_used_vram"))\n  / (\(gpuJob("gpu_total_vram")) > 0)\n)"
            )
        }
    }

    public func ruleFile() -> RuleFile {
        let (usage, memory, jobUsage, jobMemory) = usageExpressions
        var unitRules: [RuleFile.Rule] = [
            devicePowerRule,
            .init("uuid:ceems_gpu_usage:ratio", usage),
            .init("uuid:ceems_gpu_memory_usage:ratio", memory),
            .init("uuid:ceems_gpu_power_watts:pue", unitPower),
        ]
        unitRules += EmissionRules.rules(
            record: "uuid:ceems_gpu_emissions_g_s:pue",
            power: "uuid:ceems_gpu_power_watts:pue{job=\(PromQLText.quoted(plan.unitJob))}",
            emissions: settings.emissions, jobLabels: false)
        if plan.vendor == .nvidia {
            // Units of this GPU job, value 1: the profiling ratios are per instance, not split between units.
            let units = "(\(flag) > 0) / (\(flag) > 0)"
            for metric in ProfilingMetrics.all where plan.profiling.contains(metric) {
                unitRules.append(
                    .init(
                        "uuid:ceems_gpu_\(metric.lowercased()):ratio",
                        "\(units)\n  * on (\(instance)) group_left ()\n  (100 * \(byInstance(gpu("DCGM_FI_PROF_\(metric)"))))"
                    ))
            }
        }
        var jobRules: [RuleFile.Rule] = [
            .init("job:ceems_gpu_usage:avg", jobUsage),
            .init("job:ceems_gpu_memory_usage:avg_ratio", jobMemory),
            .init("job:ceems_gpu_power_watts:pue", "sum by (job) (\(gpuJob(plan.vendor.devicePowerRecord)))"),
        ]
        jobRules += EmissionRules.rules(
            record: "job:ceems_gpu_emissions_g_s:pue", power: gpuJob("job:ceems_gpu_power_watts:pue"),
            emissions: settings.emissions, jobLabels: true)
        return RuleFile(groups: [
            .init(name: "compute-unit-gpu-rules-\(plan.gpuJob)", interval: settings.evaluationInterval, rules: unitRules),
            .init(name: "host-agg-gpu-rules-\(plan.gpuJob)", interval: settings.rateInterval, rules: jobRules),
        ])
    }
}

/// The DCGM profiling metrics recorded per unit (`DCGM_FI_PROF_<X>` → `uuid:ceems_gpu_<x>:ratio`).
public enum ProfilingMetrics {
    public static let all = [
        "SM_ACTIVE", "SM_OCCUPANCY", "GR_ENGINE_ACTIVE", "PIPE_TENSOR_ACTIVE", "PIPE_FP64_ACTIVE", "PIPE_FP32_ACTIVE",
        "PIPE_FP16_ACTIVE", "DRAM_ACTIVE", "NVLINK_TX_BYTES", "NVLINK_RX_BYTES", "PCIE_TX_BYTES", "PCIE_RX_BYTES",
    ]
}
