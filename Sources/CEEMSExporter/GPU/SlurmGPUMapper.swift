import CEEMSCore
import CEEMSLinux
import Synchronization

/// What a job's processes say about its GPUs in their environment.
struct SlurmJobEnvironment: Sendable, Equatable {
    /// GPU ordinals (`SLURM_JOB_GPUS`, else `SLURM_STEP_GPUS`).
    var ordinals: [String] = []
    /// Shares on each GPU (`SLURM_SHARDS_ON_NODE`; MPS `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE` as a percentage).
    var shards: Int?
    var mpsPercentage: Int?
    /// `SLURM_JOB_ID` (resolves SLUID-named cgroups).
    var jobID: String?

    /// Reads the SLURM variables of one process environment. With `requireJobID`, a process whose
    /// `SLURM_JOB_ID` is not exactly that id is ignored (a process can sit in another job's cgroup).
    static func parse(_ bytes: ArraySlice<UInt8>, requireJobID: String?) -> SlurmJobEnvironment? {
        var environment = SlurmJobEnvironment()
        var jobGPUs: [String]?
        var stepGPUs: [String]?
        for entry in ProcessEnvironment.entries(bytes) {
            guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = entry[..<equals]
            let value = ByteParsing.string(entry[(equals + 1)...])
            if name.elementsEqual("SLURM_JOB_ID".utf8) {
                environment.jobID = value
            } else if name.elementsEqual("SLURM_JOB_GPUS".utf8) {
                jobGPUs = list(value)
            } else if name.elementsEqual("SLURM_STEP_GPUS".utf8) {
                stepGPUs = list(value)
            } else if name.elementsEqual("SLURM_SHARDS_ON_NODE".utf8) {
                environment.shards = Int(value)
            } else if name.elementsEqual("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE".utf8) {
                environment.mpsPercentage = Int(value)
            }
        }
        if let requireJobID, environment.jobID != requireJobID { return nil }
        environment.ordinals = jobGPUs ?? stepGPUs ?? []
        return environment
    }

    static func list(_ value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }
}

/// Maps SLURM jobs to GPUs from their processes' environment, `gres.conf` sharing and the order map.
///
/// A job is looked up when it first appears; a job whose environment showed no GPU is looked up again on the
/// next scrapes (its processes may not have started), at most `maximumAttempts` times, so CPU-only jobs on a
/// GPU node do not cost an environment read per scrape for ever.
final class SlurmGPUMapper: Sendable {
    let devices: [GPUDevice]
    let sharing: GresSharing
    let maximumAttempts: Int

    private struct State {
        var environments: [String: SlurmJobEnvironment] = [:]
        var attempts: [String: Int] = [:]
        var assignments: [String: [GPUAssignment]] = [:]
    }

    private let state = Mutex(State())

    init(devices: [GPUDevice], sharing: GresSharing, maximumAttempts: Int = 5) {
        self.devices = devices
        self.sharing = sharing
        self.maximumAttempts = maximumAttempts
    }

    /// Which of these jobs need their environment read this scrape.
    func jobsToLookUp(_ uuids: [String]) -> [String] {
        state.withLock { state in
            uuids.filter { uuid in
                guard let environment = state.environments[uuid] else { return true }
                return environment.ordinals.isEmpty && state.attempts[uuid, default: 0] < maximumAttempts
            }
        }
    }

    /// Records what was read and returns every current job's assignments.
    func update(current uuids: [String], found: [String: SlurmJobEnvironment]) -> [String: [GPUAssignment]] {
        state.withLock { state in
            let current = Set(uuids)
            var changed = false
            for uuid in state.environments.keys where !current.contains(uuid) {
                state.environments.removeValue(forKey: uuid)
                state.attempts.removeValue(forKey: uuid)
                changed = true
            }
            for (uuid, environment) in found {
                state.attempts[uuid, default: 0] += 1
                if state.environments[uuid] != environment {
                    state.environments[uuid] = environment
                    changed = true
                }
            }
            if changed || state.assignments.isEmpty {
                state.assignments = assign(state.environments)
            }
            return state.assignments
        }
    }

    private enum Target: Hashable {
        case device(Int)
        case instance(Int, Int)
    }

    private func targets(for ordinal: String) -> [Target] {
        var targets: [Target] = []
        for (position, device) in devices.enumerated() {
            for (instance, mig) in device.instances.enumerated() where mig.index == ordinal {
                targets.append(.instance(position, instance))
            }
            if !device.isPartitioned && device.index == ordinal { targets.append(.device(position)) }
        }
        return targets
    }

    private func sharingKey(_ target: Target) -> GresSharing.Key {
        switch target {
        case .device(let position): GresSharing.Key(minor: devices[position].minor, instanceID: nil)
        case .instance(let position, let instance):
            GresSharing.Key(
                minor: devices[position].minor, instanceID: devices[position].instances[instance].instanceID)
        }
    }

    private func assign(_ environments: [String: SlurmJobEnvironment]) -> [String: [GPUAssignment]] {
        var result: [String: [GPUAssignment]] = [:]
        // Shares: jobs sorted by their number of devices, each device's shares handed out until none remain;
        // a job's flag is its shares over the shares handed out on the device.
        var shareRecords: [(uuid: String, targets: [Target], shares: Int)] = []
        for (uuid, environment) in environments {
            let targets = environment.ordinals.flatMap(targets(for:))
            let jobShares = environment.shards ?? environment.mpsPercentage
            if let jobShares, jobShares > 0, !sharing.isEmpty,
                targets.contains(where: { sharing.shares[sharingKey($0)] != nil })
            {
                shareRecords.append((uuid, targets, jobShares))
            }
            result[uuid] = targets.map { assignment($0, value: nil) }
        }
        guard !shareRecords.isEmpty else { return result }
        shareRecords.sort { ($0.targets.count, $0.uuid) < ($1.targets.count, $1.uuid) }
        var remaining: [GresSharing.Key: Int] = sharing.shares
        var granted: [String: [Target: Int]] = [:]
        var allocated: [GresSharing.Key: Int] = [:]
        for record in shareRecords {
            for target in record.targets {
                let key = sharingKey(target)
                guard let available = remaining[key] else { continue }
                var shares = record.shares
                if environments[record.uuid]?.shards == nil, let total = sharing.shares[key] {
                    shares = total * record.shares / 100  // MPS percentage of the device
                }
                let given = min(shares, available)
                remaining[key] = available - given
                granted[record.uuid, default: [:]][target] = given
                allocated[key, default: 0] += given
            }
        }
        for record in shareRecords {
            result[record.uuid] = record.targets.map { target in
                let key = sharingKey(target)
                guard let given = granted[record.uuid]?[target], given > 0, let total = allocated[key], total > 0 else {
                    return assignment(target, value: nil)
                }
                return assignment(target, value: Double(given) / Double(total))
            }
        }
        return result
    }

    private func assignment(_ target: Target, value: Double?) -> GPUAssignment {
        switch target {
        case .device(let position):
            let device = devices[position]
            return GPUAssignment(
                index: device.index, gpuUUID: device.uuid, instanceID: "", value: value ?? 1, smCount: device.smCount)
        case .instance(let position, let instance):
            let device = devices[position]
            let mig = device.instances[instance]
            return GPUAssignment(
                index: mig.index, gpuUUID: device.uuid, instanceID: String(mig.instanceID),
                value: value ?? mig.smFraction, smCount: mig.smCount)
        }
    }
}
