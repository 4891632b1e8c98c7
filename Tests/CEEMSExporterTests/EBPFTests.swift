import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Foundation
import Testing

@testable import CEEMSExporter

#if canImport(Glibc)
import Glibc
#endif

/// The eBPF sub-collector on this machine's real cgroup v2 hierarchy: a unit writing 100 MB and sending 10 MB over
/// loopback TCP, beside an idle unit.
@Suite(.serialized) struct EBPFTests {
    static var usable: Bool {
        RealCgroupTests.v2Writable && dlopen("libbpf.so.1", RTLD_NOW) != nil
    }

    @Test(.enabled(if: usable, "needs root, a writable cgroup v2 mount and libbpf1"))
    func aUnitsFileAndNetworkBytesAndNothingForAnIdleUnit() async throws {
        let base = 850_000 + Int(getpid() % 10_000)
        let (busyID, idleID) = (String(base), String(base + 1))
        let root = RealCgroupTests.v2Root
        let scope = root + "/system.slice/slurmstepd.scope"
        let createdSlice = access(root + "/system.slice", F_OK) != 0
        let busyTask = scope + "/job_\(busyID)/step_0"
        let idleTask = scope + "/job_\(idleID)/step_0"
        RealCgroupTests.makeDirectories(busyTask)
        RealCgroupTests.makeDirectories(idleTask)
        defer {
            var paths = [busyTask, scope + "/job_\(busyID)", idleTask, scope + "/job_\(idleID)", scope]
            if createdSlice { paths.append(root + "/system.slice") }
            RealCgroupTests.removeCgroups(paths)
        }
        let collectors = try await RealCgroupTests.slurmCollectors(root: root, version: "v2") {
            $0.ebpf.ioMetrics = true
            $0.ebpf.networkMetrics = true
        }
        defer { Task { for collector in collectors { await collector.shutdown() } } }

        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The idle unit sleeps; the busy one writes 100 MB to a file, sends 10 MB to itself over TCP, then waits.
        let idle = try RealCgroupTests.BusyProcess(joining: [idleTask], script: "exec sleep 30")
        defer { idle.stop() }
        let busy = try RealCgroupTests.BusyProcess(
            joining: [busyTask],
            script: """
                dd if=/dev/zero of=\(directory)/data bs=1M count=100 2>/dev/null
                python3 -c '
                import socket, threading
                server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
                def drain():
                    connection, _ = server.accept()
                    while connection.recv(1 << 16): pass
                thread = threading.Thread(target=drain); thread.start()
                client = socket.create_connection(server.getsockname()); client.sendall(b"x" * 10485760); client.close()
                thread.join()'
                touch \(directory)/done
                exec sleep 30
                """)
        defer { busy.stop() }
        for _ in 0..<300 where access(directory + "/done", F_OK) != 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(access(directory + "/done", F_OK) == 0, "the workload did not finish")
        let text = await scrape(collectors)
        func value(_ family: String, uuid: String, _ filter: String = "") -> Double {
            text.split(separator: "\n").filter {
                $0.hasPrefix(family + "{") && $0.contains("uuid=\"\(uuid)\"") && (filter.isEmpty || $0.contains(filter))
            }.reduce(0) { $0 + (Double($1.split(separator: " ").last ?? "") ?? 0) }
        }
        let written = value("ceems_ebpf_write_bytes_total", uuid: busyID)
        let sent = value("ceems_ebpf_egress_bytes_total", uuid: busyID, #"proto="tcp""#)
        let received = value("ceems_ebpf_ingress_bytes_total", uuid: busyID, #"proto="tcp""#)
        #expect(abs(written / 104_857_600 - 1) < 0.05, "written \(written): \(text.split(separator: "\n").filter { $0.hasPrefix("ceems_ebpf") }.joined(separator: "\n"))")
        #expect(abs(sent / 10_485_760 - 1) < 0.05, "sent \(sent)")
        #expect(abs(received / 10_485_760 - 1) < 0.05, "received \(received)")
        #expect(value("ceems_ebpf_write_requests_total", uuid: busyID) >= 100)
        #expect(text.contains(#"ceems_ebpf_egress_bytes_total{family="ipv4",hostname="node-1",manager="slurm",proto="tcp",uuid="\#(busyID)"}"#))
        #expect(text.contains("# HELP ceems_ebpf_write_bytes_total Total number of bytes written from a cgroup in bytes"))
        // The idle unit: no file or network bytes (its shell wrote its pid to cgroup.procs: a few bytes on the cgroup
        // file system).
        #expect(value("ceems_ebpf_write_bytes_total", uuid: idleID, #"mountpoint="/""#) == 0)
        #expect(value("ceems_ebpf_write_bytes_total", uuid: idleID) < 100)
        #expect(value("ceems_ebpf_egress_bytes_total", uuid: idleID) == 0)
        #expect(value("ceems_ebpf_ingress_bytes_total", uuid: idleID) == 0)
        #expect(text.contains(#"ceems_scrape_collector_success{collector="slurm"} 1"#))
    }
}
