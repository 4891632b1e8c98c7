import CEEMSCore

/// A physical GPU and, when partitioned (NVIDIA MIG, AMD compute partitions), its instances.
struct GPUDevice: Sendable, Equatable {
    enum Vendor: String, Sendable {
        case nvidia, amd
    }

    var vendor: Vendor
    /// Position of the GPU in the tool's listing (NVIDIA: in the XML, not `minor_number`; AMD: `cardN`); the
    /// order map and `gres.conf` device files refer to it.
    var minor: Int
    /// Global index (`index` label); empty for a partitioned GPU, whose instances carry indices.
    var index: String
    /// `gpuuuid` label: NVIDIA `GPU-…` UUID, AMD board serial.
    var uuid: String
    /// PCI address, normalised to `dddd:bb:ss.f` lower case.
    var busID: String
    var productName: String
    /// SMs (NVIDIA) or CUs (AMD) of the whole GPU when known.
    var smCount: Int?
    /// vGPU mode (NVIDIA `virtualization_mode` `VGPU`).
    var vgpuMode = false
    /// vGPU mediated devices on the whole GPU (`GPU Instance ID: N/A`).
    var mdevs: [String] = []
    var instances: [GPUInstance] = []

    var isPartitioned: Bool { !instances.isEmpty }

    /// The id the Kubernetes device plugins use: NVIDIA UUID, AMD lower-case PCI address.
    var kubernetesID: String { vendor == .nvidia ? uuid : busID }
}

/// A MIG GPU instance or an AMD partition.
struct GPUInstance: Sendable, Equatable {
    /// Global index (`index` label).
    var index: String
    /// MIG GPU instance id or AMD partition id (`gpuiid` label).
    var instanceID: Int
    var computeInstanceID: Int = 0
    var smCount: Int?
    /// `smCount` over the sum of the SMs of the GPU's instances (the flag value of a MIG instance).
    var smFraction: Double = 1
    /// MIG device UUID from `nvidia-smi -L` (Kubernetes matching only), AMD partition plugin id.
    var uuid: String = ""
    var mdevs: [String] = []
}

/// One `ceems_compute_unit_gpu_index_flag` row of a unit.
struct GPUAssignment: Sendable, Equatable, Hashable {
    var index: String
    var gpuUUID: String
    var instanceID: String
    var value: Double
    var smCount: Int?
}

extension GPUDevice {
    /// SMs of whole NVIDIA GPUs by model (a product name token equal to a model selects it).
    static let smCountByModel: [String: Int] = [
        "V100": 80, "A10": 72, "A16": 10, "A100": 108, "A2": 10, "A30": 56, "A40": 84, "A800": 108, "H100": 132,
        "H200": 132, "H800": 114, "B100": 132, "B200": 132,
    ]

    static func smCount(productName: String) -> Int? {
        for token in productName.split(whereSeparator: { $0 == " " || $0 == "-" }) {
            if let count = smCountByModel[String(token)] { return count }
        }
        return nil
    }

    /// `00000000:15:00.0`, `0000:15:00.0`, `15:00.0` → `0000:15:00.0`.
    static func normaliseBusID(_ text: String) -> String {
        let lower = text.lowercased().trimmingSpaces()
        let parts = lower.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return lower }
        var domain = parts.count == 3 ? String(parts[0]) : "0000"
        if domain.count > 4 { domain = String(domain.suffix(4)) }
        while domain.count < 4 { domain = "0" + domain }
        return domain + ":" + parts[parts.count - 2] + ":" + parts[parts.count - 1]
    }
}
