import CEEMSLinux

/// The resource manager whose units a collector discovers.
public enum ResourceManager: String, Sendable, CaseIterable {
    case slurm, libvirt, k8s
}

/// A compute unit found in the cgroup tree.
struct ComputeUnit: Sendable, Equatable {
    /// The `uuid` label: SLURM job id, libvirt domain UUID, Kubernetes pod UID.
    var uuid: String
    /// The id matched in the cgroup path (job id, `instance-…` name, pod UID) — the alloy target.
    var id: String
    /// The SLURM virtual host of multiple-slurmd set-ups (`cgrouphostname` label).
    var cgroupHostname: String
    /// The unit's cgroup path relative to the hierarchy root, with a leading `/`.
    var path: String
    /// Absolute directories of the unit and its children whose `cgroup.procs` hold its processes.
    var directories: [String]
}

/// Where the cgroup hierarchy is and how to reach a controller's files for a relative path.
struct CgroupLayout: Sendable, Equatable {
    var version: CgroupVersion
    /// `--path.cgroupfs`.
    var root: String
    /// The v1 controller directory walked for discovery (`cpu,cpuacct`, `memory`…).
    var activeController: String

    /// The absolute directory of `relative` for a v1 controller (`cpuacct`, `memory`, …) or the v2 hierarchy.
    func directory(_ relative: String, controller: String) -> String {
        switch version {
        case .v2: root + relative
        case .v1: root + "/" + controller + relative
        }
    }

    /// The directory discovery walks: the v2 root or the active v1 controller's mount.
    var discoveryMount: String {
        version == .v2 ? root : root + "/" + activeController
    }

    /// Maps `--collector.cgroups.active-subsystem` to its v1 directory name.
    /// The v1 mount of `--collector.cgroups.active-subsystem`: the joint `cpu,cpuacct` (`net_cls,net_prio`)
    /// mount where the system has one, else the controller's own.
    static func controllerDirectory(for subsystem: String, root: String) -> String {
        let joint: String? =
            switch subsystem {
            case "cpuacct", "cpu": "cpu,cpuacct"
            case "net_cls", "net_prio": "net_cls,net_prio"
            default: nil
            }
        if let joint, SystemFileProbe.exists(root + "/" + joint) { return joint }
        return subsystem
    }

    /// The directory of a v1 controller, resolving `cpu,cpuacct` vs separate mounts.
    func v1ControllerDirectory(_ controller: String) -> String {
        switch controller {
        case "cpuacct", "cpu":
            // Most distributions mount them together and link `cpu` and `cpuacct` to `cpu,cpuacct`.
            return SystemFileProbe.exists(root + "/cpu,cpuacct") ? "cpu,cpuacct" : "cpuacct"
        default:
            return controller
        }
    }
}

/// A cheap existence probe (access(2)), kept behind a name so discovery code reads plainly.
enum SystemFileProbe {
    static func exists(_ path: String) -> Bool {
        CEEMSLinux.Directory.exists(path)
    }
}
