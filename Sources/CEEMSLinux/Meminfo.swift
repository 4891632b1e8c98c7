/// One `/proc/meminfo` field, named as the exporter's metric suffix (`MemTotal_bytes`, `Active_anon_bytes`,
/// `HugePages_Total`).
public struct MeminfoField: Sendable, Equatable {
    public var name: String
    public var value: Double
}

public enum Meminfo {
    /// Parses `/proc/meminfo`: values with a `kB` unit are multiplied by 1024 and get the `_bytes` suffix;
    /// `Active(anon)` becomes `Active_anon`. Malformed lines are skipped.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> [MeminfoField] {
        var fields: [MeminfoField] = []
        fields.reserveCapacity(64)
        for line in ByteParsing.lines(bytes) {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let parts = ByteParsing.fields(line[(colon + 1)...])
            guard let first = parts.first, let number = ByteParsing.double(first) else { continue }
            var name = ""
            for byte in ByteParsing.trimmed(line[..<colon]) {
                switch byte {
                case UInt8(ascii: "("): name.append("_")
                case UInt8(ascii: ")"): continue
                default: name.unicodeScalars.append(Unicode.Scalar(byte))
                }
            }
            var value = number
            if parts.count > 1, parts[1].elementsEqual("kB".utf8) {
                value *= 1024
                name += "_bytes"
            }
            fields.append(MeminfoField(name: name, value: value))
        }
        return fields
    }

    /// The value of one field in bytes (`MemTotal` → `MemTotal_bytes`).
    public static func bytes(of key: String, in fields: [MeminfoField]) -> Double? {
        let wanted = key + "_bytes"
        return fields.first { $0.name == wanted }?.value
    }
}
