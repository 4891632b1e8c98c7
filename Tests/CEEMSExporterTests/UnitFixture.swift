import CEEMSLinux
import CEEMSTestSupport

@testable import CEEMSExporter

/// Synthetic cgroup trees in the kernel's file formats, for the resource-manager collectors.
enum UnitFixture {
    struct Job {
        var id: Int
        var user: UInt64 = 1_000_000
        var system: UInt64 = 500_000
        var memory: UInt64 = 4_194_304
        var pids: [Int32] = []
        var environment: [String] = []
    }

    /// A v2 SLURM node: jobs under `system.slice/slurmstepd.scope/job_<id>` (a `step_0/user/task_0` child holding
    /// the processes), `/proc/<pid>/environ`, host `meminfo` and `diskstats`.
    static func slurmV2(
        _ jobs: [Job], swapAndPSI: Bool = true, scope: String = "slurmstepd.scope"
    ) throws -> FixtureTree {
        let tree = try FixtureTree()
        try hostFiles(tree)
        for job in jobs {
            try addV2Job(job, to: tree, scope: scope, swapAndPSI: swapAndPSI)
        }
        return tree
    }

    static func addV2Job(
        _ job: Job, to tree: FixtureTree, scope: String = "slurmstepd.scope", swapAndPSI: Bool = true
    )
        throws
    {
        let directory = "cgroup/system.slice/\(scope)/job_\(job.id)"
        try tree.file(
            directory + "/cpu.stat",
            "usage_usec \(job.user + job.system)\nuser_usec \(job.user)\nsystem_usec \(job.system)\nnr_periods 0\n")
        try tree.file(
            directory + "/memory.stat",
            "anon \(job.memory / 2)\nfile \(job.memory / 4)\nkernel 0\nshmem 0\nfile_mapped 0\n")
        try tree.file(directory + "/memory.current", "\(job.memory)\n")
        try tree.file(directory + "/memory.max", "max\n")
        try tree.file(directory + "/memory.events", "low 0\nhigh 0\nmax 0\noom 2\noom_kill 0\n")
        try tree.file(directory + "/cpuset.cpus.effective", "0-3\n")
        try tree.file(directory + "/cgroup.events", "populated \(job.pids.isEmpty ? 0 : 1)\nfrozen 0\n")
        try tree.file(directory + "/cgroup.procs", "")
        if swapAndPSI {
            try tree.file(directory + "/memory.swap.current", "4096\n")
            try tree.file(directory + "/memory.swap.max", "max\n")
            try tree.file(directory + "/cpu.pressure", "some avg10=0.00 total=10\nfull avg10=0.00 total=2000000\n")
            try tree.file(directory + "/memory.pressure", "some avg10=0.00 total=10\nfull avg10=0.00 total=500000\n")
        }
        try tree.file(directory + "/step_0/cgroup.procs", "")
        try tree.file(
            directory + "/step_0/user/task_0/cgroup.procs", job.pids.map { "\($0)\n" }.joined())
        for pid in job.pids {
            try tree.file(
                "proc/\(pid)/environ",
                (["SLURM_JOB_ID=\(job.id)"] + job.environment).joined(separator: "\u{0}") + "\u{0}")
        }
    }

    /// A v1 SLURM node: `cpuacct` and `memory` hierarchies with `slurm/uid_1000/job_<id>`.
    static func slurmV1(_ jobs: [Job]) throws -> FixtureTree {
        let tree = try FixtureTree()
        try hostFiles(tree)
        for job in jobs {
            let relative = "slurm/uid_1000/job_\(job.id)"
            try tree.file(
                "cgroup/cpuacct/\(relative)/cpuacct.stat", "user \(job.user / 10_000)\nsystem \(job.system / 10_000)\n")
            try tree.file("cgroup/cpuacct/\(relative)/cgroup.procs", "")
            try tree.file(
                "cgroup/cpuacct/\(relative)/step_0/cgroup.procs", job.pids.map { "\($0)\n" }.joined())
            try tree.file(
                "cgroup/memory/\(relative)/memory.stat",
                "cache 0\nrss 0\ntotal_cache \(job.memory / 4)\ntotal_rss \(job.memory / 2)\n")
            try tree.file("cgroup/memory/\(relative)/memory.usage_in_bytes", "\(job.memory)\n")
            try tree.file("cgroup/memory/\(relative)/memory.limit_in_bytes", "9223372036854771712\n")
            try tree.file("cgroup/memory/\(relative)/memory.failcnt", "0\n")
            try tree.file("cgroup/cpuset/\(relative)/cpuset.cpus", "0,2\n")
            for pid in job.pids {
                try tree.file("proc/\(pid)/environ", "SLURM_JOB_ID=\(job.id)\u{0}")
            }
        }
        return tree
    }

    static func hostFiles(_ tree: FixtureTree) throws {
        try tree.file("proc/meminfo", "MemTotal:       16384000 kB\nMemFree: 1 kB\nSwapTotal:       2048000 kB\n")
        try tree.file("proc/diskstats", "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11\n")
        try tree.directory("proc/1")
    }

    static func configuration(_ tree: FixtureTree, managers: Set<CollectorName>) -> ExporterConfiguration {
        var configuration = ExporterConfiguration()
        configuration.fs = LinuxFS(procfs: tree.path("proc"), sysfs: tree.path("sys"), cgroupfs: tree.path("cgroup"))
        configuration.hostname = "node-1"
        configuration.enabledCollectors = managers
        configuration.gpu.type = "nogpu"
        configuration.slurm.gresConfigFile = tree.path("no-gres.conf")
        return configuration
    }

    static func collectors(
        _ configuration: ExporterConfiguration, _ managers: [ResourceManager]
    ) async throws -> [ComputeUnitCollector] {
        try await ComputeUnitCollectors.make(configuration: configuration, managers: managers, logger: quietLogger)
    }
}
