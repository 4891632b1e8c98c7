import AsyncHTTPClient
import CEEMSLinux
import CEEMSTestSupport
import NIOCore
import NIOHTTP1
import Testing

@testable import CEEMSExporter

@Suite struct UnitMatcherTests {
    @Test(arguments: [
        ("/c/system.slice/slurmstepd.scope/job_42", UnitMatch(id: "42", host: "", isChild: false)),
        ("/c/system.slice/slurmstepd.scope/job_42/step_0/user/task_0", UnitMatch(id: "42", host: "", isChild: true)),
        ("/c/system.slice/node3_slurmstepd.scope/job_7", UnitMatch(id: "7", host: "node3", isChild: false)),
        ("/c/system.slice/slurmstepd.scope/s1a2b3c4", UnitMatch(id: "sluid:s1a2b3c4", host: "", isChild: false)),
        ("/c/system.slice/slurmstepd.scope/s1a2b3c4/step_0", UnitMatch(id: "sluid:s1a2b3c4", host: "", isChild: true)),
    ])
    func slurmV2(path: String, expected: UnitMatch) {
        #expect(SlurmMatcher(version: .v2).match(path) == expected)
    }

    @Test(arguments: [
        "/c/system.slice/slurmstepd.scope/system", "/c/system.slice/slurmstepd.scope/job_x1",
        "/c/system.slice/slurmstepd.scope/job_", "/c/system.slice/other.scope/job_1", "/c/user.slice/job_1",
    ])
    func slurmV2NonJobs(path: String) {
        #expect(SlurmMatcher(version: .v2).match(path) == nil)
    }

    @Test func slurmV1() {
        let matcher = SlurmMatcher(version: .v1)
        #expect(matcher.match("/c/cpuacct/slurm/uid_1000/job_5") == UnitMatch(id: "5", host: "", isChild: false))
        #expect(
            matcher.match("/c/cpuacct/slurm_host1/uid_1000/job_5") == UnitMatch(id: "5", host: "host1", isChild: false))
        #expect(matcher.match("/c/cpuacct/slurm/uid_1000/job_5/step_batch")?.isChild == true)
        #expect(matcher.match("/c/cpuacct/slurm/uid_1000") == nil)
        // No SLUID directories on v1.
        #expect(matcher.match("/c/cpuacct/slurmstepd.scope/abc") == nil)
    }

    @Test func libvirt() {
        let matcher = LibvirtMatcher()
        #expect(matcher.match("/c/machine.slice/machine-qemu-1-instance-0000000a.scope")?.id == "instance-0000000a")
        #expect(matcher.match("/c/machine.slice/machine-qemu-1-instance-0000000a.scope/libvirt/vcpu0")?.isChild == true)
        #expect(matcher.match("/c/machine/qemu-12-instance-0000beef.libvirt-qemu")?.id == "instance-0000beef")
        #expect(matcher.match("/c/machine.slice/machine-lxc-1-web.scope") == nil)
    }

    @Test func kubernetes() {
        let matcher = K8sMatcher()
        let uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
        #expect(matcher.match("/c/kubepods/burstable/pod\(uid)")?.id == uid)
        #expect(matcher.match("/c/kubepods/pod\(uid)")?.isChild == false)
        #expect(matcher.match("/c/kubepods/burstable/pod\(uid)/cri-containerd-123")?.isChild == true)
        #expect(
            matcher.match(
                "/c/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod\(uid.replacing("-", with: "_")).slice"
            )?.id
                == uid)
        #expect(matcher.match("/c/kubepods.slice/kubepods-besteffort.slice") == nil)
        #expect(matcher.match("/c/kubepods/podshort") == nil)
    }
}

@Suite struct AlloyTargetsTests {
    @Test func rendersGoLikeJSONAndNullWhenEmpty() {
        #expect(AlloyTargetsEndpoint.render([]) == "null\n")
        let text = AlloyTargetsEndpoint.render([
            .init(id: "42", pid: 7, uuid: "42"), .init(id: "a\"b", pid: 8, uuid: "u"),
        ])
        #expect(
            text
                == #"[{"targets":["42"],"labels":{"__process_pid__":"7","service_name":"42"}},{"targets":["a\"b"],"labels":{"__process_pid__":"8","service_name":"u"}}]"#
                + "\n")
    }

    @Test func servesOneTargetPerProcessFilteredByEnvironment() async throws {
        let tree = try UnitFixture.slurmV2([
            .init(id: 11, pids: [5001, 5002], environment: ["PYROSCOPE_ON=1"]), .init(id: 12, pids: [5003]),
        ])
        var configuration = UnitFixture.configuration(tree, managers: [.slurm])
        configuration.cgroups.forceVersion = "v2"
        configuration.discoverer.alloyTargets = true
        configuration.discoverer.selfProfiler = true
        try await withExporter(configuration) { port, client in
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/alloy-targets"), timeout: .seconds(10))
            #expect(response.status.code == 200)
            #expect(response.headers["Content-Type"].first == "application/json")
            let body = String(decoding: try await response.bytes(), as: UTF8.self)
            #expect(body.contains(#"{"targets":["11"],"labels":{"__process_pid__":"5001","service_name":"11"}}"#))
            #expect(body.contains(#""__process_pid__":"5003""#))
            #expect(body.contains(#""service_name":"__internal_ceems_exporter""#))
        }
        configuration.discoverer.environmentVariables = ["PYROSCOPE_"]
        configuration.discoverer.selfProfiler = false
        try await withExporter(configuration) { port, client in
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/alloy-targets"), timeout: .seconds(10))
            let body = String(decoding: try await response.bytes(), as: UTF8.self)
            #expect(body.contains(#""__process_pid__":"5002""#))
            #expect(!body.contains(#""__process_pid__":"5003""#))
        }
        configuration.discoverer.alloyTargets = false
        try await withExporter(configuration) { port, client in
            let response = try await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/alloy-targets"), timeout: .seconds(10))
            #expect(response.status.code == 404)
        }
    }
}
