import CEEMSCore
import CEEMSLinux
import CEEMSMetrics
import CEEMSTestSupport
import Synchronization
import Testing

@testable import CEEMSExporter

@Suite struct ComputeUnitCollectorTests {
    static let jobs = [
        UnitFixture.Job(id: 101, pids: [4001, 4002], environment: ["SLURM_JOB_GPUS=0"]),
        UnitFixture.Job(id: 102, user: 7_250_000, system: 10, memory: 1 << 30, pids: [4003]),
        UnitFixture.Job(id: 103, pids: []),  // stale: its cgroup outlived the job
    ]

    @Test func slurmOnCgroupV2MatchesTheGoldenExposition() async throws {
        let tree = try UnitFixture.slurmV2(Self.jobs)
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.slurm.swapMetrics = true
        configuration.slurm.psiMetrics = true
        let collectors = try await UnitFixture.collectors(configuration, [.slurm])
        try Golden.check(await scrape(collectors, replacing: tree.root), name: "units-slurm-v2.txt")
    }

    @Test func slurmOnCgroupV1MatchesTheGoldenExposition() async throws {
        let tree = try UnitFixture.slurmV1(Array(Self.jobs.prefix(2)))
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v1"
        let collectors = try await UnitFixture.collectors(configuration, [.slurm])
        try Golden.check(await scrape(collectors, replacing: tree.root), name: "units-slurm-v1.txt")
    }

    @Test func severalSlurmdPerNodeGiveTheCgroupHostname() async throws {
        let tree = try UnitFixture.slurmV2([Self.jobs[0]])
        try UnitFixture.addV2Job(.init(id: 201, pids: [4101]), to: tree, scope: "node7_slurmstepd.scope")
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        let text = await scrape(try await UnitFixture.collectors(configuration, [.slurm]))
        #expect(
            text.contains(
                #"ceems_compute_unit_cpus{cgrouphostname="node7",hostname="node-1",manager="slurm",uuid="201"} 4"#))
        #expect(
            text.contains(#"ceems_compute_unit_cpus{cgrouphostname="",hostname="node-1",manager="slurm",uuid="101"} 4"#)
        )
        #expect(text.contains(#"ceems_compute_units{hostname="node-1",manager="slurm"} 2"#))
    }

    @Test func libvirtAndKubernetesUnitsAreFoundInBothLayouts() async throws {
        let tree = try FixtureTree()
        try UnitFixture.hostFiles(tree)
        // libvirt: systemd (machine.slice) and non-systemd (machine) layouts.
        let systemdVM = #"cgroup/machine.slice/machine-qemu\x2d1\x2dinstance\x2d0000000a.scope"#
        try tree.file(systemdVM + "/cpu.stat", "usage_usec 30\nuser_usec 20\nsystem_usec 10\n")
        try tree.file(systemdVM + "/libvirt/vcpu0/cpu.stat", "usage_usec 1\nuser_usec 1\nsystem_usec 0\n")
        try tree.file(
            "cgroup/machine/qemu-2-instance-0000000b.libvirt-qemu/cpu.stat",
            "usage_usec 3\nuser_usec 2\nsystem_usec 1\n")
        try tree.file(
            "qemu/instance-0000000a.xml",
            "<domain><name>instance-0000000a</name><uuid>aaaaaaaa-0000-4000-8000-00000000000a</uuid></domain>")
        // k8s: cgroupfs (kubepods/burstable/pod<uid>) and systemd (kubepods.slice/…pod<uid with _>.slice) drivers.
        let cgroupfsPod = "cgroup/kubepods/burstable/pod11111111-2222-3333-4444-555555555555"
        try tree.file(cgroupfsPod + "/cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\n")
        try tree.file(cgroupfsPod + "/cpu.weight", "40\n")
        try tree.file(cgroupfsPod + "/cri-containerd-abc.scope/cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\n")
        let systemdPod =
            "cgroup/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podaaaaaaaa_bbbb_cccc_dddd_eeeeeeeeeeee.slice"
        try tree.file(systemdPod + "/cpu.stat", "usage_usec 5\nuser_usec 4\nsystem_usec 1\n")
        try tree.file(systemdPod + "/cpu.weight", "1\n")
        var configuration = UnitFixture.configuration(tree, managers: [.libvirt, .k8s])
        configuration.cgroups.forceVersion = "v2"
        configuration.libvirt.xmlDirectory = tree.path("qemu")
        let text = await scrape(
            try await UnitFixture.collectors(configuration, [.libvirt, .k8s]), replacing: tree.root)
        try Golden.check(text, name: "units-libvirt-k8s.txt")
    }

    @Test func garbageAndTruncatedFilesReportAnErrorAndKeepTheRest() async throws {
        let tree = try UnitFixture.slurmV2(Array(Self.jobs.prefix(2)))
        try tree.file("cgroup/system.slice/slurmstepd.scope/job_101/cpu.stat", "\u{7}\u{0}garbage\nuser_usec 12x\n")
        try tree.file("cgroup/system.slice/slurmstepd.scope/job_101/memory.current", "")
        try tree.file("cgroup/system.slice/slurmstepd.scope/job_102/cpuset.cpus.effective", "3-1\n")
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        let text = await scrape(try await UnitFixture.collectors(configuration, [.slurm]))
        #expect(text.contains(#"ceems_scrape_collector_success{collector="slurm"} 0"#))
        #expect(
            text.contains(
                #"ceems_compute_collect_error{cgrouphostname="",hostname="node-1",manager="slurm",uuid="101"} 1"#))
        #expect(
            !text.contains(
                #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="101"}"#
            ))
        // What could be read is still there, for both jobs.
        #expect(
            text.contains(
                #"ceems_compute_unit_memory_rss_bytes{cgrouphostname="",hostname="node-1",manager="slurm",uuid="101"} 2.097152e+06"#
            ))
        #expect(
            text.contains(
                #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="102"} 7.25"#
            ))
        #expect(
            !text.contains(#"ceems_compute_unit_cpus{cgrouphostname="",hostname="node-1",manager="slurm",uuid="102"}"#))
    }

    @Test func aCgroupMissingControllersStillGivesWhatItHas() async throws {
        let tree = try FixtureTree()
        try UnitFixture.hostFiles(tree)
        // Like this machine's v2 mount: no memory controller, only the core cpu.stat.
        try tree.file(
            "cgroup/system.slice/slurmstepd.scope/job_7/cpu.stat", "usage_usec 3\nuser_usec 2000000\nsystem_usec 1\n")
        try tree.file("cgroup/system.slice/slurmstepd.scope/job_7/cgroup.events", "populated 1\nfrozen 0\n")
        try tree.file("cgroup/system.slice/slurmstepd.scope/job_7/cgroup.procs", "4242\n")
        try tree.directory("proc/4242")
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        let text = await scrape(try await UnitFixture.collectors(configuration, [.slurm]))
        #expect(text.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
        #expect(
            text.contains(
                #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="7"} 2"#
            ))
        #expect(!text.contains("ceems_compute_unit_memory_used_bytes{"))
    }

    @Test func cgroupsVanishingDuringScrapesNeverBreakThem() async throws {
        let tree = try UnitFixture.slurmV2([Self.jobs[0]])
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.cgroups.endedUnits = false
        let collectors = try await UnitFixture.collectors(configuration, [.slurm])
        // The churn runs on its own thread: a tight loop must not take one of the test pool's threads.
        let stop = Atomic<Bool>(false)
        let stopped = Atomic<Bool>(false)
        BackgroundThread.start {
            var round = 0
            while !stop.load(ordering: .relaxed) {
                round += 1
                try? UnitFixture.addV2Job(UnitFixture.Job(id: 500 + round % 7, pids: [4001]), to: tree)
                tree.removeTree("cgroup/system.slice/slurmstepd.scope/job_\(500 + (round + 3) % 7)")
            }
            stopped.store(true, ordering: .relaxed)
        }
        for _ in 0..<150 {
            // A deadline far above a scrape's time here: what is checked is that churn never fails one, not its
            // speed while the rest of the suite starts beside it on two cores.
            let text = await scrape(collectors, timeout: .seconds(15))
            #expect(text.contains(#"uuid="101""#))
            #expect(
                !text.contains(#"ceems_scrape_collector_success{collector="slurm"} 0"#)
                    || text.contains("collect_error"))
        }
        stop.store(true, ordering: .relaxed)
        while !stopped.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func slurmIDsFromSLUIDDirectoriesComeFromTheEnvironmentOrTheResolver() async throws {
        let tree = try FixtureTree()
        try UnitFixture.hostFiles(tree)
        let scope = "cgroup/system.slice/slurmstepd.scope"
        for (sluid, pid) in [("s1a2b3c4d5", "4301"), ("s9z8y7x6w5", "")] {
            try tree.file("\(scope)/\(sluid)/cpu.stat", "usage_usec 3\nuser_usec 1000000\nsystem_usec 1\n")
            try tree.file("\(scope)/\(sluid)/cgroup.events", "populated 1\nfrozen 0\n")
            try tree.file("\(scope)/\(sluid)/step_0/cgroup.procs", pid.isEmpty ? "" : pid + "\n")
        }
        try tree.file("proc/4301/environ", "HOME=/\u{0}SLURM_JOB_ID=9001\u{0}")
        let resolver = try tree.script("resolve", #"[ "$1" = s9z8y7x6w5 ] && echo 9002"#)
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.slurm.jobIDResolver = [resolver]
        let text = await scrape(try await UnitFixture.collectors(configuration, [.slurm]))
        #expect(
            text.contains(
                #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="9001"} 1"#
            ))
        #expect(
            text.contains(
                #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="9002"} 1"#
            ))
        #expect(!text.contains("sluid"))
    }

    @Test(arguments: ["sleep 30", "echo '<nvidia_smi_log><gpu id=\"x\">'; echo garbage"])
    func aHungOrBrokenGPUToolLeavesUnitsWithoutGPUsAndSuccessZero(script: String) async throws {
        let tree = try UnitFixture.slurmV2([Self.jobs[0]])
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.gpu.type = "nvidia"
        configuration.gpu.nvidiaSMIPath = try tree.script("nvidia-smi", script)
        configuration.gpu.toolTimeout = .seconds(20)
        configuration.gpu.startupWait = .milliseconds(300)
        let start = ContinuousClock.now
        let collectors = try await UnitFixture.collectors(configuration, [.slurm])
        // Start-up does not wait for the tool (20 s here, 60 s by default); the margin absorbs a busy machine.
        #expect(ContinuousClock.now - start < .seconds(10))
        for _ in 0..<2 {
            let text = await scrape(collectors, timeout: .seconds(2))
            #expect(text.contains(#"ceems_scrape_collector_success{collector="slurm"} 0"#))
            #expect(
                text.contains(
                    #"ceems_compute_unit_cpu_user_seconds_total{cgrouphostname="",hostname="node-1",manager="slurm",uuid="101"} 1"#
                ))
            #expect(!text.contains("gpu_index_flag{"))
            try await Task.sleep(for: .milliseconds(1200))
        }
    }

    @Test func gpuRowsComeFromTheJobsEnvironment() async throws {
        guard SharedReference.available else { return }
        let tree = try UnitFixture.slurmV2(Self.jobs)
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.gpu.type = "nvidia"
        configuration.gpu.nvidiaSMIPath = try tree.script(
            "nvidia-smi", "cat '\(SharedReference.fixtures)/fakes/nvidia-smi/data/query.xml'")
        let text = await scrape(try await UnitFixture.collectors(configuration, [.slurm]))
        #expect(text.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
        #expect(
            text.contains(
                #"ceems_compute_unit_gpu_index_flag{cgrouphostname="",gpuiid="",gpuuuid="GPU-f124aa59-d406-d45b-9481-8fcd694e6c9e",hindex="node-1/gpu-0",hostname="node-1",index="0",manager="slurm",uuid="101"} 1"#
            ))
        #expect(
            !text.contains(#"uuid="102"} 1\n"#)
                || !text.contains(#"index_flag{cgrouphostname="",gpuiid="",gpuuuid="GPU-61a65011"#))
    }
}
