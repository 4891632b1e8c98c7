import CEEMSLinux
import CEEMSTestSupport

/// A small, realistic node written in the kernel's file formats: 2 sockets × 2 cores × 2 threads, RAPL package
/// and DRAM zones plus a platform (`psys`) zone, one hwmon power meter, one InfiniBand HCA, Cray PM counters.
enum NodeFixture {
    static func make() throws -> FixtureTree {
        let tree = try FixtureTree()
        try tree.file(
            "proc/stat",
            """
            cpu  301854 612 111922 8979004 3552 2 3944 0 0 0
            cpu0 37731 76 13990 1122375 444 0 493 0 0 0
            cpu1 37731 76 13990 1122375 444 0 493 0 0 0
            cpu2 37731 76 13990 1122375 444 0 493 0 0 0
            cpu3 37731 76 13990 1122375 444 0 493 0 0 0
            cpu4 37731 76 13990 1122375 444 0 493 0 0 0
            cpu5 37731 76 13990 1122375 444 0 493 0 0 0
            cpu6 37731 76 13990 1122375 444 0 493 0 0 0
            cpu7 37737 80 13992 1122379 444 2 493 0 0 0
            intr 1 2 3
            ctxt 1000
            btime 1700000000
            processes 100

            """)
        var cpuinfo = ""
        for processor in 0..<8 {
            cpuinfo += "processor\t: \(processor)\nvendor_id\t: GenuineIntel\nphysical id\t: \(processor / 4)\n"
            cpuinfo += "siblings\t: 4\ncore id\t\t: \(processor % 2)\ncpu cores\t: 2\n\n"
        }
        try tree.file("proc/cpuinfo", cpuinfo)
        try tree.file(
            "proc/meminfo",
            """
            MemTotal:       15666184 kB
            MemFree:          440324 kB
            MemAvailable:    9876543 kB
            Buffers:         1020128 kB
            Active(anon):     267256 kB
            HugePages_Total:       0

            """)
        try tree.file(
            "proc/net/dev",
            """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo: 1664039048 1566805    0    0    0     0          0         0 1664039048 1566805    0    0    0     0       0          0
              eth0: 874354587 1036395    0    0    0     0          0         0 563352563  732147    0    0    0     0       0          0
              ib0: 12 1    0    0    0     0          0         0 24  2    0    0    0     0       0          0

            """)
        for (directory, name, energy, limit) in [
            ("intel-rapl:0", "package-0", "258218293244", "180000000"), ("intel-rapl:0:0", "dram", "24468409791", "0"),
            ("intel-rapl:1", "package-1", "130570505826", "180000000"), ("intel-rapl:1:0", "dram", "64930394974", "0"),
            ("intel-rapl:2", "psys", "1000000", "250000000"),
        ] {
            try tree.file("sys/class/powercap/\(directory)/name", name + "\n")
            try tree.file("sys/class/powercap/\(directory)/energy_uj", energy + "\n")
            try tree.file("sys/class/powercap/\(directory)/constraint_0_time_window_us", "999424\n")
            try tree.file("sys/class/powercap/\(directory)/constraint_0_power_limit_uw", limit + "\n")
        }
        try tree.file("sys/class/hwmon/hwmon3/name", "power_meter\n")
        try tree.file("sys/class/hwmon/hwmon3/power1_input", "345500000\n")
        try tree.file("sys/class/hwmon/hwmon3/power1_average", "330000000\n")
        try tree.file("sys/class/hwmon/hwmon3/power1_input_highest", "0\n")
        try tree.file("sys/class/hwmon/hwmon3/energy1_input", "123456000000\n")
        try tree.file("sys/class/infiniband/mlx5_0/fw_ver", "20.31.1014\n")
        try tree.file("sys/class/infiniband/mlx5_0/board_id", "MT_0000000222\n")
        try tree.file("sys/class/infiniband/mlx5_0/hca_type", "MT4123\n")
        try tree.file("sys/class/infiniband/mlx5_0/ports/1/state", "4: ACTIVE\n")
        try tree.file("sys/class/infiniband/mlx5_0/ports/1/phys_state", "5: LinkUp\n")
        try tree.file("sys/class/infiniband/mlx5_0/ports/1/rate", "200 Gb/sec (4X HDR)\n")
        for (counter, value) in [
            ("port_rcv_data", "1000"), ("port_xmit_data", "2000"), ("port_rcv_packets", "10"),
            ("port_xmit_packets", "20"), ("symbol_error", "N/A (no PMA)"), ("VL15_dropped", "0"),
        ] {
            try tree.file("sys/class/infiniband/mlx5_0/ports/1/counters/\(counter)", value + "\n")
        }
        try tree.file("sys/class/infiniband/mlx5_0/ports/1/counters_ext/port_rcv_data_64", "1000\n")
        for (file, content) in [
            ("power", "873 W 1734094386309238 us"), ("energy", "1360621494 J 1734094386309238 us"),
            ("power_cap", "0 W"),
            ("cpu_power", "83 W 1734094386484962 us"), ("accel0_power", "99 W 1734094386462336 us"),
            ("accel0_power_cap", "500 W"), ("cpu0_temp", "48 C 1734094386460680 us"), ("freshness", "12895022"),
        ] {
            try tree.file("sys/cray/pm_counters/\(file)", content + "\n")
        }
        return tree
    }

    static func fs(_ tree: FixtureTree) -> LinuxFS {
        LinuxFS(procfs: tree.path("proc"), sysfs: tree.path("sys"), cgroupfs: tree.path("sys/fs/cgroup"))
    }
}
