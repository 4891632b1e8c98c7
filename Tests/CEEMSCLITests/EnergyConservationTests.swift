import CEEMSCLI
import CEEMSCore
import CEEMSTestSupport
import Foundation
import Testing

/// A synthetic cluster for `promtool test rules`: two nodes of the CEEMS job `ceems`, four units (one with an
/// empty cgroup), system daemons using CPU and memory on node n1, node n2 fully used by one unit, and GPUs on n1.
/// Every expected value is computed here from the formulas of ceems-tool.md §4, independently of the rules.
struct EnergyScenario: CustomStringConvertible, Sendable {
    enum GPU: String, Sendable { case nvidia, nvidiaProfiling, amdSMI, amdDeviceMetrics }

    var power: HostPowerSource
    var rapl = true
    var gpu: GPU?
    var providers = false

    var description: String {
        "\(power)\(rapl ? "" : "-norapl")\(gpu.map { "+\($0.rawValue)" } ?? "")\(providers ? "+providers" : "")"
    }

    static let pue = 1.2
    static let customFactor = 50.0
    static let providerFactors = [("emaps", 40.0), ("rte", 30.0)]

    struct Unit {
        var uuid: String
        var node: String
        var user: Double
        var system: Double
        var memory: Double
        var memoryLimit: Double
        var cpus: Double
    }

    struct Node {
        var name: String
        var modes: [(String, Double)]
        var memTotal: Double
        var memAvailable: Double
        var meter: Double
        var package: Double
        var dram: Double
        var cray: [(String, Double)]
        var cpuCount: Double
        var perCore: Double
        var units: Int

        var busy: Double {
            modes.filter { !["idle", "iowait", "steal"].contains($0.0) }.reduce(0) { $0 + $1.1 }
        }
    }

    /// One GPU (or AMD device) with the units on it: (uuid, gpuiid, flag, sm count, SM activity, occupancy).
    struct Device {
        var id: String
        var power: Double
        var users: [(uuid: String, gpuiid: String, flag: Double, sm: Double, active: Double, occupancy: Double)]
        var engineActive: Double
        var utilisation: Double
    }

    static let g = 1024.0 * 1024 * 1024
    let units = [
        Unit(uuid: "u1", node: "n1", user: 1.5, system: 0.3, memory: 8 * g, memoryLimit: 16 * g, cpus: 4),
        Unit(uuid: "u2", node: "n1", user: 0.9, system: 0.3, memory: 4 * g, memoryLimit: 8 * g, cpus: 2),
        Unit(uuid: "u3", node: "n1", user: 0, system: 0, memory: 0, memoryLimit: 4 * g, cpus: 1),
        Unit(uuid: "u4", node: "n2", user: 2.0, system: 0.5, memory: 16 * g, memoryLimit: 16 * g, cpus: 4),
    ]
    let nodes = [
        Node(
            name: "n1", modes: [("user", 3.0), ("system", 1.0), ("nice", 0.5), ("idle", 12), ("iowait", 0.5), ("steal", 0.25)],
            memTotal: 64 * g, memAvailable: 40 * g, meter: 400, package: 120, dram: 30,
            cray: [("node", 600), ("cpu", 150), ("memory", 50), ("accel0", 200), ("accel1", 100)], cpuCount: 16,
            perCore: 2, units: 3),
        Node(
            name: "n2", modes: [("user", 2.0), ("system", 0.5), ("idle", 5), ("iowait", 0)], memTotal: 32 * g,
            memAvailable: 16 * g, meter: 250, package: 60, dram: 15, cray: [("node", 300), ("cpu", 90), ("memory", 30)],
            cpuCount: 8, perCore: 1, units: 1),
    ]

    /// GPUs of n1. NVIDIA: a full GPU, a time-sliced one (two units at 0.5), a MIG GPU with instances of 42, 14 and
    /// 14 SMs, two of them in use (flags are SM fractions, exporter.md O2).
    var devices: [Device] {
        guard let gpu else { return [] }
        switch gpu {
        case .nvidia, .nvidiaProfiling:
            return [
                Device(id: "GPU-A", power: 300, users: [("u1", "", 1, 108, 0.5, 0.4)], engineActive: 0.7, utilisation: 65),
                Device(
                    id: "GPU-B", power: 200, users: [("u1", "", 0.5, 108, 0.8, 0.5), ("u2", "", 0.5, 108, 0.8, 0.5)],
                    engineActive: 0.9, utilisation: 88),
                Device(
                    id: "GPU-C", power: 250, users: [("u2", "1", 0.6, 42, 0.6, 0.5), ("u3", "2", 0.2, 14, 0.2, 0.5)],
                    engineActive: 0.3, utilisation: 40),
            ]
        case .amdSMI, .amdDeviceMetrics:
            var devices = [
                Device(id: "0", power: 300, users: [("u1", "", 1, 0, 0, 0)], engineActive: 0, utilisation: 65),
                Device(id: "1", power: 200, users: [("u1", "", 0.5, 0, 0, 0), ("u2", "", 0.5, 0, 0, 0)], engineActive: 0, utilisation: 88),
            ]
            if gpu == .amdDeviceMetrics {
                devices.append(
                    Device(id: "2", power: 100, users: [("u2", "0", 0.5, 0, 0, 0), ("u3", "1", 0.5, 0, 0, 0)], engineActive: 0, utilisation: 40))
            }
            return devices
        }
    }

    var vendor: GPUVendor? {
        switch gpu {
        case .none: nil
        case .nvidia, .nvidiaProfiling: .nvidia
        case .amdSMI: .amdSMI
        case .amdDeviceMetrics: .amdDeviceMetrics
        }
    }

    var gpuJob: String { vendor == .nvidia ? "dcgm" : "amd" }
    var gpuIncluded: Bool { gpu != nil && (power == .ipmi || power == .redfish(chassis: "Chassis_1")) }

    var emissions: EmissionFactorSource {
        providers
            ? .providers(countryCode: "FR", names: Self.providerFactors.map(\.0))
            : .constant(provider: "custom", factor: Self.customFactor, countryCode: "", country: "")
    }

    var settings: RuleSettings {
        RuleSettings(pue: Self.pue, evaluationInterval: .seconds(15), rateInterval: .seconds(60), emissions: emissions)
    }

    func ruleFiles() -> [(String, String)] {
        var plan = HostRulePlan(job: "ceems", power: power, raplAvailable: rapl)
        if gpuIncluded, let vendor { plan.gpuPowerIncluded = (gpuJob, vendor) }
        var files = [("ceems.rules", HostRules(plan: plan, settings: settings).ruleFile().yaml())]
        if let vendor {
            let gpuPlan = GPURulePlan(
                gpuJob: gpuJob, unitJob: "ceems", vendor: vendor,
                profiling: gpu == .nvidiaProfiling ? ["SM_ACTIVE", "SM_OCCUPANCY", "GR_ENGINE_ACTIVE"] : [],
                smCount: gpu == .nvidiaProfiling)
            files.append(("\(gpuJob)-gpu.rules", GPURules(plan: gpuPlan, settings: settings).ruleFile().yaml()))
        }
        return files
    }

    // MARK: expected values (§4)

    func node(_ name: String) -> Node { nodes.first { $0.name == name }! }

    /// Node host power × PUE the units share (IPMI/Redfish: meter without GPUs; RAPL: package + DRAM; Cray:
    /// node minus accelerators).
    func nodeTotal(_ node: Node) -> Double {
        switch power {
        case .ipmi, .redfish: Self.pue * node.meter
        case .rapl: Self.pue * (node.package + node.dram)
        case .cray:
            Self.pue * (node.cray.first { $0.0 == "node" }!.1 - node.cray.filter { $0.0.hasPrefix("accel") }.reduce(0) { $0 + $1.1 })
        }
    }

    func shares(_ unit: Unit) -> (cpu: Double, memory: Double, misc: Double?) {
        let node = node(unit.node)
        return (
            (unit.user + unit.system) / node.busy, unit.memory / (node.memTotal - node.memAvailable),
            unit.memory > 0 ? 1 / Double(node.units) : nil
        )
    }

    /// $P_u$, nil where the unit gets no sample.
    func unitPower(_ unit: Unit) -> Double? {
        let node = node(unit.node)
        let (c, m, q) = shares(unit)
        let p = Self.pue
        switch power {
        case .ipmi, .redfish:
            guard let q else { return nil }
            let h = p * node.meter
            if rapl {
                let total = node.package + node.dram
                return 0.9 * h * node.package / total * c + 0.9 * h * node.dram / total * m + 0.1 * h * q
            }
            return 0.9 * h * c + 0.1 * h * q
        case .rapl:
            return p * node.package * c + p * node.dram * m
        case .cray:
            guard let q else { return nil }
            let domain = { (name: String) in node.cray.first { $0.0 == name }?.1 ?? 0 }
            let others = node.cray.filter { $0.0 != "node" }.reduce(0) { $0 + $1.1 }
            return p * domain("cpu") * c + p * domain("memory") * m + p * (domain("node") - others) * q
        }
    }

    /// What no unit gets on a node: the daemons' CPU and memory parts and the misc part of units without memory.
    func unattributed(_ node: Node) -> Double {
        let mine = units.filter { $0.node == node.name }
        let daemonCPU = (node.busy - mine.reduce(0) { $0 + $1.user + $1.system }) / node.busy
        let otherMemory =
            (node.memTotal - node.memAvailable - mine.reduce(0) { $0 + $1.memory }) / (node.memTotal - node.memAvailable)
        let emptyUnits = Double(node.units - mine.filter { $0.memory > 0 }.count) / Double(node.units)
        let p = Self.pue
        switch power {
        case .ipmi, .redfish:
            let h = p * node.meter
            let (cpuPool, memoryPool) =
                rapl
                ? (0.9 * h * node.package / (node.package + node.dram), 0.9 * h * node.dram / (node.package + node.dram))
                : (0.9 * h, 0)
            return cpuPool * daemonCPU + memoryPool * (rapl ? otherMemory : 0) + 0.1 * h * emptyUnits
        case .rapl:
            return p * node.package * daemonCPU + p * node.dram * otherMemory
        case .cray:
            let domain = { (name: String) in node.cray.first { $0.0 == name }?.1 ?? 0 }
            let misc = domain("node") - node.cray.filter { $0.0 != "node" }.reduce(0) { $0 + $1.1 }
            return p * domain("cpu") * daemonCPU + p * domain("memory") * otherMemory + p * misc * emptyUnits
        }
    }

    /// $P_{u,g}$ of each (device, unit).
    func gpuPower(_ device: Device) -> [(uuid: String, gpuiid: String, watts: Double)] {
        let d = Self.pue * device.power
        guard gpu == .nvidiaProfiling else { return device.users.map { ($0.uuid, $0.gpuiid, d * $0.flag) } }
        var weights: [String: Double] = [:]
        var flags: [String: Double] = [:]
        for user in device.users {
            weights[user.gpuiid] = user.active * user.occupancy * user.sm
            flags[user.gpuiid, default: 0] += user.flag
        }
        let total = weights.values.filter { $0 > 0 }.reduce(0, +)
        return device.users.map { ($0.uuid, $0.gpuiid, d * weights[$0.gpuiid]! / total * $0.flag / flags[$0.gpuiid]!) }
    }
}

extension EnergyScenario {
    /// promtool `input_series`: counters as `0+<15 s increment>x40`, gauges as `<v>x40`.
    var inputSeries: [(String, String)] {
        var series: [(String, String)] = []
        func counter(_ selector: String, _ rate: Double) { series.append((selector, "0+\(Self.text(rate * 15))x40")) }
        func gauge(_ selector: String, _ value: Double) { series.append((selector, "\(Self.text(value))x40")) }
        for node in nodes {
            let labels = #"job="ceems",instance="\#(node.name):9010",hostname="\#(node.name)""#
            for (mode, rate) in node.modes { counter("ceems_cpu_seconds_total{\(labels),mode=\"\(mode)\"}", rate) }
            gauge("ceems_meminfo_MemTotal_bytes{\(labels)}", node.memTotal)
            gauge("ceems_meminfo_MemAvailable_bytes{\(labels)}", node.memAvailable)
            gauge("ceems_compute_units{\(labels),manager=\"slurm\"}", Double(node.units))
            gauge("ceems_cpu_count{\(labels)}", node.cpuCount)
            gauge("ceems_cpu_per_core_count{\(labels)}", node.perCore)
            let gpuWatts = devices.isEmpty || node.name != "n1" ? 0 : devices.reduce(0) { $0 + $1.power }
            let meter = node.meter + (gpuIncluded ? gpuWatts : 0)
            switch power {
            case .ipmi:
                gauge("ceems_ipmi_dcmi_current_watts{\(labels)}", meter)
            case .redfish:
                gauge("ceems_redfish_current_watts{\(labels),chassis=\"Chassis_1\"}", meter)
                gauge("ceems_redfish_current_watts{\(labels),chassis=\"Chassis_2\"}", 1700)
            case .cray:
                for (domain, watts) in node.cray {
                    gauge("ceems_cray_pm_counters_power_watts{\(labels),domain=\"\(domain)\"}", watts)
                }
            case .rapl:
                break
            }
            if rapl || power == .rapl {
                // Two packages, the node's power split between them.
                for index in ["0", "1"] {
                    counter("ceems_rapl_package_joules_total{\(labels),index=\"\(index)\"}", node.package / 2)
                    counter("ceems_rapl_dram_joules_total{\(labels),index=\"\(index)\"}", node.dram / 2)
                }
            }
        }
        for unit in units {
            let labels = #"job="ceems",instance="\#(unit.node):9010",hostname="\#(unit.node)",manager="slurm",uuid="\#(unit.uuid)""#
            counter("ceems_compute_unit_cpu_user_seconds_total{\(labels)}", unit.user)
            counter("ceems_compute_unit_cpu_system_seconds_total{\(labels)}", unit.system)
            gauge("ceems_compute_unit_memory_used_bytes{\(labels)}", unit.memory)
            gauge("ceems_compute_unit_memory_total_bytes{\(labels)}", unit.memoryLimit)
            gauge("ceems_compute_unit_cpus{\(labels)}", unit.cpus)
        }
        if providers {
            for (provider, factor) in Self.providerFactors {
                gauge(
                    #"ceems_emissions_gCo2_kWh{job="ceems",instance="n1:9010",provider="\#(provider)",provider_name="\#(provider)",country_code="FR",country="France"}"#,
                    factor)
            }
        }
        for (number, device) in devices.enumerated() {
            var instances: Set<String> = []
            for user in device.users {
                let gpuLabels: String
                if vendor == .nvidia {
                    gpuLabels = #"gpuuuid="\#(device.id)",gpuiid="\#(user.gpuiid)",index="\#(number)",hindex="/gpu-\#(number)""#
                } else {
                    gpuLabels = #"gpuuuid="serial\#(device.id)",gpuiid="\#(user.gpuiid)",index="\#(device.id)",hindex="/gpu-\#(device.id)""#
                }
                let labels = #"job="ceems",instance="n1:9010",hostname="n1",manager="slurm",uuid="\#(user.uuid)",\#(gpuLabels)"#
                gauge("ceems_compute_unit_gpu_index_flag{\(labels)}", user.flag)
                if gpu == .nvidiaProfiling { gauge("ceems_compute_unit_gpu_sm_count{\(labels)}", user.sm) }
                if vendor == .nvidia, instances.insert(user.gpuiid).inserted {
                    let instance = user.gpuiid.isEmpty ? "" : #",gpuiid="\#(user.gpuiid)""#
                    let dcgm = #"job="dcgm",instance="n1:9400",Hostname="n1",modelName="NVIDIA A100",gpuuuid="\#(device.id)"\#(instance)"#
                    gauge("DCGM_FI_PROF_SM_ACTIVE{\(dcgm)}", user.active)
                    gauge("DCGM_FI_PROF_SM_OCCUPANCY{\(dcgm)}", user.occupancy)
                    gauge("DCGM_FI_PROF_GR_ENGINE_ACTIVE{\(dcgm)}", device.engineActive)
                    gauge("DCGM_FI_DEV_FB_USED{\(dcgm)}", 30)
                    gauge("DCGM_FI_DEV_FB_FREE{\(dcgm)}", 10)
                }
            }
            switch vendor {
            case .nvidia:
                let dcgm = #"job="dcgm",instance="n1:9400",Hostname="n1",modelName="NVIDIA A100",gpuuuid="\#(device.id)""#
                gauge("DCGM_FI_DEV_POWER_USAGE_INSTANT{\(dcgm)}", device.power)
                gauge("DCGM_FI_DEV_GPU_UTIL{\(dcgm)}", device.utilisation)
            case .amdSMI:
                let amd = #"job="amd",instance="n1:5000",index="\#(device.id)""#
                gauge("amd_gpu_power{\(amd)}", device.power * 1e6)
                gauge("amd_gpu_use_percent{\(amd)}", device.utilisation)
                gauge("amd_gpu_memory_use_percent{\(amd)}", 75)
            case .amdDeviceMetrics:
                let amd = #"job="amd",instance="n1:5000",index="\#(device.id)""#
                gauge("gpu_power_usage{\(amd)}", device.power)
                for user in device.users {
                    let partition = user.gpuiid.isEmpty ? "" : #",gpuiid="\#(user.gpuiid)""#
                    gauge("gpu_gfx_activity{\(amd)\(partition)}", device.utilisation)
                    gauge("gpu_used_vram{\(amd)\(partition)}", 30)
                    gauge("gpu_total_vram{\(amd)\(partition)}", 40)
                }
            case nil:
                break
            }
        }
        return series
    }

    static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// `expression` is within 0.1 % of `expected` (an expression yielding one sample 1, checked against exactly one
    /// series: a missing or duplicated series fails too).
    static func within(_ expression: String, _ expected: Double) -> (String, Double) {
        ("sum(abs((\(expression)) / \(text(expected)) - 1) < bool 0.001) and count(\(expression)) == 1", 1)
    }

    /// (expression, expected value) checks at 5 min.
    var checks: [(String, Double)] {
        var checks: [(String, Double)] = []
        let p = Self.pue
        let factors = providers ? Self.providerFactors : [("custom", Self.customFactor)]
        for unit in units {
            let selector = #"{uuid="\#(unit.uuid)"}"#
            if let watts = unitPower(unit) {
                if watts == 0 {
                    checks.append(("sum(uuid:ceems_host_power_watts:pue\(selector))", 0))
                } else {
                    checks.append(Self.within("uuid:ceems_host_power_watts:pue\(selector)", watts))
                    for (provider, factor) in factors {
                        checks.append(
                            Self.within(#"uuid:ceems_host_emissions_g_s:pue{uuid="\#(unit.uuid)",provider="\#(provider)"}"#, watts / 3.6e6 * factor))
                    }
                }
            } else {
                // A unit without memory in use gets no host-power sample (§4.2).
                checks.append(("count(uuid:ceems_host_power_watts:pue\(selector)) or vector(0)", 0))
            }
            if unit.user + unit.system > 0 {
                checks.append(Self.within("uuid:ceems_cpu_usage:ratio_irate\(selector)", 100 * (unit.user + unit.system) / unit.cpus))
                checks.append(Self.within("uuid:ceems_cpu_memory_usage:ratio\(selector)", 100 * unit.memory / unit.memoryLimit))
            }
        }
        var jobTotal = 0.0
        for node in nodes {
            let total = nodeTotal(node)
            jobTotal += total
            // Conservation: the units' power plus what no unit gets is the node's power × PUE.
            let attributed = #"sum(uuid:ceems_host_power_watts:pue{instance="\#(node.name):9010"})"#
            checks.append(Self.within("\(attributed) + \(Self.text(unattributed(node)))", total))
            if node.name == "n2" {
                // Fully used node: everything is attributed.
                checks.append(Self.within(attributed, total))
            }
            switch power {
            case .ipmi, .redfish:
                checks.append(Self.within(#"instance:\#(power.seriesName):pue{instance="\#(node.name):9010"}"#, p * node.meter))
            case .cray:
                checks.append(
                    Self.within(#"instance:ceems_cray_pm_counters_power_watts:pue{instance="\#(node.name):9010",domain="node"}"#, p * node.cray[0].1))
            case .rapl:
                checks.append(("count(instance:ceems_rapl_package_joules_total:pue{instance=\"\(node.name):9010\"})", 2))
            }
        }
        checks.append(Self.within(#"job:ceems_host_power_watts:pue{job="ceems"}"#, jobTotal))
        for (provider, factor) in factors {
            checks.append(Self.within(#"job:ceems_host_emissions_g_s:pue{job="ceems",provider="\#(provider)"}"#, jobTotal / 3.6e6 * factor))
        }
        let cpuAverage = nodes.reduce(0) { $0 + 100 * $1.busy / ($1.cpuCount / $1.perCore) } / Double(nodes.count)
        checks.append(Self.within("job:ceems_cpu_usage:avg_ratio_irate", cpuAverage))
        let memoryAverage = nodes.reduce(0) { $0 + 100 * (1 - $1.memAvailable / $1.memTotal) } / Double(nodes.count)
        checks.append(Self.within("job:ceems_cpu_memory_usage:avg_ratio", memoryAverage))

        guard let vendor else { return checks }
        var gpuTotal = 0.0
        for device in devices {
            let deviceSelector = vendor == .nvidia ? #"gpuuuid="\#(device.id)""# : #"index="\#(device.id)""#
            let attributed = gpuPower(device)
            for share in attributed {
                let selector = #"{uuid="\#(share.uuid)",\#(deviceSelector),gpuiid="\#(share.gpuiid)"}"#
                checks.append(Self.within("uuid:ceems_gpu_power_watts:pue\(selector)", share.watts))
                for (provider, factor) in factors {
                    checks.append(
                        Self.within(
                            #"uuid:ceems_gpu_emissions_g_s:pue{uuid="\#(share.uuid)",\#(deviceSelector),gpuiid="\#(share.gpuiid)",provider="\#(provider)"}"#,
                            share.watts / 3.6e6 * factor))
                }
            }
            // Conservation per device: the units' GPU power plus the idle instances' part is the device power × PUE.
            let unused = p * device.power * (1 - device.users.reduce(0) { $0 + $1.flag })
            let remainder = gpu == .nvidiaProfiling ? 0 : unused
            checks.append(
                Self.within("sum(uuid:ceems_gpu_power_watts:pue{\(deviceSelector)}) + \(Self.text(remainder))", p * device.power))
            gpuTotal += p * device.power
            let first = device.users[0]
            let usage: Double =
                switch gpu {
                case .nvidiaProfiling: 100 * device.engineActive * first.flag
                case .amdDeviceMetrics, .amdSMI, .nvidia: device.utilisation * first.flag
                case nil: 0
                }
            checks.append(
                Self.within(#"uuid:ceems_gpu_usage:ratio{uuid="\#(first.uuid)",\#(deviceSelector),gpuiid="\#(first.gpuiid)"}"#, usage))
            if gpu == .nvidiaProfiling {
                checks.append(
                    Self.within(#"uuid:ceems_gpu_sm_active:ratio{uuid="\#(first.uuid)",\#(deviceSelector),gpuiid="\#(first.gpuiid)"}"#, 100 * first.active))
            }
        }
        checks.append(Self.within(#"job:ceems_gpu_power_watts:pue{job="\#(gpuJob)"}"#, gpuTotal))
        for (provider, factor) in factors {
            checks.append(
                Self.within(#"job:ceems_gpu_emissions_g_s:pue{job="\#(gpuJob)",provider="\#(provider)"}"#, gpuTotal / 3.6e6 * factor))
        }
        return checks
    }

    /// The `promtool test rules` file.
    func testFile(ruleFiles: [String]) -> String {
        var text = "rule_files:\n" + ruleFiles.map { "  - \($0)\n" }.joined()
        text += "evaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n"
        for (selector, values) in inputSeries {
            text += "      - series: \(JSONString.quote(selector))\n        values: \(JSONString.quote(values))\n"
        }
        text += "    promql_expr_test:\n"
        for (expression, value) in checks {
            text += "      - expr: \(JSONString.quote(expression))\n        eval_time: 5m\n"
            text += "        exp_samples:\n          - labels: \"{}\"\n            value: \(Self.text(value))\n"
        }
        return text
    }
}

@Suite struct EnergyConservationTests {
    static let promtoolAvailable = CommandRunner.lookPath("promtool") != nil

    static let scenarios: [EnergyScenario] = {
        var scenarios: [EnergyScenario] = []
        for power in [HostPowerSource.ipmi, .redfish(chassis: "Chassis_1"), .rapl, .cray] {
            for gpu in [nil, EnergyScenario.GPU.nvidia, .amdSMI, .amdDeviceMetrics] {
                scenarios.append(EnergyScenario(power: power, gpu: gpu))
            }
        }
        scenarios.append(EnergyScenario(power: .ipmi, rapl: false))
        scenarios.append(EnergyScenario(power: .redfish(chassis: "Chassis_1"), rapl: false, gpu: .nvidia))
        scenarios.append(EnergyScenario(power: .ipmi, gpu: .nvidiaProfiling, providers: true))
        scenarios.append(EnergyScenario(power: .cray, gpu: .nvidiaProfiling, providers: true))
        return scenarios
    }()

    @Test(
        "per-unit power adds up to node power × PUE (promtool test rules)",
        .enabled(if: promtoolAvailable || RealPrometheus.required), arguments: scenarios)
    func conservation(scenario: EnergyScenario) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = scenario.ruleFiles()
        for (name, content) in files {
            try content.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        let promtool = CommandRunner.lookPath("promtool") ?? "promtool"
        let check = try await CommandRunner().runAllowingFailure(
            promtool, arguments: ["check", "rules"] + files.map { directory + "/" + $0.0 }, timeout: .seconds(60))
        #expect(check.exitCode == 0, "promtool check rules: \(check.text)\(String(decoding: check.standardError, as: UTF8.self))")
        try scenario.testFile(ruleFiles: files.map(\.0)).write(
            toFile: directory + "/test.yml", atomically: true, encoding: .utf8)
        let test = try await CommandRunner().runAllowingFailure(
            promtool, arguments: ["test", "rules", directory + "/test.yml"], timeout: .seconds(120))
        let output = test.text + String(decoding: test.standardError, as: UTF8.self)
        #expect(test.exitCode == 0, "promtool test rules (\(scenario)):\n\(output.prefix(6000))")
        #expect(scenario.checks.count > 20)
    }
}
