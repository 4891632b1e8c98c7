import Logging
import Synchronization

/// A pod as the Kubernetes API lists it.
struct PodIdentity: Sendable, Hashable {
    var namespace: String
    var name: String
    var uid: String
}

/// Where the Kubernetes mapping reads pods and their devices from (the API server and the kubelet socket).
protocol KubernetesSources: Sendable {
    func pods() async throws -> [PodIdentity]
    func podDevices() async throws -> [PodDevices]
    /// Releases connections at exit.
    func shutdown() async
}

extension KubernetesSources {
    func shutdown() async {}
}

/// Maps pods to GPUs: pods (API server) joined with PodResources (kubelet) by namespace and name, device ids
/// matched to the inventory; a device handed to several pods (time-slicing) is shared count/total. The map is
/// cached 15 minutes and recomputed earlier when the set of pods changes.
final class KubernetesGPUMapper: Sendable {
    let devices: [GPUDevice]
    let sources: any KubernetesSources
    let maximumAge: Duration

    private struct State {
        var uids: Set<String> = []
        var computedAt: ContinuousClock.Instant?
        var assignments: [String: [GPUAssignment]] = [:]
    }

    private let state = Mutex(State())

    init(devices: [GPUDevice], sources: any KubernetesSources, maximumAge: Duration = .seconds(900)) {
        self.devices = devices
        self.sources = sources
        self.maximumAge = maximumAge
    }

    func assignments(for uids: [String], logger: Logger) async -> [String: [GPUAssignment]] {
        guard !devices.isEmpty else { return [:] }
        let wanted = Set(uids)
        let now = ContinuousClock.now
        if let cached = state.withLock({ state -> [String: [GPUAssignment]]? in
            guard state.uids == wanted, let at = state.computedAt, now - at < maximumAge else { return nil }
            return state.assignments
        }) {
            return cached
        }
        let assignments: [String: [GPUAssignment]]
        do {
            async let pods = sources.pods()
            async let resources = sources.podDevices()
            assignments = Self.map(pods: try await pods, resources: try await resources, devices: devices)
        } catch {
            logger.error("Cannot map pods to GPUs", metadata: ["err": "\(error)"])
            return state.withLock { $0.assignments }
        }
        state.withLock { state in
            state.uids = wanted
            // The timestamp is refreshed on every recomputation (CEEMS kept the first one for ever).
            state.computedAt = now
            state.assignments = assignments
        }
        return assignments
    }

    static func map(pods: [PodIdentity], resources: [PodDevices], devices: [GPUDevice]) -> [String: [GPUAssignment]] {
        struct PodKey: Hashable {
            var namespace: String
            var name: String
        }
        var uidByPod: [PodKey: String] = [:]
        for pod in pods { uidByPod[PodKey(namespace: pod.namespace, name: pod.name)] = pod.uid }
        func normalise(_ id: String) -> String {
            let lower = id.lowercased()
            if let range = lower.firstRange(of: "::") { return String(lower[..<range.lowerBound]) }
            return lower
        }
        var totals: [String: Int] = [:]
        var perPod: [(uid: String, counts: [String: Int])] = []
        for resource in resources {
            guard let uid = uidByPod[PodKey(namespace: resource.namespace, name: resource.name)] else { continue }
            var counts: [String: Int] = [:]
            for id in resource.deviceIDs.map(normalise) {
                counts[id, default: 0] += 1
                totals[id, default: 0] += 1
            }
            perPod.append((uid, counts))
        }
        var result: [String: [GPUAssignment]] = [:]
        for (uid, counts) in perPod {
            var rows: [GPUAssignment] = []
            for (id, count) in counts.sorted(by: { $0.key < $1.key }) {
                let share = Double(count) / Double(totals[id] ?? count)
                for device in devices {
                    if device.uuid.lowercased() == id || device.kubernetesID.lowercased() == id {
                        if device.isPartitioned {
                            // AMD: a pod mapped to the whole partitioned GPU (physical index "").
                            rows.append(
                                GPUAssignment(
                                    index: "", gpuUUID: device.uuid, instanceID: "", value: share,
                                    smCount: device.smCount))
                        } else {
                            rows.append(
                                GPUAssignment(
                                    index: device.index, gpuUUID: device.uuid, instanceID: "", value: share,
                                    smCount: device.smCount))
                        }
                    }
                    for instance in device.instances where !instance.uuid.isEmpty && instance.uuid.lowercased() == id {
                        rows.append(
                            GPUAssignment(
                                index: instance.index, gpuUUID: device.uuid, instanceID: String(instance.instanceID),
                                value: share, smCount: instance.smCount))
                    }
                }
            }
            result[uid, default: []] += rows
        }
        return result
    }
}
