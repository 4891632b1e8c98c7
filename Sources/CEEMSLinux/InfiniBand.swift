import CEEMSCore

/// An InfiniBand (or Omni-Path) port and its counters.
public struct InfiniBandPort: Sendable, Equatable {
    public var number: String
    /// The numeric part of `state` (`4: ACTIVE` → 4).
    public var state: UInt64?
    /// The numeric part of `phys_state` (`5: LinkUp` → 5).
    public var physicalState: UInt64?
    /// The signalling rate in bytes per second (`100 Gb/sec (4X EDR)` → 1.25e10).
    public var rateBytesPerSecond: UInt64?
    /// Counter values by file name (`counters/port_rcv_data`); `counters_ext` files are keyed `ext/<name>`.
    /// Files that read `N/A (no PMA)` or are not numbers are absent.
    public var counters: [String: UInt64]
}

/// An InfiniBand device of `/sys/class/infiniband`.
public struct InfiniBandDevice: Sendable, Equatable {
    public var name: String
    public var boardID: String
    public var firmwareVersion: String
    public var hcaType: String
    public var ports: [InfiniBandPort]
}

/// Reads `/sys/class/infiniband`.
public struct InfiniBandReader: Sendable {
    public let fs: LinuxFS

    public init(fs: LinuxFS) {
        self.fs = fs
    }

    public var classPath: String { fs.sys("class", "infiniband") }

    public func devices() throws(SystemFileError) -> [InfiniBandDevice] {
        let base = classPath
        var buffer: [UInt8] = []
        var devices: [InfiniBandDevice] = []
        for entry in try Directory.entries(base) where Directory.isDirectory(entry, in: base) {
            let directory = base + "/" + entry.name
            func text(_ file: String) -> String {
                guard let count = try? SystemFile.read(directory + "/" + file, into: &buffer, limit: 4096) else {
                    return ""
                }
                return ByteParsing.string(ByteParsing.trimmed(buffer[..<count]))
            }
            var device = InfiniBandDevice(
                name: entry.name, boardID: text("board_id"), firmwareVersion: text("fw_ver"),
                hcaType: text("hca_type"), ports: [])
            let portsPath = directory + "/ports"
            for port in (try? Directory.entries(portsPath)) ?? [] {
                device.ports.append(readPort(portsPath + "/" + port.name, number: port.name, buffer: &buffer))
            }
            devices.append(device)
        }
        return devices
    }

    func readPort(_ path: String, number: String, buffer: inout [UInt8]) -> InfiniBandPort {
        func text(_ file: String) -> ArraySlice<UInt8>? {
            guard let count = try? SystemFile.read(path + "/" + file, into: &buffer, limit: 4096) else { return nil }
            return ByteParsing.trimmed(buffer[..<count])
        }
        var port = InfiniBandPort(
            number: number, state: nil, physicalState: nil, rateBytesPerSecond: nil, counters: [:])
        port.state = text("state").flatMap(Self.parseStateID)
        port.physicalState = text("phys_state").flatMap(Self.parseStateID)
        port.rateBytesPerSecond = text("rate").flatMap(Self.parseRate)
        for (folder, prefix) in [("counters", ""), ("counters_ext", "ext/")] {
            for file in (try? Directory.entries(path + "/" + folder)) ?? [] {
                guard let value = text(folder + "/" + file.name), let number = ByteParsing.uint64(value) else {
                    continue
                }
                port.counters[prefix + file.name] = number
            }
        }
        return port
    }

    /// `4: ACTIVE` → 4.
    static func parseStateID(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return ByteParsing.uint64(bytes) }
        return ByteParsing.uint64(ByteParsing.trimmed(bytes[..<colon]))
    }

    /// `100 Gb/sec (4X EDR)` → bytes per second; the number is read with single precision, as the reference does.
    static func parseRate(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        let fields = ByteParsing.fields(bytes)
        guard fields.count >= 2, ByteParsing.hasPrefix(fields[1], "Gb/sec"),
            let gigabits = Float(ByteParsing.string(fields[0])), gigabits >= 0
        else { return nil }
        return UInt64(Double(gigabits) * 125_000_000)
    }
}
