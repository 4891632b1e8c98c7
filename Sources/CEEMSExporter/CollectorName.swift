/// The exporter's collectors, as named by `--collector.<name>`.
public enum CollectorName: String, Sendable, CaseIterable, Comparable {
    case cpu
    case meminfo
    case rapl
    case hwmon
    case ipmiDCMI = "ipmi_dcmi"
    case redfish
    case crayPMCounters = "cray_pm_counters"
    case emissions
    case netdev
    case infiniband
    case slurm
    case libvirt
    case k8s

    /// Collectors enabled unless switched off.
    public var enabledByDefault: Bool {
        switch self {
        case .cpu, .meminfo, .rapl: true
        default: false
        }
    }

    /// The resource manager of a compute-unit collector.
    var resourceManager: ResourceManager? {
        switch self {
        case .slurm: .slurm
        case .libvirt: .libvirt
        case .k8s: .k8s
        default: nil
        }
    }

    public static func < (lhs: CollectorName, rhs: CollectorName) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
