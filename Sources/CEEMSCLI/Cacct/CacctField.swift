/// A column of `cacct`'s table (cacct.md §2.1).
public struct CacctField: Sendable, Equatable {
    public var key: String
    public var apiField: String
    public var title: String
    public var minWidth: Int
    public var maxWidth: Int
    public var help: String

    /// Metric fields hold a map of values (one sub-column per key); the others a text.
    public var isMetric: Bool { apiField.hasPrefix("avg_") || apiField.hasPrefix("total_") }
    /// Usage averages print with two decimals, energies and emissions with six.
    var isUsage: Bool { apiField.hasPrefix("avg_") }

    public static let all: [CacctField] = [
        .init(key: "jobid", apiField: "uuid", title: "Job ID", minWidth: 3, maxWidth: 7, help: "Job ID"),
        .init(key: "name", apiField: "name", title: "Name", minWidth: 5, maxWidth: 8, help: "Name of the job"),
        .init(key: "account", apiField: "project", title: "Account", minWidth: 5, maxWidth: 8, help: "Account name"),
        .init(key: "group", apiField: "groupname", title: "Group", minWidth: 5, maxWidth: 5, help: "Group name"),
        .init(key: "user", apiField: "username", title: "User", minWidth: 5, maxWidth: 5, help: "User name"),
        .init(key: "createdat", apiField: "created_at", title: "Created", minWidth: 5, maxWidth: 8, help: "Job creation time"),
        .init(key: "startedat", apiField: "started_at", title: "Started", minWidth: 5, maxWidth: 12, help: "Job start time"),
        .init(key: "endedat", apiField: "ended_at", title: "Ended", minWidth: 5, maxWidth: 12, help: "Job end time"),
        .init(key: "elapsed", apiField: "elapsed", title: "Elapsed", minWidth: 5, maxWidth: 12, help: "Job elapsed time"),
        .init(key: "state", apiField: "state", title: "State", minWidth: 5, maxWidth: 5, help: "Job state"),
        .init(
            key: "cpuusage", apiField: "avg_cpu_usage", title: "CPU Usage(%)", minWidth: 5, maxWidth: 6,
            help: "Average CPU usage over the duration of the job"),
        .init(
            key: "cpumemoryusage", apiField: "avg_cpu_mem_usage", title: "CPU Mem. Usage(%)", minWidth: 5, maxWidth: 6,
            help: "Average CPU memory usage over the duration of the job"),
        .init(
            key: "hostenergy", apiField: "total_cpu_energy_usage_kwh", title: "Host Energy(kWh)", minWidth: 5,
            maxWidth: 8, help: "Total energy usage by the host duration of the job"),
        .init(
            key: "hostemissions", apiField: "total_cpu_emissions_gms", title: "Host Emissions(gms)", minWidth: 5,
            maxWidth: 12, help: "Total eq. emissions due to host energy usage duration of the job"),
        .init(
            key: "gpuusage", apiField: "avg_gpu_usage", title: "GPU Usage(%)", minWidth: 5, maxWidth: 6,
            help: "Average GPU(s) usage over the duration of the job"),
        .init(
            key: "gpumemoryusage", apiField: "avg_gpu_mem_usage", title: "GPU Mem. Usage(%)", minWidth: 5, maxWidth: 6,
            help: "Average GPU(s) memory usage over the duration of the job"),
        .init(
            key: "gpuenergy", apiField: "total_gpu_energy_usage_kwh", title: "GPU Energy(kWh)", minWidth: 5,
            maxWidth: 8, help: "Total energy usage by the GPU(s) duration of the job"),
        .init(
            key: "gpuemissions", apiField: "total_gpu_emissions_gms", title: "GPU Emissions(gms)", minWidth: 5,
            maxWidth: 12, help: "Total eq. emissions due to GPU(s) energy usage duration of the job"),
    ]

    public static let defaultKeys = [
        "jobid", "account", "elapsed", "cpuusage", "cpumemoryusage", "hostenergy", "hostemissions", "gpuusage",
        "gpumemoryusage", "gpuenergy", "gpuemissions",
    ]

    public static func named(_ key: String) -> CacctField? {
        let lowered = key.lowercased()
        return all.first { $0.key == lowered }
    }

    /// The `--helpformat` table: keys and help texts sorted by key.
    public static var helpTable: [[String]] {
        all.sorted { $0.key < $1.key }.map { [$0.key, $0.help] }
    }
}
