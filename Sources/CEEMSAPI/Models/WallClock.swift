import Foundation

/// Times as the API server stores and prints them: `YYYY-MM-DDTHH:MM:SS±hhmm` and `YYYY-MM-DDTHH:MM:SS` wall
/// time in the configured zone. Hand-rolled civil-date arithmetic: a `/units` page renders thousands of them.
public enum WallClock {
    /// The zone named by `data.time_zone`: an IANA name, `Local` or `UTC`.
    public static func zone(named name: String) -> TimeZone? {
        switch name {
        case "", "Local": TimeZone.current
        case "UTC": TimeZone(identifier: "UTC")
        default: TimeZone(identifier: name)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS±hhmm` (or without offset) of an epoch time in milliseconds.
    public static func format(milliseconds: Int64, zone: TimeZone, offset: Bool = true) -> String {
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let shift = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        var text = civil(seconds: seconds + Int64(shift))
        if offset {
            let sign = shift < 0 ? "-" : "+"
            let minutes = abs(shift) / 60
            text += sign + two(minutes / 60) + two(minutes % 60)
        }
        return text
    }

    /// Midnight of the day holding `milliseconds`, in `zone`, as wall time text.
    public static func midnight(milliseconds: Int64, zone: TimeZone) -> String {
        let text = format(milliseconds: milliseconds, zone: zone, offset: false)
        return String(text.prefix(10)) + "T00:00:00"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS±hhmm` (also `Z` and `±hh:mm`) into epoch milliseconds.
    public static func parse(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, let local = localSeconds(bytes) else { return nil }
        var rest = bytes[19...]
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst().drop { $0 >= 0x30 && $0 <= 0x39 }
        }
        guard let sign = rest.first else { return nil }
        if sign == UInt8(ascii: "Z") { return rest.count == 1 ? local * 1000 : nil }
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") else { return nil }
        let digits = rest.dropFirst().filter { $0 != UInt8(ascii: ":") }
        guard digits.count == 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let d = Array(digits).map { Int64($0 - 0x30) }
        let offset = ((d[0] * 10 + d[1]) * 60 + d[2] * 10 + d[3]) * 60
        return (local - (sign == UInt8(ascii: "+") ? offset : -offset)) * 1000
    }

    /// Times of the OpenStack and Kubernetes APIs: RFC 3339 (`…Z`, `…+02:00`), or UTC without a zone
    /// (`OS-SRV-USG:launched_at`: `2024-10-15T14:29:34.000000`). `nil` for absent or empty text.
    public static func parseAPITime(_ text: String?) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        return parse(text) ?? parse(text + "Z")
    }

    /// Parses wall time `YYYY-MM-DDTHH:MM:SS` (optionally `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM`) in `zone`.
    public static func parseWallTime(_ text: String, zone: TimeZone) -> Int64? {
        var bytes = Array(text.utf8)
        if bytes.count == 10 { bytes += Array("T00:00:00".utf8) }
        if bytes.count == 16 { bytes += Array(":00".utf8) }
        guard bytes.count == 19, let local = localSeconds(bytes) else { return nil }
        // Two passes settle the offset around DST changes.
        var guess = local - Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(local))))
        guess = local - Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(guess))))
        return guess * 1000
    }

    /// `HH:MM:SS`, or `D-HH:MM:SS` strictly beyond a day (exactly 24 h prints `00:00:00`, as the reference does).
    public static func elapsed(seconds: Int64) -> String {
        let total = max(seconds, 0)
        let clock = two(Int((total / 3600) % 24)) + ":" + two(Int((total / 60) % 60)) + ":" + two(Int(total % 60))
        return total > 86400 ? "\(total / 86400)-" + clock : clock
    }

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    static func civil(seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = Int(seconds - days * 86400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400 + (month <= 2 ? 1 : 0))
        var yearText = String(year)
        while yearText.count < 4 { yearText = "0" + yearText }
        return yearText + "-" + two(month) + "-" + two(day) + "T" + two(secondOfDay / 3600) + ":"
            + two(secondOfDay / 60 % 60) + ":" + two(secondOfDay % 60)
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Seconds since the epoch of the first 19 bytes read as UTC `YYYY-MM-DDTHH:MM:SS`.
    static func localSeconds(_ bytes: [UInt8]) -> Int64? {
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"),
            bytes[16] == UInt8(ascii: ":"), let year = number(0..<4), let month = number(5..<7),
            let day = number(8..<10), let hour = number(11..<13), let minute = number(14..<16),
            let second = number(17..<19), (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }
        return daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60 + second
    }
}
