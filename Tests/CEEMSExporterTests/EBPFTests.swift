import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Foundation
import Synchronization
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
        try await SharedScopeLock.v2.run { try await fileAndNetworkBytes() }
    }

    func fileAndNetworkBytes() async throws {
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

    /// TCP retransmissions (counted from the kernel's timers, under the socket's cgroup): a unit sends to a peer in
    /// another network namespace whose link goes down for 1.5 s. Then the unit ends: its map entries go.
    @Test(.enabled(if: usable && CommandRunner.lookPath("ip") != nil, "needs root, cgroup v2, libbpf1 and iproute2"))
    func retransmissionsOfAUnitAndItsEntriesGoneAfterItEnds() async throws {
        try await SharedScopeLock.v2.run { try await retransmissionsAndPruning() }
    }

    func retransmissionsAndPruning() async throws {
        let id = String(880_000 + Int(getpid() % 10_000))
        let root = RealCgroupTests.v2Root
        let scope = root + "/system.slice/slurmstepd.scope"
        let createdSlice = access(root + "/system.slice", F_OK) != 0
        let task = scope + "/job_\(id)/step_0"
        RealCgroupTests.makeDirectories(task)
        var removed = false
        defer {
            var paths = [task, scope + "/job_\(id)", scope]
            if createdSlice { paths.append(root + "/system.slice") }
            if !removed { RealCgroupTests.removeCgroups(paths) }
        }
        // A veth pair: this side 10.213.<n>.1, the peer 10.213.<n>.2 in its own namespace.
        let suffix = String(getpid() % 100_000)
        let (namespace, near, far) = ("ceems-rt-\(suffix)", "crta\(suffix)", "crtb\(suffix)")
        let subnet = "10.213.\(getpid() % 250)"
        let runner = CommandRunner()
        func ip(_ arguments: String...) async throws {
            _ = try await runner.run("ip", arguments: arguments, timeout: .seconds(10))
        }
        try await ip("netns", "add", namespace)
        // Deleting the namespace deletes the veth pair too; awaited, so that no namespace outlives the test.
        do {
            try await retransmissions(
                namespace: namespace, near: near, far: far, subnet: subnet, task: task, ip: ip,
                removeUnit: { RealCgroupTests.removeCgroups([task, scope + "/job_\(id)"]); removed = true }, id: id)
        } catch {
            try? await ip("netns", "del", namespace)
            throw error
        }
        try? await ip("netns", "del", namespace)
    }

    func retransmissions(
        namespace: String, near: String, far: String, subnet: String, task: String,
        ip: (String...) async throws -> Void, removeUnit: () -> Void, id: String
    ) async throws {
        let root = RealCgroupTests.v2Root
        try await ip("link", "add", near, "type", "veth", "peer", "name", far)
        try await ip("link", "set", far, "netns", namespace)
        try await ip("addr", "add", "\(subnet).1/30", "dev", near)
        try await ip("link", "set", near, "up")
        try await ip("netns", "exec", namespace, "ip", "addr", "add", "\(subnet).2/30", "dev", far)
        try await ip("netns", "exec", namespace, "ip", "link", "set", far, "up")
        let port = 40_000 + Int(getpid() % 20_000)
        let receiver = try RealCgroupTests.BusyProcess(
            joining: [],
            script: """
                exec ip netns exec \(namespace) python3 -c '
                import socket
                server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("\(subnet).2", \(port))); server.listen(1)
                connection, _ = server.accept()
                while connection.recv(1 << 16): pass'
                """)
        defer { receiver.stop() }
        try await Task.sleep(for: .milliseconds(500))

        let collectors = try await RealCgroupTests.slurmCollectors(root: root, version: "v2") {
            $0.ebpf.networkMetrics = true
        }
        defer { Task { for collector in collectors { await collector.shutdown() } } }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let sender = try RealCgroupTests.BusyProcess(
            joining: [task],
            script: """
                python3 -c '
                import socket, subprocess, threading, time
                def link(state):
                    subprocess.run(["ip", "netns", "exec", "\(namespace)", "ip", "link", "set", "\(far)", state], check=True)
                client = socket.create_connection(("\(subnet).2", \(port)), timeout=20)
                client.sendall(b"x" * 65536)
                link("down")
                def restore():
                    time.sleep(1.5)
                    link("up")
                threading.Thread(target=restore).start()
                client.sendall(b"x" * 262144)
                client.close()'
                touch \(directory)/done
                exec sleep 30
                """)
        for _ in 0..<300 where access(directory + "/done", F_OK) != 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(access(directory + "/done", F_OK) == 0, "the sender did not finish")
        let text = await scrape(collectors)
        func value(_ family: String) -> Double {
            text.split(separator: "\n").filter { $0.hasPrefix(family + "{") && $0.contains("uuid=\"\(id)\"") }
                .reduce(0) { $0 + (Double($1.split(separator: " ").last ?? "") ?? 0) }
        }
        #expect(value("ceems_ebpf_retrans_packets_total") >= 1, "\(text.split(separator: "\n").filter { $0.hasPrefix("ceems_ebpf") })")
        #expect(value("ceems_ebpf_retrans_bytes_total") > 0)
        #expect(value("ceems_ebpf_egress_bytes_total") >= 327_680)
        #expect(text.contains("# HELP ceems_ebpf_retrans_packets_total Total number of retransmission packets from a cgroup"))

        // The unit ends: two full walks later the maps hold nothing under its cgroup id.
        var info = stat()
        stat(task, &info)
        let cgroup = UInt64(info.st_ino)
        sender.stop()
        removeUnit()
        let subCollector = try #require(
            collectors.flatMap(\.subCollectors)
                .compactMap { $0 as? EBPFSubCollector }.first)
        // Every scrape a full walk (30 s apart otherwise).
        subCollector.rewalkInterval.withLock { $0 = .zero }
        _ = await scrape(collectors)
        _ = await scrape(collectors)
        let remaining = ["io_stats", "file_stats", "net_stats"].flatMap { subCollector.keys($0, keySize: 16) }
        #expect(!remaining.contains { EBPFSubCollector.u64($0, 0) == cgroup })
    }
}
