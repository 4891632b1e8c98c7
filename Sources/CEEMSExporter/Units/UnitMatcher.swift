import CEEMSCore
import CEEMSLinux

/// What a cgroup directory is to a resource manager.
struct UnitMatch: Sendable, Equatable {
    var id: String
    var host: String
    /// A child (a SLURM step, a VM's vCPU, a container) contributes processes to its unit but is not one.
    var isChild: Bool
}

/// How a resource manager's units appear in the cgroup tree.
protocol UnitMatcher: Sendable {
    var manager: ResourceManager { get }
    /// The directories to walk (absolute).
    func roots(layout: CgroupLayout) -> [String]
    /// Classifies a directory by its unescaped absolute path.
    func match(_ path: String) -> UnitMatch?
}

/// SLURM jobs: `…/[<host>_]slurmstepd.scope/job_<id>/…` (v2) and `…/slurm[_<host>]/…/job_<id>/…` (v1).
struct SlurmMatcher: UnitMatcher {
    let manager = ResourceManager.slurm
    let version: CgroupVersion

    func roots(layout: CgroupLayout) -> [String] {
        switch layout.version {
        case .v2:
            // Every slurmstepd scope under system.slice (several with multiple slurmd); the walk stops at a match.
            let slice = layout.root + "/system.slice"
            return ((try? Directory.entries(slice)) ?? [])
                .filter { $0.name.containsBytes("slurmstepd.scope") && Directory.isDirectory($0, in: slice) }
                .map { slice + "/" + $0.name }
        case .v1:
            let mount = layout.discoveryMount
            return ((try? Directory.entries(mount)) ?? [])
                .filter { $0.name.containsBytes("slurm") && Directory.isDirectory($0, in: mount) }
                .map { mount + "/" + $0.name }
        }
    }

    func match(_ path: String) -> UnitMatch? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        if version == .v2, let sluid = Self.sluidMatch(components, path: path) { return sluid }
        guard let jobIndex = components.firstIndex(where: Self.isJobComponent),
            let slurmIndex = components[..<jobIndex].lastIndex(where: { $0.containsBytes("slurm") })
        else { return nil }
        let slurmComponent = components[slurmIndex]
        var host = ""
        switch version {
        case .v2:
            if let range = slurmComponent.firstRange(of: "_slurm") {
                host = String(slurmComponent[..<range.lowerBound])
            }
        case .v1:
            if slurmComponent.hasPrefix("slurm_") { host = String(slurmComponent.dropFirst(6)) }
        }
        return UnitMatch(id: Self.jobID(components[jobIndex])!, host: host, isChild: path.containsBytes("/step_"))
    }

    /// Slurm 26.05 names job cgroups by SLUID instead of `job_<id>`: any directory right below a
    /// `slurmstepd.scope` other than `job_<id>` and `system` is such a job. Its id is the SLUID, prefixed
    /// `sluid:` so that the collector resolves the numeric job id before using it as `uuid`.
    static func sluidMatch(_ components: [Substring], path: String) -> UnitMatch? {
        guard let scope = components.lastIndex(where: { $0.hasSuffix("slurmstepd.scope") }),
            scope + 1 < components.count
        else { return nil }
        let name = components[scope + 1]
        guard !name.utf8.starts(with: "job_".utf8), name != "system", !name.containsBytes("."), !name.isEmpty else {
            return nil
        }
        let host = components[scope].firstRange(of: "_slurm").map { String(components[scope][..<$0.lowerBound]) } ?? ""
        return UnitMatch(id: sluidPrefix + name, host: host, isChild: scope + 2 < components.count)
    }

    static let sluidPrefix = "sluid:"

    /// `job_1234` → `1234`.
    static func jobID(_ component: Substring) -> String? {
        isJobComponent(component) ? String(component.dropFirst(4)) : nil
    }

    /// `job_` followed by digits only (on bytes: this runs for every directory walked).
    static func isJobComponent(_ component: Substring) -> Bool {
        let bytes = component.utf8
        guard bytes.count > 4, bytes.starts(with: "job_".utf8) else { return false }
        return bytes.dropFirst(4).allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}

/// libvirt/OpenStack VMs: `…qemu-<n>-instance-<hex>…` (systemd `machine.slice` or non-systemd `machine`).
struct LibvirtMatcher: UnitMatcher {
    let manager = ResourceManager.libvirt

    func roots(layout: CgroupLayout) -> [String] {
        let mount = layout.discoveryMount
        return ["machine.slice", "machine"].map { mount + "/" + $0 }.filter(SystemFileProbe.exists)
    }

    func match(_ path: String) -> UnitMatch? {
        guard let range = path.firstRange(of: "qemu-") else { return nil }
        var rest = path[range.upperBound...]
        let number = rest.prefix { $0.isASCII && $0.isNumber }
        guard !number.isEmpty else { return nil }
        rest = rest.dropFirst(number.count)
        guard rest.hasPrefix("-instance-") else { return nil }
        let hex = rest.dropFirst(10).prefix { $0.isHexDigit }
        guard !hex.isEmpty else { return nil }
        let isChild = path.containsBytes("/libvirt") || path.containsBytes("/emulator") || path.containsBytes("/vcpu")
        return UnitMatch(id: "instance-" + hex, host: "", isChild: isChild)
    }
}

/// Kubernetes pods: `…/kubepods…pod<uid>…` with the cgroupfs (`kubepods/burstable/pod<uid>`) or systemd
/// (`kubepods.slice/…/kubepods-burstable-pod<uid>.slice`) driver.
struct K8sMatcher: UnitMatcher {
    let manager = ResourceManager.k8s

    func roots(layout: CgroupLayout) -> [String] {
        let mount = layout.discoveryMount
        return ["kubepods", "kubepods.slice"].map { mount + "/" + $0 }.filter(SystemFileProbe.exists)
    }

    func match(_ path: String) -> UnitMatch? {
        guard path.containsBytes("/kubepods") else { return nil }
        var uid: String?
        for component in path.split(separator: "/") {
            if let found = Self.podUID(in: component) { uid = found }
        }
        guard let uid else { return nil }
        let base = path.split(separator: "/").last ?? ""
        let isChild = path.containsBytes("/cri-containerd") || !base.containsBytes("pod")
        return UnitMatch(id: uid, host: "", isChild: isChild)
    }

    /// The pod UID after the last `pod` of a path component, with `_` (systemd escaping) turned into `-`; only
    /// UID-shaped ids (hex digits and separators, 16+ characters) count, so `kubepods-besteffort.slice` is not a pod.
    static func podUID(in component: Substring) -> String? {
        guard let range = component.ranges(of: "pod").last else { return nil }
        let candidate = component[range.upperBound...].prefix {
            ($0.isASCII && $0.isHexDigit) || $0 == "-" || $0 == "_"
        }
        guard candidate.count >= 16, candidate.contains(where: \.isHexDigit) else { return nil }
        return candidate.replacing("_", with: "-").lowercased()
    }
}
