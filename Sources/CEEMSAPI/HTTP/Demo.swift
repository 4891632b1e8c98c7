/// `/demo/{units|usage}`: random data for trying dashboards without a cluster (only the status is a contract).
enum Demo {
    static func data(kind: String) -> String {
        var generator = SystemRandomNumberGenerator()
        if kind == "usage" {
            var rows: [Usage] = []
            for index in 1...7 {
                for project in 1...Int.random(in: 1...3, using: &generator) {
                    var usage = Usage()
                    usage.clusterID = "slurm-0"
                    usage.resourceManager = "slurm"
                    usage.numUnits = Int64.random(in: 1...500, using: &generator)
                    usage.project = "project\(project)"
                    usage.group = "group"
                    usage.user = "user\(index)"
                    usage.metrics[.avgCPUUsage] = MetricMap(["global": Double.random(in: 0...100, using: &generator)])
                    usage.metrics[.totalCPUEnergyUsageKWh] = MetricMap([
                        "total": Double.random(in: 0...1000, using: &generator)
                    ])
                    rows.append(usage)
                }
            }
            return Envelope.array(rows) { $0.write(to: &$1) }
        }
        let managers = ["slurm", "openstack", "k8s"]
        var units: [ComputeUnit] = []
        let base: Int64 = 1_700_000_000_000
        for index in 0..<100 {
            let manager = managers[index % 3]
            var unit = ComputeUnit(
                clusterID: "\(manager)-\(index % 2)", resourceManager: manager, uuid: String(1000 + index))
            unit.name = "demo-\(index)"
            unit.project = "project\(index % 5)"
            unit.group = "group"
            unit.user = "user1"
            unit.startedAtTS = base + Int64(index) * 60_000
            unit.endedAtTS = index < 20 ? 0 : unit.startedAtTS + Int64.random(in: 60_000...86_400_000, using: &generator)
            unit.state = index < 20 ? "RUNNING" : "COMPLETED"
            unit.metrics[.avgCPUUsage] = MetricMap(["global": Double.random(in: 0...100, using: &generator)])
            units.append(unit)
        }
        return Envelope.array(units) { $0.write(to: &$1) }
    }
}
