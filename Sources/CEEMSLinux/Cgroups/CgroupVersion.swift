import CLinuxSupport

#if canImport(Glibc)
import Glibc
#endif

/// The cgroup hierarchy in use.
public enum CgroupVersion: String, Sendable, Equatable {
    /// Legacy or hybrid hierarchy: one mount per controller (`/sys/fs/cgroup/cpuacct`, `…/memory`).
    case v1
    /// Unified hierarchy (`/sys/fs/cgroup` is cgroup2).
    case v2

    /// `CGROUP2_SUPER_MAGIC` from `<linux/magic.h>`.
    static let cgroup2Magic: Int = 0x6367_7270

    /// Detects the hierarchy at `root`: cgroup2 when the file system there is cgroup2 (or, for recorded trees on
    /// an ordinary file system, when it holds `cgroup.controllers` at the top), else v1. Hybrid hosts have v1
    /// controllers at `/sys/fs/cgroup` and an empty cgroup2 at `…/unified`: they are v1.
    public static func detect(root: String) -> CgroupVersion {
        let type = ceems_filesystem_type(root)
        if type == cgroup2Magic { return .v2 }
        // tmpfs (the hybrid/legacy mount point) or a cgroup v1 file system.
        let tmpfsMagic = 0x0102_1994
        let cgroupMagic = 0x0027_e0eb
        if type == tmpfsMagic || type == cgroupMagic { return .v1 }
        return access(root + "/cgroup.controllers", F_OK) == 0 ? .v2 : .v1
    }
}
