import Testing

@testable import CEEMSLinux

@Suite struct RDMAOutputTests {
    @Test func resourcesKeepProcessOwnedLinesWithTheirDeviceAndLength() {
        let mr = """
            dev mlx5_0 mrn 4 mrlen 4096 pdn 9 pid 46231 comm ib_write_bw
            dev mlx5_0 mrn 5 mrlen 2048 pdn 9 pid 46231 comm ib_write_bw
            dev mlx5_1 mrn 6 mrlen 1 pdn 3 comm [ib_core]
            garbage
            """
        let resources = RDMAOutput.resources(mr, lengthKey: "mrlen")
        #expect(resources.count == 2)
        #expect(resources[0] == .init(pid: 46231, device: "mlx5_0", port: "", length: 4096))
        let qp = "link mlx5_0/1 lqpn 0 type SMI state RTS sq-psn 0 comm [ib_core]\nlink mlx5_0/1 lqpn 7 pid 12 comm x\n"
        #expect(RDMAOutput.resources(qp, lengthKey: nil) == [.init(pid: 12, device: "mlx5_0", port: "1", length: 0)])
    }

    @Test func qpModesAndCounters() {
        let modes = RDMAOutput.qpModes("link mlx5_0/1 qp auto type,pid on\nlink mlx5_1/1 qp auto off\nlink x\n")
        #expect(modes.map(\.link) == ["mlx5_0/1", "mlx5_1/1"])
        #expect(modes.map(\.enabled) == [true, false])
        let counters = RDMAOutput.qpCounters(
            "link mlx5_0/1 cntn 4 qp-type RC pid 30503 comm ib_write_bw rx_write_requests 41988882 rx_read_requests 0 "
                + "lqpn 1\nlink mlx5_0/1 cntn 5 rx_write_requests 9\n")
        #expect(counters.count == 1)
        #expect(counters[0].pid == 30503 && counters[0].device == "mlx5_0" && counters[0].port == "1")
        #expect(counters[0].counters["rx_write_requests"] == 41_988_882)
    }
}
