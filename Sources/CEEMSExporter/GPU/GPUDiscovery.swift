import CEEMSCore
import CEEMSLinux
import Logging

/// GPU options of the resource-manager collectors (`--collector.gpu.*`).
public struct GPUOptions: Sendable, Equatable {
    /// `nvidia`, `amd`, `nogpu`, or nil to detect from PCI devices.
    public var type: String?
    public var nvidiaSMIPath: String?
    public var rocmSMIPath: String?
    public var amdSMIPath: String?
    /// Export `ceems_compute_unit_gpu_sm_count` (off by default: the recorded outputs do not have it).
    public var smCountMetrics = false
    /// How long a GPU tool may run (`nvidia-smi -q -x` is slow on a node without persistence mode).
    public var toolTimeout: Duration = .seconds(60)
    /// How long start-up waits for the GPU inventory before serving without it (it completes in the background).
    public var startupWait: Duration = .seconds(10)

    public init() {}
}

/// Finds the node's GPUs once at start-up (tools run with a 60 s timeout).
enum GPUDiscovery {
    enum DiscoveryError: Error, CustomStringConvertible {
        case tool(String, any Error)
        case parse(String)

        var description: String {
            switch self {
            case .tool(let tool, let error): "GPU inventory with \(tool) failed: \(error)"
            case .parse(let message): message
            }
        }
    }

    /// The vendor of the display/3D controllers under `<sysfs>/bus/pci/devices` (class `0x03…` or `0x12…`); nil
    /// when there is none (or no PCI tree at all).
    static func detectVendor(fs: LinuxFS) -> GPUDevice.Vendor? {
        let base = fs.sys("bus", "pci", "devices")
        guard let entries = try? Directory.entries(base) else { return nil }
        var buffer: [UInt8] = []
        func read(_ path: String) -> String {
            guard let count = try? SystemFile.read(path, into: &buffer, limit: 4096) else { return "" }
            return ByteParsing.string(ByteParsing.trimmed(buffer[..<count])).lowercased()
        }
        var found: GPUDevice.Vendor?
        for entry in entries {
            let device = base + "/" + entry.name
            let deviceClass = read(device + "/class")
            guard deviceClass.hasPrefix("0x03") || deviceClass.hasPrefix("0x12") else { continue }
            switch read(device + "/vendor") {
            case "0x10de": return .nvidia
            case "0x1002": found = found ?? .amd
            default: continue
            }
        }
        return found
    }

    /// The GPUs of the node. `vgpu` adds vGPU mediated devices (libvirt), `migUUIDs` the MIG device UUIDs
    /// (Kubernetes). Throws when a GPU tool exists but its inventory query fails.
    static func inventory(
        options: GPUOptions, fs: LinuxFS, vgpu: Bool, migUUIDs: Bool, logger: Logger
    ) async throws -> [GPUDevice] {
        let vendor: GPUDevice.Vendor?
        switch options.type {
        case "nvidia": vendor = .nvidia
        case "amd": vendor = .amd
        case "nogpu": vendor = nil
        default: vendor = detectVendor(fs: fs)
        }
        guard let vendor else { return [] }
        let runner = CommandRunner()
        let toolTimeout = options.toolTimeout
        switch vendor {
        case .nvidia:
            guard let tool = toolPath(options.nvidiaSMIPath, name: "nvidia-smi", logger: logger) else { return [] }
            let output: CommandOutput
            do {
                output = try await runner.run(tool, arguments: ["--query", "--xml-format"], timeout: toolTimeout)
            } catch {
                throw DiscoveryError.tool("\(tool) --query --xml-format", error)
            }
            var devices: [GPUDevice]
            do {
                devices = try NvidiaInventory.parse(xml: output.text)
            } catch {
                throw DiscoveryError.parse(error.description)
            }
            if migUUIDs && devices.contains(where: \.isPartitioned) {
                if let listing = try? await runner.run(tool, arguments: ["-L"], timeout: toolTimeout) {
                    NvidiaInventory.applyMIGUUIDs(listing: listing.text, to: &devices)
                } else {
                    logger.warning("nvidia-smi -L failed: MIG device UUIDs unknown, Kubernetes MIG mapping disabled")
                }
            }
            if vgpu && devices.contains(where: \.vgpuMode) {
                do {
                    let query = try await runner.run(tool, arguments: ["vgpu", "--query"], timeout: toolTimeout)
                    NvidiaInventory.applyVGPUs(query: query.text, to: &devices)
                } catch {
                    logger.warning(
                        "nvidia-smi vgpu --query failed: vGPU mapping disabled", metadata: ["err": "\(error)"])
                }
            }
            return devices
        case .amd:
            var attempts: [(String, [String])] = []
            if let amdSMI = toolPath(options.amdSMIPath, name: "amd-smi", logger: nil) {
                attempts.append((amdSMI, ["static", "-a", "-B", "-b", "-p", "--json"]))
            }
            if let rocmSMI = toolPath(options.rocmSMIPath, name: "rocm-smi", logger: nil) {
                attempts.append(
                    (
                        rocmSMI,
                        [
                            "--showproductname", "--showserial", "--showbus", "--showcomputepartition",
                            "--showmemorypartition", "--json",
                        ]
                    ))
            }
            guard !attempts.isEmpty else {
                logger.warning("AMD GPU found but neither amd-smi nor rocm-smi is installed: no GPU mapping")
                return []
            }
            var lastError: (any Error)?
            for (tool, arguments) in attempts {
                do {
                    let output = try await runner.run(tool, arguments: arguments, timeout: toolTimeout)
                    var devices = try AMDInventory.parse(output.text)
                    applyComputeUnits(fs: fs, to: &devices)
                    return devices
                } catch {
                    lastError = DiscoveryError.tool(tool, error)
                }
            }
            throw lastError!
        }
    }

    /// The configured tool (which must exist) or the one on `PATH`.
    static func toolPath(_ configured: String?, name: String, logger: Logger?) -> String? {
        if let configured, !configured.isEmpty {
            if SystemFile.isExecutable(configured) { return configured }
            logger?.warning("Configured GPU tool not found", metadata: ["path": "\(configured)"])
            return nil
        }
        if let found = CommandRunner.lookPath(name) { return found }
        logger?.warning("GPU found but \(name) is not installed: no GPU mapping")
        return nil
    }

    /// AMD compute units per GPU from the KFD topology (`simd_count / simd_per_cu` of the node whose
    /// `drm_render_minor` is the GPU's render node).
    static func applyComputeUnits(fs: LinuxFS, to devices: inout [GPUDevice]) {
        let topology = fs.sys("class", "kfd", "kfd", "topology", "nodes")
        guard let nodes = try? Directory.entries(topology) else { return }
        var buffer: [UInt8] = []
        var unitsByMinor: [Int: Int] = [:]
        for node in nodes {
            guard let count = try? SystemFile.read(topology + "/" + node.name + "/properties", into: &buffer) else {
                continue
            }
            var properties: [String: UInt64] = [:]
            for line in ByteParsing.lines(buffer[..<count]) {
                let fields = ByteParsing.fields(line)
                if fields.count == 2, let value = ByteParsing.uint64(fields[1]) {
                    properties[ByteParsing.string(fields[0])] = value
                }
            }
            if let minor = properties["drm_render_minor"], let simd = properties["simd_count"],
                let perCU = properties["simd_per_cu"], perCU > 0, simd > 0
            {
                unitsByMinor[Int(minor)] = Int(simd / perCU)
            }
        }
        for position in devices.indices {
            let drm = fs.sys("module", "amdgpu", "drivers", "pci:amdgpu", devices[position].busID, "drm")
            guard let entries = try? Directory.entries(drm),
                let render = entries.first(where: { $0.name.hasPrefix("renderD") }),
                let minor = Int(render.name.dropFirst(7)), let units = unitsByMinor[minor]
            else { continue }
            devices[position].smCount = units
        }
    }
}
