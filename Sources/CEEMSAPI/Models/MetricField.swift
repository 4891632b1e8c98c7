/// The metric-map columns of `units`, `usage` and `daily_usage`, in table (and JSON) order.
public enum MetricField: String, CaseIterable, Sendable, Hashable {
    case totalTimeSeconds = "total_time_seconds"
    case avgCPUUsage = "avg_cpu_usage"
    case avgCPUMemUsage = "avg_cpu_mem_usage"
    case totalCPUEnergyUsageKWh = "total_cpu_energy_usage_kwh"
    case totalCPUEmissionsGms = "total_cpu_emissions_gms"
    case avgGPUUsage = "avg_gpu_usage"
    case avgGPUMemUsage = "avg_gpu_mem_usage"
    case totalGPUEnergyUsageKWh = "total_gpu_energy_usage_kwh"
    case totalGPUEmissionsGms = "total_gpu_emissions_gms"
    case totalIOWriteStats = "total_io_write_stats"
    case totalIOReadStats = "total_io_read_stats"
    case totalIngressStats = "total_ingress_stats"
    case totalEgressStats = "total_egress_stats"

    /// Position in `allCases` (and in the tables' column order).
    public var index: Int {
        switch self {
        case .totalTimeSeconds: 0
        case .avgCPUUsage: 1
        case .avgCPUMemUsage: 2
        case .totalCPUEnergyUsageKWh: 3
        case .totalCPUEmissionsGms: 4
        case .avgGPUUsage: 5
        case .avgGPUMemUsage: 6
        case .totalGPUEnergyUsageKWh: 7
        case .totalGPUEmissionsGms: 8
        case .totalIOWriteStats: 9
        case .totalIOReadStats: 10
        case .totalIngressStats: 11
        case .totalEgressStats: 12
        }
    }

    /// The fields an updater produces (all but `total_time_seconds`, which resource managers fill).
    public static let updaterFields: [MetricField] = allCases.filter { $0 != .totalTimeSeconds }

    /// Averages merge weighted by an allocated time of `total_time_seconds`; totals add up.
    public var isAverage: Bool { rawValue.hasPrefix("avg_") }

    /// The `total_time_seconds` key that weighs this average.
    public var weightKey: String? {
        switch self {
        case .avgCPUUsage: "alloc_cputime"
        case .avgGPUUsage: "alloc_gputime"
        case .avgCPUMemUsage: "alloc_cpumemtime"
        case .avgGPUMemUsage: "alloc_gpumemtime"
        default: nil
        }
    }
}
