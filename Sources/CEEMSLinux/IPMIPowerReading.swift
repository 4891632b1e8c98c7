/// A DCMI power reading in watts; each value is nil when the tool did not report it.
public struct IPMIPowerReading: Sendable, Equatable {
    public var current: Double?
    public var minimum: Double?
    public var maximum: Double?
    public var average: Double?

    public init(current: Double? = nil, minimum: Double? = nil, maximum: Double? = nil, average: Double? = nil) {
        self.current = current
        self.minimum = minimum
        self.maximum = maximum
        self.average = average
    }
}

/// Parsers of the DCMI power reading printed by `ipmi-dcmi`, `ipmitool`, `ipmiutil` and `capmc`.
public enum IPMIOutputParser {
    static let currentLabels = ["Current Power", "Instantaneous power reading"]
    static let minimumLabels = [
        "Minimum Power over sampling duration", "Minimum during sampling period", "Min Power over sample duration",
    ]
    static let maximumLabels = [
        "Maximum Power over sampling duration", "Maximum during sampling period", "Max Power over sample duration",
    ]
    static let averageLabels = [
        "Average Power over sampling duration", "Average power reading over sample period",
        "Avg Power over sample duration",
    ]
    static let stateLabels = ["Power Measurement", "Power reading state is"]

    /// Parses the text output of the FreeIPMI, ipmitool and ipmiutil DCMI commands. Returns nil unless a power
    /// state line says the measurement is active.
    public static func parseText(_ text: String) -> IPMIPowerReading? {
        var reading = IPMIPowerReading()
        var active = false
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            guard let colon = rawLine.firstIndex(of: ":") else { continue }
            let label = rawLine[..<colon].trimmingCharacters()
            let value = rawLine[rawLine.index(after: colon)...].trimmingCharacters()
            if stateLabels.contains(label) {
                let word = value.split(separator: " ").first.map(String.init) ?? ""
                active = word == "active" || word == "Active" || word == "activated"
                continue
            }
            let parts = value.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[1] == "Watts" || parts[1] == "watts", let watts = Double(parts[0]) else {
                continue
            }
            if currentLabels.contains(label) {
                reading.current = watts
            } else if minimumLabels.contains(label) {
                reading.minimum = watts
            } else if maximumLabels.contains(label) {
                reading.maximum = watts
            } else if averageLabels.contains(label) {
                reading.average = watts
            }
        }
        return active ? reading : nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}

extension IPMIOutputParser {
    /// DCMI "Get Power Reading" (NetFn 0x2C, command 0x02) request data: group extension 0xDC, mode 1 (system
    /// power statistics).
    public static let dcmiPowerReadingRequest: [UInt8] = [0xDC, 0x01, 0x00, 0x00]

    /// Parses the DCMI "Get Power Reading" response: completion code, 0xDC, then little-endian 16-bit current,
    /// minimum, maximum and average watts, a timestamp, a period and the state byte whose bit 6 says the
    /// measurement is active.
    public static func parseDCMIResponse(_ bytes: [UInt8]) -> IPMIPowerReading? {
        guard bytes.count >= 19, bytes[0] == 0x00, bytes[1] == 0xDC else { return nil }
        guard bytes[18] & 0x40 != 0 else { return nil }
        func word(_ offset: Int) -> Double { Double(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8) }
        return IPMIPowerReading(current: word(2), minimum: word(4), maximum: word(6), average: word(8))
    }

    /// Parses `capmc get_system_power` JSON (`{"avg":…,"min":…,"max":…,"e":0,"err_msg":""}`); the current
    /// reading is the window average. A non-zero `e` is an error.
    public static func parseCapmc(_ text: String) -> IPMIPowerReading? {
        var values: [String: Double] = [:]
        var errorCode: Double = 0
        let bytes = Array(text.utf8)
        var index = 0
        // A flat JSON object of numbers and strings: scan "key": value pairs.
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            let keyStart = index + 1
            var keyEnd = keyStart
            while keyEnd < bytes.count, bytes[keyEnd] != UInt8(ascii: "\"") { keyEnd += 1 }
            guard keyEnd < bytes.count else { break }
            let key = String(decoding: bytes[keyStart..<keyEnd], as: UTF8.self)
            var cursor = keyEnd + 1
            while cursor < bytes.count, ByteParsing.isSpace(bytes[cursor]) { cursor += 1 }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: ":") else {
                index = keyEnd + 1
                continue
            }
            cursor += 1
            while cursor < bytes.count, ByteParsing.isSpace(bytes[cursor]) { cursor += 1 }
            var valueEnd = cursor
            while valueEnd < bytes.count, bytes[valueEnd] != UInt8(ascii: ","), bytes[valueEnd] != UInt8(ascii: "}"),
                !ByteParsing.isSpace(bytes[valueEnd])
            {
                valueEnd += 1
            }
            if let number = ByteParsing.double(bytes[cursor..<valueEnd]) {
                if key == "e" { errorCode = number } else { values[key] = number }
                index = valueEnd
            } else {
                // A value cut off at the end of the text leaves nothing to skip.
                guard cursor < bytes.count else { break }
                index = bytes[cursor] == UInt8(ascii: "\"") ? skipString(bytes, from: cursor) : valueEnd
            }
        }
        guard errorCode == 0, let average = values["avg"] else { return nil }
        return IPMIPowerReading(current: average, minimum: values["min"], maximum: values["max"], average: average)
    }

    private static func skipString(_ bytes: [UInt8], from start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if bytes[index] == UInt8(ascii: "\"") { return index + 1 }
            index += 1
        }
        return index
    }
}
