/// What `tsdb create-recording-rules` found for one scrape job, from which its rule files are written
/// (ceems-tool.md §3.3). The generator is a pure function of these values.
public enum HostPowerSource: Sendable, Equatable {
    /// `ceems_ipmi_dcmi_current_watts`.
    case ipmi
    /// `ceems_redfish_current_watts{chassis=…}`.
    case redfish(chassis: String)
    /// `ceems_cray_pm_counters_power_watts{domain=…}`.
    case cray
    /// No node power meter: `ceems_rapl_{package,dram}_joules_total`.
    case rapl

    public var seriesName: String {
        switch self {
        case .ipmi: "ceems_ipmi_dcmi_current_watts"
        case .redfish: "ceems_redfish_current_watts"
        case .cray: "ceems_cray_pm_counters_power_watts"
        case .rapl: "ceems_rapl_package_joules_total"
        }
    }
}

public enum GPUVendor: String, Sendable, Equatable, CaseIterable {
    /// NVIDIA DCGM exporter.
    case nvidia
    /// AMD SMI exporter (power in µW).
    case amdSMI
    /// AMD device-metrics exporter.
    case amdDeviceMetrics

    /// The device power series this exporter exports.
    public var powerSeries: String {
        switch self {
        case .nvidia: "DCGM_FI_DEV_POWER_USAGE_INSTANT"
        case .amdSMI: "amd_gpu_power"
        case .amdDeviceMetrics: "gpu_power_usage"
        }
    }

    /// The recorded device power × PUE.
    public var devicePowerRecord: String {
        switch self {
        case .nvidia: "dev:DCGM_FI_DEV_POWER_USAGE_INSTANT:pue"
        case .amdSMI: "dev:amd_gpu_power_watts:pue"
        case .amdDeviceMetrics: "dev:gpu_power_usage_watts:pue"
        }
    }

    /// What the power series is divided by to give watts.
    public var powerScaler: Double { self == .amdSMI ? 1e6 : 1 }
}

/// Emission factors the rules multiply power by (§3.3 step 4).
public enum EmissionFactorSource: Sendable, Equatable {
    /// No emission rules.
    case none
    /// `ceems_emissions_gCo2_kWh{country_code=…, provider=…}` for each provider found in the TSDB.
    case providers(countryCode: String, names: [String])
    /// A fixed factor (g/kWh): provider `owid` (OWID table) or `custom` (`--emission-factor`).
    case constant(provider: String, factor: Double, countryCode: String, country: String)
}

public struct RuleSettings: Sendable, Equatable {
    public var pue: Double
    public var evaluationInterval: Duration
    /// 4 × the job's scrape interval.
    public var rateInterval: Duration
    public var emissions: EmissionFactorSource

    public init(pue: Double, evaluationInterval: Duration, rateInterval: Duration, emissions: EmissionFactorSource) {
        self.pue = pue
        self.evaluationInterval = evaluationInterval
        self.rateInterval = rateInterval
        self.emissions = emissions
    }
}

/// Rules of a CEEMS exporter job.
public struct HostRulePlan: Sendable, Equatable {
    public var job: String
    public var power: HostPowerSource
    /// The job has both `ceems_rapl_package_joules_total` and `ceems_rapl_dram_joules_total`.
    public var raplAvailable: Bool
    /// The GPU job whose device power the node meter includes (subtracted from it), IPMI/Redfish only.
    public var gpuPowerIncluded: (job: String, vendor: GPUVendor)?

    public init(
        job: String, power: HostPowerSource, raplAvailable: Bool, gpuPowerIncluded: (job: String, vendor: GPUVendor)? = nil
    ) {
        self.job = job
        self.power = power
        self.raplAvailable = raplAvailable
        self.gpuPowerIncluded = gpuPowerIncluded
    }

    public static func == (lhs: HostRulePlan, rhs: HostRulePlan) -> Bool {
        lhs.job == rhs.job && lhs.power == rhs.power && lhs.raplAvailable == rhs.raplAvailable
            && lhs.gpuPowerIncluded?.job == rhs.gpuPowerIncluded?.job
            && lhs.gpuPowerIncluded?.vendor == rhs.gpuPowerIncluded?.vendor
    }
}

/// Rules of a GPU exporter job serving the GPUs of a CEEMS job's hosts.
public struct GPURulePlan: Sendable, Equatable {
    public var gpuJob: String
    /// The CEEMS job exporting `ceems_compute_unit_gpu_index_flag`.
    public var unitJob: String
    public var vendor: GPUVendor
    /// `DCGM_FI_PROF_<X>` metrics the GPU job exports (the `<X>` part).
    public var profiling: [String]
    /// The CEEMS job exports `ceems_compute_unit_gpu_sm_count`.
    public var smCount: Bool

    public init(gpuJob: String, unitJob: String, vendor: GPUVendor, profiling: [String] = [], smCount: Bool = false) {
        self.gpuJob = gpuJob
        self.unitJob = unitJob
        self.vendor = vendor
        self.profiling = profiling
        self.smCount = smCount
    }
}
