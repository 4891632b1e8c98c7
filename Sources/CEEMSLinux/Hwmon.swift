import CEEMSCore

/// One power or energy reading of a hardware monitor.
public struct HwmonReading: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case power, energy
    }

    /// `<devtype>_<devname>` of the device, else the cleaned `name`, else `hwmonN`.
    public var chip: String
    /// The cleaned content of the `name` file (empty when absent).
    public var chipName: String
    /// `<type><id>`, e.g. `power1`.
    public var sensor: String
    public var kind: Kind
    /// The file suffix after `<type><id>_` (`input`, `input_lowest`, `input_highest`, `average`).
    public var property: String
    /// Watts or joules (the file holds micro-units).
    public var value: Double
}

/// Reads power and energy sensors of `/sys/class/hwmon`.
public struct HwmonReader: Sendable {
    public let fs: LinuxFS

    public init(fs: LinuxFS) {
        self.fs = fs
    }

    public static let properties: Set<String> = ["input", "input_lowest", "input_highest", "average"]

    /// All power/energy readings of all chips, in directory order.
    public func readings() throws(SystemFileError) -> [HwmonReading] {
        let base = fs.sys("class", "hwmon")
        var result: [HwmonReading] = []
        var buffer: [UInt8] = []
        for entry in try Directory.entries(base) {
            let directory = base + "/" + entry.name
            guard Directory.isDirectory(entry, in: base) else { continue }
            let chip = Self.chipIdentifier(directory)
            let chipName = Self.cleanName(readText(directory + "/name", buffer: &buffer) ?? "")
            var seen: Set<String> = []
            for folder in [directory, directory + "/device"] {
                guard let files = try? Directory.entries(folder) else { continue }
                for file in files {
                    guard let (kind, sensor, property) = Self.parseSensorFileName(file.name),
                        Self.properties.contains(property), seen.insert(file.name).inserted
                    else { continue }
                    guard let count = try? SystemFile.read(folder + "/" + file.name, into: &buffer, limit: 4096),
                        let raw = ByteParsing.double(ByteParsing.trimmed(buffer[..<min(count, 128)]))
                    else { continue }
                    result.append(
                        HwmonReading(
                            chip: chip, chipName: chipName, sensor: sensor, kind: kind, property: property,
                            value: raw / 1e6))
                }
            }
        }
        return result
    }

    /// Splits `power1_input_lowest` into (power, `power1`, `input_lowest`); nil for other sensor types.
    static func parseSensorFileName(_ name: String) -> (HwmonReading.Kind, String, String)? {
        let kind: HwmonReading.Kind
        if name.hasPrefix("power") {
            kind = .power
        } else if name.hasPrefix("energy") {
            kind = .energy
        } else {
            return nil
        }
        let rest = name.dropFirst(kind.rawValue.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        let afterDigits = rest.dropFirst(digits.count)
        guard afterDigits.first == "_" else { return nil }
        let property = afterDigits.dropFirst()
        guard !property.isEmpty else { return nil }
        return (kind, kind.rawValue + digits, String(property))
    }

    /// The stable chip identifier node_exporter uses: `<devtype>_<devname>` from the resolved `device` link,
    /// else the cleaned `name` file, else the resolved directory's base name.
    static func chipIdentifier(_ directory: String) -> String {
        if let device = Directory.resolvedPath(directory + "/device") {
            let name = cleanName(FilePathSyntax.base(device))
            let parent = String(device[..<(device.lastIndex(of: "/") ?? device.startIndex)])
            let type = cleanName(FilePathSyntax.base(parent))
            if !type.isEmpty && !name.isEmpty { return type + "_" + name }
            if !name.isEmpty { return name }
        }
        if let raw = try? SystemFile.readString(directory + "/name", limit: 4096) {
            let cleaned = cleanName(raw)
            if !cleaned.isEmpty { return cleaned }
        }
        let resolved = Directory.resolvedPath(directory) ?? directory
        return cleanName(FilePathSyntax.base(resolved))
    }

    /// Lower-cases, turns every byte outside `[a-z0-9:_]` into `_` and trims `_` (node_exporter's rule).
    static func cleanName(_ text: String) -> String {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            let keep =
                (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") || scalar == ":" || scalar == "_"
            out.unicodeScalars.append(keep ? scalar : "_")
        }
        return String(out.drop { $0 == "_" }.reversed().drop { $0 == "_" }.reversed())
    }

    private func readText(_ path: String, buffer: inout [UInt8]) -> String? {
        guard let count = try? SystemFile.read(path, into: &buffer, limit: 4096) else { return nil }
        return ByteParsing.string(buffer[..<count])
    }
}
