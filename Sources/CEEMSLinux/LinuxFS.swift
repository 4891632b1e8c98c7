import CEEMSCore

/// The roots of the kernel's file systems, injectable so that tests and the conformance suite can point the
/// readers at recorded trees (`--path.procfs`, `--path.sysfs`, `--path.cgroupfs`).
public struct LinuxFS: Sendable, Equatable {
    public var procfs: String
    public var sysfs: String
    public var cgroupfs: String

    public init(procfs: String = "/proc", sysfs: String = "/sys", cgroupfs: String = "/sys/fs/cgroup") {
        self.procfs = procfs
        self.sysfs = sysfs
        self.cgroupfs = cgroupfs
    }

    /// A path below the procfs root, joined and cleaned like Go's `filepath.Join`.
    public func proc(_ components: String...) -> String {
        FilePathSyntax.join([procfs] + components)
    }

    /// A path below the sysfs root, joined and cleaned like Go's `filepath.Join`.
    public func sys(_ components: String...) -> String {
        FilePathSyntax.join([sysfs] + components)
    }

    /// A path below the cgroup root.
    public func cgroup(_ components: String...) -> String {
        FilePathSyntax.join([cgroupfs] + components)
    }
}
