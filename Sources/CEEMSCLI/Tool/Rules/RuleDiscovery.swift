import CEEMSCore
import CEEMSWeb
import Foundation

/// Inspects a running Prometheus and writes the recording rules of every CEEMS exporter job and of the GPU
/// exporter jobs on the same hosts (ceems-tool.md §3.3).
public struct RecordingRulesGenerator: Sendable {
    public struct Options: Sendable {
        public var start: Double
        public var end: Double
        public var pue: Double = 1
        public var emissionFactor: Double = 0
        public var countryCode = ""
        public var evaluationInterval: Duration = .zero
        public var outputDirectory = "rules"
        public var disableProviders = false

        public init(start: Double, end: Double) {
            self.start = start
            self.end = end
        }
    }

    /// The series names looked up (step 5).
    static let lookedUp: [String] =
        [
            "ceems_compute_unit_cpu_user_seconds_total", "ceems_compute_unit_memory_used_bytes",
            "ceems_rapl_package_joules_total", "ceems_rapl_dram_joules_total", "ceems_ipmi_dcmi_current_watts",
            "ceems_redfish_current_watts", "ceems_cray_pm_counters_power_watts", "ceems_emissions_gCo2_kWh",
            "DCGM_FI_DEV_POWER_USAGE_INSTANT", "amd_gpu_power", "gpu_power_usage",
            "ceems_compute_unit_gpu_index_flag", "ceems_compute_unit_gpu_sm_count",
        ] + ProfilingMetrics.all.map { "DCGM_FI_PROF_" + $0 }

    /// What the series lookup says about one scrape job.
    struct JobSeries {
        var names: Set<String> = []
        var hosts: Set<String> = []
        var chassis: Set<String> = []
    }

    public let api: PrometheusAPI
    public let options: Options
    public let console: ToolConsole

    public init(api: PrometheusAPI, options: Options, console: ToolConsole) {
        self.api = api
        self.options = options
        self.console = console
    }

    /// Writes the files and returns their names (relative to the output directory) with their contents.
    @discardableResult
    public func run() async throws -> [(file: String, content: String)] {
        if !options.countryCode.isEmpty && options.emissionFactor > 0 {
            throw ToolError("--country-code and --emission-factor cannot be used together. Set atmost one.")
        }
        guard options.start < options.end else { throw ToolError("start time is not before end time") }
        let global = try await api.globalIntervals()
        let jobIntervals = (try? await api.jobScrapeIntervals()) ?? [:]
        let evaluation = options.evaluationInterval > .zero ? options.evaluationInterval : global.evaluation
        let emissions = try await emissionFactors()
        let jobs = try await jobSeries()

        var files: [(file: String, content: String)] = []
        for job in jobs.keys.sorted() {
            let series = jobs[job]!
            guard let power = try hostPower(job: job, series: series) else { continue }
            let settings = RuleSettings(
                pue: options.pue, evaluationInterval: evaluation,
                rateInterval: (jobIntervals[job] ?? global.scrape) * 4, emissions: emissions)
            let gpu = series.names.contains("ceems_compute_unit_gpu_index_flag") ? gpuJob(of: job, in: jobs) : nil
            var plan = HostRulePlan(
                job: job, power: power,
                raplAvailable: series.names.contains("ceems_rapl_package_joules_total")
                    && series.names.contains("ceems_rapl_dram_joules_total"))
            if let gpu, power != .cray, power != .rapl,
                await gpuPowerIncluded(job: job, meter: HostRules(plan: plan, settings: settings).meter, gpu: gpu)
            {
                plan.gpuPowerIncluded = gpu
            }
            console.say("generating recording rules for job \(job) in file \(job).rules")
            files.append((job + ".rules", HostRules(plan: plan, settings: settings).ruleFile().yaml()))
            if let gpu {
                let gpuSettings = RuleSettings(
                    pue: options.pue, evaluationInterval: evaluation,
                    rateInterval: (jobIntervals[gpu.job] ?? global.scrape) * 4, emissions: emissions)
                let gpuPlan = GPURulePlan(
                    gpuJob: gpu.job, unitJob: job, vendor: gpu.vendor,
                    profiling: ProfilingMetrics.all.filter { jobs[gpu.job]!.names.contains("DCGM_FI_PROF_" + $0) },
                    smCount: series.names.contains("ceems_compute_unit_gpu_sm_count"))
                console.say("generating recording rules for GPU for job \(gpu.job) in file \(gpu.job)-gpu.rules")
                files.append((gpu.job + "-gpu.rules", GPURules(plan: gpuPlan, settings: gpuSettings).ruleFile().yaml()))
            }
        }
        try Self.write(files, into: options.outputDirectory)
        return files
    }

    static func write(_ files: [(file: String, content: String)], into directory: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for (name, content) in files {
                let path = directory + "/" + name
                guard FileManager.default.createFile(atPath: path, contents: Data(content.utf8), attributes: [.posixPermissions: 0o600])
                else { throw ToolError("cannot write \(path)") }
                // An existing file keeps its mode through createFile: set it.
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            }
        } catch let error as ToolError {
            throw error
        } catch {
            throw ToolError("cannot write rule files in \(directory): \(error.localizedDescription)")
        }
    }

    // MARK: steps

    /// Step 4.
    func emissionFactors() async throws -> EmissionFactorSource {
        if options.emissionFactor > 0 {
            return .constant(provider: "custom", factor: options.emissionFactor, countryCode: "", country: "")
        }
        guard !options.countryCode.isEmpty else { return .none }
        if !options.disableProviders {
            let providers = try await api.labelValues(
                "provider", matching: "ceems_emissions_gCo2_kWh{country_code=\(PromQLText.quoted(options.countryCode))}",
                start: options.start, end: options.end)
            if !providers.isEmpty { return .providers(countryCode: options.countryCode, names: providers.sorted()) }
        }
        guard let entry = OWIDCarbonIntensity.entry(countryCode: options.countryCode) else {
            console.say("no static emission factor for country code \(options.countryCode): no emission rules")
            return .none
        }
        console.say(
            "static emission factor \(PromQLText.number(entry.gramsPerKilowattHour)) g/kWh from OWID data will be used")
        return .constant(
            provider: "owid", factor: entry.gramsPerKilowattHour, countryCode: entry.countryCode, country: entry.country)
    }

    /// Step 5.
    func jobSeries() async throws -> [String: JobSeries] {
        let found = try await api.series(matching: Self.lookedUp, start: options.start, end: options.end)
        var jobs: [String: JobSeries] = [:]
        for labels in found {
            guard let name = labels["__name__"], let job = labels["job"] else { continue }
            jobs[job, default: .init()].names.insert(name)
            if let instance = labels["instance"] { jobs[job, default: .init()].hosts.insert(Self.host(instance)) }
            if name == "ceems_redfish_current_watts", let chassis = labels["chassis"] {
                jobs[job, default: .init()].chassis.insert(chassis)
            }
        }
        return jobs
    }

    /// `instance` without its port.
    static func host(_ instance: String) -> String {
        if instance.hasPrefix("["), let close = instance.firstIndex(of: "]") {
            return String(instance[...close])
        }
        guard let colon = instance.lastIndex(of: ":"), instance[instance.index(after: colon)...].allSatisfy(\.isNumber)
        else { return instance }
        return String(instance[..<colon])
    }

    /// Step 6: the GPU exporter job on the hosts of `job` (last match wins: DCGM, AMD SMI, AMD device metrics).
    func gpuJob(of job: String, in jobs: [String: JobSeries]) -> (job: String, vendor: GPUVendor)? {
        let hosts = jobs[job]?.hosts ?? []
        var found: (job: String, vendor: GPUVendor)?
        for vendor in GPUVendor.allCases {
            for (candidate, series) in jobs.sorted(by: { $0.key < $1.key })
            where candidate != job && series.names.contains(vendor.powerSeries) && !series.hosts.isDisjoint(with: hosts) {
                found = (candidate, vendor)
            }
        }
        return found
    }

    /// Steps 7–8.
    func hostPower(job: String, series: JobSeries) throws -> HostPowerSource? {
        if series.names.contains("ceems_cray_pm_counters_power_watts") { return .cray }
        if series.names.contains("ceems_redfish_current_watts") {
            return .redfish(chassis: try chooseChassis(job: job, chassis: series.chassis.sorted()))
        }
        if series.names.contains("ceems_ipmi_dcmi_current_watts") { return .ipmi }
        if series.names.contains("ceems_rapl_package_joules_total") { return .rapl }
        return nil
    }

    func chooseChassis(job: String, chassis: [String]) throws -> String {
        guard !chassis.isEmpty else { throw ToolError("no chassis found for ceems_redfish_current_watts") }
        if chassis.count == 1 { return chassis[0] }
        console.say("Multiple chassis found for ceems_redfish_current_watts for job \(job)")
        console.say("Choose the chassis that reports host power usage")
        for (index, name) in chassis.enumerated() { console.say("[\(index)]: \(name)") }
        console.say("Enter number between 0 and \(chassis.count - 1)")
        let answer = console.readLine()?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let index = Int(answer), chassis.indices.contains(index) else {
            throw ToolError("invalid chassis number \(answer.isEmpty ? "(none)" : answer): expected 0 to \(chassis.count - 1)")
        }
        return chassis[index]
    }

    /// Step 10: whether the node meter's average exceeds the GPUs' average power on the same host.
    func gpuPowerIncluded(job: String, meter: String, gpu: (job: String, vendor: GPUVendor)) async -> Bool {
        let minutes = max(1, Int((options.end - options.start) / 60))
        let gpuSeries = "\(gpu.vendor.powerSeries){job=\(PromQLText.quoted(gpu.job))}"
        let scaled = gpu.vendor.powerScaler == 1 ? "" : " / \(PromQLText.number(gpu.vendor.powerScaler))"
        let query = """
            sum by (\(HostMatch.label)) (\(HostMatch.tagged("avg_over_time(\(meter)[\(minutes)m])")))
            - on (\(HostMatch.label))
            sum by (\(HostMatch.label)) (\(HostMatch.tagged("avg_over_time(\(gpuSeries)[\(minutes)m])")))\(scaled)
            """
        do {
            let result = try await api.query(query, time: options.end)
            return (result.first?.value ?? 0) > 0
        } catch {
            console.say(
                "failed to find if GPU power is included in host power for job \(job): \(error). Check manually and edit the rules if needed"
            )
            return false
        }
    }
}
