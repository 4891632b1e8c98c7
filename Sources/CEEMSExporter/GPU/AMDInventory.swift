import CEEMSCore
import FoundationEssentials

/// Parsers of AMD tool outputs (`amd-smi static --json`, `rocm-smi … --json` or its CSV form).
enum AMDInventory {
    enum ParseError: Error, CustomStringConvertible {
        case unrecognised(String)

        var description: String {
            switch self {
            case .unrecognised(let tool): "cannot parse the output of \(tool)"
            }
        }
    }

    /// Instances created by a compute partition mode.
    static func partitionCount(_ mode: String) -> Int {
        switch mode.lowercased() {
        case "dpx": 2
        case "tpx": 3
        case "qpx": 4
        case "cpx": 8
        default: 0
        }
    }

    /// Chooses the parser from the content: a JSON document, else `rocm-smi --csv`.
    static func parse(_ output: String) throws(ParseError) -> [GPUDevice] {
        let trimmed = output.trimmingSpaces()
        let cards: [(minor: Int, serial: String, bus: String, name: String, partition: String)]
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            guard let parsed = parseJSON(trimmed) else { throw .unrecognised("rocm-smi/amd-smi (JSON)") }
            cards = parsed
        } else {
            cards = parseCSV(trimmed)
            if cards.isEmpty && !trimmed.isEmpty { throw .unrecognised("rocm-smi (CSV)") }
        }
        var devices: [GPUDevice] = []
        var next = 0
        for card in cards.sorted(by: { $0.minor < $1.minor }) {
            var device = GPUDevice(
                vendor: .amd, minor: card.minor, index: "", uuid: card.serial,
                busID: GPUDevice.normaliseBusID(card.bus),
                productName: card.name, smCount: nil)
            let partitions = partitionCount(card.partition)
            if partitions > 1 {
                device.instances = (0..<partitions).map { id in
                    defer { next += 1 }
                    return GPUInstance(index: String(next), instanceID: id, smFraction: 1 / Double(partitions))
                }
            } else {
                device.index = String(next)
                next += 1
            }
            devices.append(device)
        }
        return devices
    }

    /// `rocm-smi --showproductname --showserial --showbus --csv`: header `device,Serial Number,PCI Bus,Card
    /// series,…`, then one line per `cardN`; lines with fewer than 7 fields are ignored.
    static func parseCSV(_ text: String) -> [(minor: Int, serial: String, bus: String, name: String, partition: String)]
    {
        var cards: [(Int, String, String, String, String)] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingSpaces()
            }
            guard fields.count >= 7, fields[0].hasPrefix("card"), let minor = Int(fields[0].dropFirst(4)) else {
                continue
            }
            cards.append((minor, fields[1], fields[2], fields[3], ""))
        }
        return cards
    }

    /// `rocm-smi --json` (`{"card0": {"Serial Number": …, "PCI Bus": …}}`) or `amd-smi static --json`
    /// (`[{"gpu": 0, "board": {"product_serial": …}, "bus": {"bdf": …}, "partition": {…}}]`).
    static func parseJSON(
        _ text: String
    ) -> [(minor: Int, serial: String, bus: String, name: String, partition: String)]? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        var cards: [(Int, String, String, String, String)] = []
        switch value {
        case .object(let object):
            for (key, card) in object where key.hasPrefix("card") {
                guard let minor = Int(key.dropFirst(4)), case .object(let fields) = card else { continue }
                cards.append(
                    (
                        minor, fields["Serial Number"]?.string ?? fields["Serial number"]?.string ?? "",
                        fields["PCI Bus"]?.string ?? "",
                        fields["Card series"]?.string ?? fields["Card Series"]?.string ?? "",
                        fields["Compute Partition"]?.string ?? ""
                    ))
            }
        case .array(let array):
            for (position, entry) in array.enumerated() {
                guard case .object(let fields) = entry else { continue }
                let minor = fields["gpu"]?.number.map { Int($0) } ?? position
                let board = fields["board"]?.object ?? [:]
                let bus = fields["bus"]?.object ?? [:]
                let partition = fields["partition"]?.object ?? [:]
                cards.append(
                    (
                        minor, board["product_serial"]?.string ?? "", bus["bdf"]?.string ?? "",
                        board["product_name"]?.string ?? "", partition["compute_partition"]?.string ?? ""
                    ))
            }
        default:
            return nil
        }
        return cards
    }
}

/// A JSON value, for documents whose shape varies between tool versions.
enum JSONValue: Decodable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var string: String? {
        switch self {
        case .string(let value): value
        case .number(let value): GoFloatString(value)
        default: nil
        }
    }

    var number: Double? {
        switch self {
        case .number(let value): value
        case .string(let value): Double(value)
        default: nil
        }
    }

    var object: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

private func GoFloatString(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}
