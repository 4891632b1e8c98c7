import CEEMSCore
import CEEMSTestSupport
import Testing

@testable import CEEMSExporter

@Suite(.enabled(if: SharedReference.available, "needs ../shared"))
struct NvidiaInventoryTests {
    static func devices() throws -> [GPUDevice] {
        try NvidiaInventory.parse(xml: SharedReference.read("fixtures/fakes/nvidia-smi/data/query.xml") ?? "")
    }

    @Test func recordedInventoryGivesIndicesInXMLOrderAndMIGFractions() throws {
        let devices = try Self.devices()
        #expect(devices.count == 8)
        #expect(devices.map(\.minor) == Array(0..<8))
        #expect(devices[0].busID == "0000:10:00.0")
        #expect(devices[0].uuid == "GPU-f124aa59-d406-d45b-9481-8fcd694e6c9e")
        #expect(devices[0].vgpuMode && !devices[1].vgpuMode)
        // Full GPUs take the indices first, then MIG instances in order (0, 1, then 2… for GPU 2's instances).
        #expect(devices[0].index == "0" && devices[1].index == "1")
        let mig = devices[2]
        #expect(mig.isPartitioned && mig.index.isEmpty)
        #expect(mig.instances.map(\.instanceID) == [1, 5, 13])
        #expect(mig.instances.map(\.smFraction) == [0.6, 0.2, 0.2])
        #expect(mig.instances.map(\.index) == ["2", "3", "4"])
        #expect(devices[0].smCount == 108)
    }

    @Test func vgpuQueryAttachesMediatedDevicesToGPUsAndInstances() throws {
        var devices = try Self.devices()
        NvidiaInventory.applyVGPUs(
            query: SharedReference.read("fixtures/fakes/nvidia-smi/data/vgpu-query.txt") ?? "", to: &devices)
        #expect(devices[0].mdevs == ["c73f1fa6-489e-4834-9476-d70dabd98c40", "f9702ffa-fa28-414e-a52f-e7831fd5ce41"])
        #expect(devices[1].mdevs.isEmpty)
        #expect(devices[2].mdevs.isEmpty)
        #expect(
            devices[2].instances.first { $0.instanceID == 5 }?.mdevs.contains("3b356d38-854e-48be-b376-00c72c7d119c")
                == true)
        #expect(devices[2].instances.first { $0.instanceID == 1 }?.mdevs == ["f0f4b97c-6580-48a6-ae1b-a807d6dfe08f"])
    }

    @Test func migListingGivesInstanceUUIDs() throws {
        var devices = try Self.devices()
        let listing = """
            GPU 0: NVIDIA A100-PCIE-40GB (UUID: GPU-f124aa59-d406-d45b-9481-8fcd694e6c9e)
            GPU 1: NVIDIA A100-PCIE-40GB (UUID: GPU-61a65011-6571-a6d2-5ab8-66cbb6f7f9c3)
            GPU 2: NVIDIA A100-PCIE-40GB (UUID: GPU-956348bc-d43d-23ed-53d4-857749fa2b67)
              MIG 3g.20gb     Device  0: (UUID: MIG-aaaaaaaa-0000-0000-0000-000000000001)
              MIG 1g.5gb      Device  1: (UUID: MIG-aaaaaaaa-0000-0000-0000-000000000002)
              MIG 1g.5gb      Device  2: (UUID: MIG-aaaaaaaa-0000-0000-0000-000000000003)
            """
        NvidiaInventory.applyMIGUUIDs(listing: listing, to: &devices)
        #expect(devices[2].instances.map(\.uuid) == (1...3).map { "MIG-aaaaaaaa-0000-0000-0000-00000000000\($0)" })
    }

    @Test func garbageIsAnError() {
        #expect(throws: (any Error).self) { try NvidiaInventory.parse(xml: "nvidia-smi: driver not loaded\n") }
    }
}

@Suite struct AMDInventoryTests {
    @Test(.enabled(if: SharedReference.available)) func recordedRocmSMICSV() throws {
        let devices = try AMDInventory.parse(
            SharedReference.read("fixtures/fakes/rocm-smi/data/product-serial-bus.csv") ?? "")
        #expect(devices.count == 4)
        #expect(devices.map(\.index) == ["0", "1", "2", "3"])
        #expect(devices[0].uuid == "20170000800c")
        #expect(devices.allSatisfy { !$0.isPartitioned && $0.vendor == .amd })
    }

    @Test func amdSMIJSONWithComputePartitions() throws {
        let json = """
            [{"gpu": 0, "bus": {"bdf": "0000:0C:00.0"}, "board": {"product_serial": "S0", "product_name": "MI300X"},
              "partition": {"compute_partition": "CPX"}},
             {"gpu": 1, "bus": {"bdf": "0000:22:00.0"}, "board": {"product_serial": "S1", "product_name": "MI300X"},
              "partition": {"compute_partition": "SPX"}}]
            """
        let devices = try AMDInventory.parse(json)
        #expect(devices.count == 2)
        #expect(devices[0].instances.count == 8 && devices[0].index.isEmpty)
        #expect(devices[0].instances.map(\.index) == (0..<8).map(String.init))
        #expect(devices[0].instances[0].smFraction == 0.125)
        #expect(devices[1].index == "8" && devices[1].busID == "0000:22:00.0")
    }

    @Test func rocmSMIJSON() throws {
        let json = #"{"card1": {"Serial Number": "B", "PCI Bus": "0000:C1:00.0"}, "card0": {"Serial Number": "A"}}"#
        let devices = try AMDInventory.parse(json)
        #expect(devices.map(\.uuid) == ["A", "B"])
        #expect(devices.map(\.index) == ["0", "1"])
    }

    @Test(arguments: ["ERROR: GPU[0] : not supported\nno cards", "{not json", "[1, 2"])
    func garbageIsAnError(output: String) {
        #expect(throws: AMDInventory.ParseError.self) { try AMDInventory.parse(output) }
    }
}

@Suite struct GPUOrderMapTests {
    static func devices() -> [GPUDevice] {
        var full = GPUDevice(
            vendor: .nvidia, minor: 0, index: "0", uuid: "GPU-0", busID: "0000:01:00.0", productName: "A100")
        var mig = GPUDevice(
            vendor: .nvidia, minor: 1, index: "", uuid: "GPU-1", busID: "0000:02:00.0", productName: "A100")
        mig.instances = [GPUInstance(index: "1", instanceID: 3), GPUInstance(index: "2", instanceID: 9)]
        full.smCount = 108
        return [full, mig]
    }

    @Test func remapsGPUsAndInstancesAndSkipsUnknownEntries() throws {
        var devices = Self.devices()
        try GPUOrderMap(parsing: "0:1.9, 1:0, 5:7, 6:1.42, 9:1").apply(to: &devices)
        #expect(devices[0].index == "1")
        #expect(devices[1].instances.map(\.index) == ["1", "0"])
        #expect(devices[1].index.isEmpty)
    }

    @Test(arguments: ["0", "a:1", "0:x", "0:1.2.3", "0:1.x"])
    func malformedEntriesAreRejected(text: String) {
        #expect(throws: GPUOrderMap.ParseError.self) { try GPUOrderMap(parsing: text) }
    }
}

@Suite struct GresSharingTests {
    @Test func sharesPerDeviceForThisNode() {
        let devices = GPUOrderMapTests.devices()
        let text = """
            # shards on the full GPU, MPS on the MIG instances of node gpu[1-2]
            NodeName=gpu[1-2] Name=shard Count=8 File=/dev/nvidia0
            NodeName=gpu[1-2] Name=mps Count=200 File=/dev/nvidia-caps/nvidia-cap21,/dev/nvidia-caps/nvidia-cap22
            NodeName=other Name=shard Count=4 File=/dev/nvidia1
            Name=gpu File=/dev/nvidia[0-1]
            """
        let sharing = GresSharing(
            parsing: text, hostname: "gpu2", devices: devices,
            migMinors: [21: (gpu: 1, instance: 3), 22: (gpu: 1, instance: 9)])
        #expect(sharing.shares[.init(minor: 0, instanceID: nil)] == 8)
        #expect(sharing.shares[.init(minor: 1, instanceID: 3)] == 100)
        #expect(sharing.shares[.init(minor: 1, instanceID: 9)] == 100)
        #expect(sharing.shares.count == 3)
        #expect(GresSharing(parsing: text, hostname: "gpu9", devices: devices, migMinors: [:]).isEmpty)
    }

    @Test func hostlistsExpandAndStayBounded() {
        #expect(Hostlist.expand("gpu[01-03,7],cpu1") == ["gpu01", "gpu02", "gpu03", "gpu7", "cpu1"])
        #expect(Hostlist.expand("a[1-2]b[1-2]") == ["a1b1", "a1b2", "a2b1", "a2b2"])
        #expect(Hostlist.expand("n[0-65535]x[0-65535]").count == Hostlist.maximumNames)
    }

    @Test func migMinorsFromTheDriverTable() {
        // Compute-instance lines name the device files SLURM lists; GPU-instance lines are not used.
        let table = "config 1\nmonitor 2\ngpu0/gi1/access 21\ngpu0/gi1/ci0/access 22\ngpu1/gi13/ci0/access 150\n"
        let minors = GresSharing.migMinors(table)
        #expect(minors[22]?.gpu == 0 && minors[22]?.instance == 1)
        #expect(minors[150]?.gpu == 1 && minors[150]?.instance == 13)
        #expect(minors[21] == nil)
    }
}

@Suite struct SlurmGPUMapperTests {
    static func environ(_ pairs: [String]) -> ArraySlice<UInt8> {
        Array(pairs.joined(separator: "\u{0}").utf8)[...]
    }

    @Test func jobGPUsWinOverStepGPUsAndTheJobIDMustMatch() {
        let bytes = Self.environ(["SLURM_JOB_ID=42", "SLURM_STEP_GPUS=3", "SLURM_JOB_GPUS=0,1", "X=y"])
        #expect(SlurmJobEnvironment.parse(bytes, requireJobID: "42")?.ordinals == ["0", "1"])
        #expect(SlurmJobEnvironment.parse(bytes, requireJobID: "4") == nil)
        #expect(SlurmJobEnvironment.parse(Self.environ(["SLURM_STEP_GPUS=3"]), requireJobID: nil)?.ordinals == ["3"])
    }

    @Test func assignsFullGPUsAndMIGInstances() {
        let mapper = SlurmGPUMapper(devices: GPUOrderMapTests.devices(), sharing: GresSharing())
        #expect(Set(mapper.jobsToLookUp(["10", "11"])) == ["10", "11"])
        let rows = mapper.update(
            current: ["10", "11"],
            found: [
                "10": SlurmJobEnvironment(ordinals: ["0", "2"]), "11": SlurmJobEnvironment(ordinals: []),
            ])
        #expect(rows["10"]?.map(\.index) == ["0", "2"])
        #expect(rows["10"]?.map(\.instanceID) == ["", "9"])
        #expect(rows["10"]?.first?.value == 1)
        #expect(rows["11"] == [])
        // A job with GPUs is not read again; one without is, until it has had its attempts.
        #expect(mapper.jobsToLookUp(["10", "11"]) == ["11"])
        for _ in 0..<4 { _ = mapper.update(current: ["10", "11"], found: ["11": SlurmJobEnvironment()]) }
        #expect(mapper.jobsToLookUp(["10", "11"]).isEmpty)
        // A job that ended is forgotten.
        #expect(mapper.update(current: ["11"], found: [:])["10"] == nil)
    }

    @Test func shardsAreSharedByTheirCount() {
        let sharing = GresSharing(shares: [.init(minor: 0, instanceID: nil): 4])
        let mapper = SlurmGPUMapper(devices: GPUOrderMapTests.devices(), sharing: sharing)
        let rows = mapper.update(
            current: ["1", "2"],
            found: [
                "1": SlurmJobEnvironment(ordinals: ["0"], shards: 1),
                "2": SlurmJobEnvironment(ordinals: ["0"], shards: 3),
            ])
        #expect(rows["1"]?.first?.value == 0.25)
        #expect(rows["2"]?.first?.value == 0.75)
    }
}

@Suite struct LibvirtDomainTests {
    @Test func domainXMLGivesUUIDPassthroughAndMediatedDevices() throws {
        let xml = """
            <domain type='kvm'>
              <name>instance-00000002</name>
              <uuid>57F2D45E-8DDF-4338-91DF-62D0044FF1B5</uuid>
              <devices>
                <hostdev mode='subsystem' type='pci' managed='yes'>
                  <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
                </hostdev>
                <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
                  <source><address uuid='AAAA-1'/></source>
                </hostdev>
              </devices>
            </domain>
            """
        let domain = try #require(LibvirtDomain.parse(xml: xml))
        #expect(
            domain.uuid == "57f2d45e-8ddf-4338-91df-62d0044ff1b5"
                || domain.uuid == "57F2D45E-8DDF-4338-91DF-62D0044FF1B5")
        #expect(domain.mdevUUIDs == ["aaaa-1"])
        var devices = GPUOrderMapTests.devices()
        devices[1].vgpuMode = true
        devices[1].instances[1].mdevs = ["aaaa-1", "bbbb-2"]
        devices[1].instances[1].smFraction = 0.5
        let rows = domain.assignments(devices: devices)
        #expect(rows.map(\.index) == ["0", "2"])
        #expect(rows.map(\.value) == [1, 0.25])
        #expect(LibvirtDomain.parse(xml: "<domain><name>x</name>") == nil)
    }
}

@Suite struct KubernetesGPUMapperTests {
    @Test func podsAreJoinedByNamespaceAndNameAndTimeSlicedDevicesShared() {
        let devices = GPUOrderMapTests.devices()
        let pods = [
            PodIdentity(namespace: "a", name: "train", uid: "uid-a"),
            PodIdentity(namespace: "b", name: "train", uid: "uid-b"),
            PodIdentity(namespace: "c", name: "idle", uid: "uid-c"),
        ]
        let resources = [
            PodDevices(namespace: "a", name: "train", deviceIDs: ["GPU-0::1", "GPU-0::2"]),
            PodDevices(namespace: "b", name: "train", deviceIDs: ["gpu-0::3", "GPU-1"]),
            PodDevices(namespace: "z", name: "train", deviceIDs: ["GPU-1"]),
        ]
        let map = KubernetesGPUMapper.map(pods: pods, resources: resources, devices: devices)
        let a = map["uid-a"] ?? []
        let b = map["uid-b"] ?? []
        #expect(a.count == 1 && a[0].index == "0")
        #expect(abs(a[0].value - 2.0 / 3.0) < 1e-12)
        #expect(b.first { $0.gpuUUID == "GPU-0" }.map { abs($0.value - 1.0 / 3.0) < 1e-12 } == true)
        #expect(map["uid-c"] == nil)
    }
}
