import CEEMSCore

/// Parsers of `nvidia-smi` outputs.
enum NvidiaInventory {
    enum ParseError: Error, CustomStringConvertible {
        case xml(XMLDocument.ParseError)
        case notNvidiaSMI

        var description: String {
            switch self {
            case .xml(let error): "nvidia-smi XML: \(error)"
            case .notNvidiaSMI: "nvidia-smi XML: no <nvidia_smi_log> root"
            }
        }
    }

    /// Parses `nvidia-smi --query --xml-format` into devices with global indices assigned in XML order: a whole
    /// GPU takes the next index; a MIG GPU takes none and each of its instances takes the next one.
    static func parse(xml: String) throws(ParseError) -> [GPUDevice] {
        let root: XMLElement
        do {
            root = try XMLDocument.parse(xml)
        } catch {
            throw .xml(error)
        }
        guard root.name == "nvidia_smi_log" else { throw .notNvidiaSMI }
        var devices: [GPUDevice] = []
        var next = 0
        for (position, gpu) in root.children("gpu").enumerated() {
            let product = gpu.value(at: "product_name") ?? ""
            var device = GPUDevice(
                vendor: .nvidia, minor: position, index: "", uuid: gpu.value(at: "uuid") ?? "",
                busID: GPUDevice.normaliseBusID(gpu.attributes["id"] ?? gpu.value(at: "pci/pci_bus_id") ?? ""),
                productName: product, smCount: GPUDevice.smCount(productName: product))
            device.vgpuMode = gpu.value(at: "gpu_virtualization_mode/virtualization_mode") == "VGPU"
            let migEnabled = gpu.value(at: "mig_mode/current_mig") == "Enabled"
            let migDevices = gpu.element(at: "mig_devices")?.children("mig_device") ?? []
            if migEnabled && !migDevices.isEmpty {
                var instances: [GPUInstance] = []
                for mig in migDevices {
                    let sm = mig.value(at: "device_attributes/shared/multiprocessor_count").flatMap { Int($0) }
                    instances.append(
                        GPUInstance(
                            index: String(next), instanceID: mig.value(at: "gpu_instance_id").flatMap { Int($0) } ?? 0,
                            computeInstanceID: mig.value(at: "compute_instance_id").flatMap { Int($0) } ?? 0,
                            smCount: sm))
                    next += 1
                }
                let total = instances.compactMap(\.smCount).reduce(0, +)
                for position in instances.indices {
                    if let sm = instances[position].smCount, total > 0 {
                        instances[position].smFraction = Double(sm) / Double(total)
                    }
                }
                device.instances = instances
            } else {
                device.index = String(next)
                next += 1
            }
            devices.append(device)
        }
        return devices
    }

    /// Adds MIG device UUIDs from `nvidia-smi -L` (`GPU 0: … (UUID: GPU-…)` then `  MIG … Device  0: (UUID: MIG-…)`),
    /// in listing order per GPU.
    static func applyMIGUUIDs(listing: String, to devices: inout [GPUDevice]) {
        var current: Int?
        var instance = 0
        for line in listing.split(separator: "\n") {
            guard let uuidRange = line.firstRange(of: "UUID: ") else { continue }
            let uuid = line[uuidRange.upperBound...].prefix { $0 != ")" }
            if line.hasPrefix("GPU ") {
                current = devices.firstIndex { $0.uuid == uuid }
                instance = 0
            } else if line.contains("MIG"), let current, instance < devices[current].instances.count {
                devices[current].instances[instance].uuid = String(uuid)
                instance += 1
            }
        }
    }

    /// Adds vGPU mediated devices from `nvidia-smi vgpu --query`: per `GPU <bus id>` block, each `MDEV UUID`
    /// with its `GPU Instance ID` (`N/A` for a whole GPU).
    static func applyVGPUs(query: String, to devices: inout [GPUDevice]) {
        var device: Int?
        var pendingMDEV: String?
        func attach(_ mdev: String, instanceID: Int?) {
            guard let device else { return }
            if let instanceID,
                let position = devices[device].instances.firstIndex(where: { $0.instanceID == instanceID })
            {
                devices[device].instances[position].mdevs.append(mdev)
            } else {
                devices[device].mdevs.append(mdev)
            }
        }
        for rawLine in query.split(separator: "\n") {
            let line = rawLine.trimmingSpaces()
            // A block header is the only unindented line ("GPU 00000000:10:00.0"); "GPU Instance ID" is a key.
            if rawLine.hasPrefix("GPU ") && !line.contains(" : ") {
                if let pendingMDEV { attach(pendingMDEV, instanceID: nil) }
                pendingMDEV = nil
                let bus = GPUDevice.normaliseBusID(String(line.dropFirst(4)))
                device = devices.firstIndex { $0.busID == bus }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingSpaces()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if key == "MDEV UUID" {
                if let pendingMDEV { attach(pendingMDEV, instanceID: nil) }
                pendingMDEV = value.lowercased()
            } else if key == "GPU Instance ID", let mdev = pendingMDEV {
                attach(mdev, instanceID: Int(value))
                pendingMDEV = nil
            }
        }
        if let pendingMDEV { attach(pendingMDEV, instanceID: nil) }
    }
}
