import CEEMSCore
import CEEMSLinux
import Synchronization

/// What the exporter needs from a libvirt domain XML: its UUID and its host devices.
struct LibvirtDomain: Sendable, Equatable {
    var uuid: String?
    /// PCI passthrough devices, `dddd:bb:ss.f`.
    var pciAddresses: [String] = []
    /// Mediated devices (vGPUs), lower-case UUIDs.
    var mdevUUIDs: [String] = []

    static func parse(xml: String) -> LibvirtDomain? {
        guard let root = try? XMLDocument.parse(xml), root.name == "domain" else { return nil }
        var domain = LibvirtDomain(uuid: root.value(at: "uuid"))
        for hostdev in root.element(at: "devices")?.children("hostdev") ?? [] {
            guard let address = hostdev.element(at: "source/address") else { continue }
            switch hostdev.attributes["type"] {
            case "pci":
                func field(_ name: String, width: Int) -> String {
                    var value = (address.attributes[name] ?? "0").lowercased()
                    if value.hasPrefix("0x") { value = String(value.dropFirst(2)) }
                    while value.count < width { value = "0" + value }
                    return value
                }
                domain.pciAddresses.append(
                    "\(field("domain", width: 4)):\(field("bus", width: 2)):\(field("slot", width: 2)).\(field("function", width: 1))"
                )
            case "mdev":
                if let uuid = address.attributes["uuid"] { domain.mdevUUIDs.append(uuid.lowercased()) }
            default:
                continue
            }
        }
        return domain
    }

    /// The GPU rows of this domain (rules of the recorded outputs: a whole GPU shared by n vGPUs gives 1/n per
    /// VM; a MIG instance gives its SM fraction, divided by its number of vGPUs when its GPU is in vGPU mode;
    /// passthrough gives 1).
    func assignments(devices: [GPUDevice]) -> [GPUAssignment] {
        var rows: [GPUAssignment] = []
        for address in pciAddresses {
            for device in devices where device.busID == address && !device.isPartitioned {
                rows.append(
                    GPUAssignment(
                        index: device.index, gpuUUID: device.uuid, instanceID: "", value: 1, smCount: device.smCount))
            }
        }
        for mdev in mdevUUIDs {
            for device in devices {
                if device.mdevs.contains(mdev) && !device.isPartitioned {
                    let value = device.vgpuMode && device.mdevs.count > 1 ? 1 / Double(device.mdevs.count) : 1
                    rows.append(
                        GPUAssignment(
                            index: device.index, gpuUUID: device.uuid, instanceID: "", value: value,
                            smCount: device.smCount))
                }
                for instance in device.instances where instance.mdevs.contains(mdev) {
                    var value = instance.smFraction
                    if device.vgpuMode && instance.mdevs.count > 1 { value /= Double(instance.mdevs.count) }
                    rows.append(
                        GPUAssignment(
                            index: instance.index, gpuUUID: device.uuid, instanceID: String(instance.instanceID),
                            value: value, smCount: instance.smCount))
                }
            }
        }
        return rows
    }
}

/// Domain XML of the node's instances, re-read when the set of instances changes or after 15 minutes.
final class LibvirtDomainCache: Sendable {
    private struct State {
        var instances: Set<String> = []
        var domains: [String: LibvirtDomain] = [:]
        var readAt: ContinuousClock.Instant?
    }

    let directory: String
    let maximumAge: Duration
    private let state = Mutex(State())

    init(directory: String, maximumAge: Duration = .seconds(900)) {
        self.directory = directory
        self.maximumAge = maximumAge
    }

    /// The domains of these instance names (`instance-00000001`); a missing XML gives no entry.
    func domains(for instances: [String]) -> [String: LibvirtDomain] {
        let wanted = Set(instances)
        let now = ContinuousClock.now
        if let cached = state.withLock({ state -> [String: LibvirtDomain]? in
            guard state.instances == wanted, let readAt = state.readAt, now - readAt < maximumAge else { return nil }
            return state.domains
        }) {
            return cached
        }
        var domains: [String: LibvirtDomain] = [:]
        for instance in wanted {
            guard let text = try? SystemFile.readString(directory + "/" + instance + ".xml", limit: 16 << 20),
                let domain = LibvirtDomain.parse(xml: text)
            else { continue }
            domains[instance] = domain
        }
        state.withLock { state in
            state.instances = wanted
            state.domains = domains
            state.readAt = now
        }
        return domains
    }
}
