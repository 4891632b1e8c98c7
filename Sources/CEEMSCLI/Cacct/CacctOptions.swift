import ArgumentParser
import Foundation

/// The command line of `cacct` (cacct.md §2).
public struct CacctOptions: ParsableArguments, Sendable {
    public init() {}

    @Option(name: .customLong("account"), help: "Comma separated list of account to select jobs to display.")
    public var account = ""

    @Option(
        name: .customLong("starttime"),
        help: "Select jobs eligible after this time. Valid formats: YYYY-MM-DD[THH:MM[:SS]] (default: today 00:00:00).")
    public var startTime: String?

    @Option(
        name: .customLong("endtime"),
        help: "Select jobs eligible before this time. Valid formats: YYYY-MM-DD[THH:MM[:SS]] (default: now).")
    public var endTime: String?

    @Option(name: .customLong("job"), help: "Comma separated list of jobs to display information.")
    public var job = ""

    @Option(name: .customLong("user"), help: "Comma separated list of user names to select jobs to display (admins only).")
    public var user = ""

    @Option(name: .customLong("format"), help: "Comma separated list of fields (see --helpformat).")
    public var format = ""

    @Flag(name: .customLong("helpformat"), help: "List of available fields.")
    public var helpFormat = false

    @Flag(name: .customLong("long"), help: "Print all fields in the output.")
    public var long = false

    @Flag(name: .customLong("ts"), help: "Dump time series data of the jobs (needs --job).")
    public var timeSeries = false

    @Option(name: .customLong("ts.out-dir"), help: "Directory to save time series data.")
    public var outDirectory = "out"

    @Flag(name: .customLong("csv"), help: "Produce CSV output.")
    public var csv = false

    @Flag(name: .customLong("html"), help: "Produce HTML output.")
    public var html = false

    @Flag(name: .customLong("markdown"), help: "Produce markdown output.")
    public var markdown = false

    @Flag(name: .customLong("json"), help: "Produce JSON output (units and summary) for scripts.")
    public var json = false

    /// Test builds only (§7): the binary installed setgid must not let a user impersonate another or point it at
    /// another config. Hidden, and refused unless `CACCT_TEST_BUILD` is compiled in.
    @Option(name: .customLong("current-user"), help: .hidden)
    public var currentUser: String?

    @Option(name: .customLong("config-path"), help: .hidden)
    public var configPath: String?

    /// Output renderer, by the spec's precedence: html > csv > markdown > text; JSON first when asked.
    public enum Renderer: Sendable { case text, csv, markdown, html, json }

    public var renderer: Renderer {
        if json { return .json }
        if html { return .html }
        if csv { return .csv }
        if markdown { return .markdown }
        return .text
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The selected fields; an unknown key is a usage error (§10 #2).
    public func fields() throws -> [CacctField] {
        if long { return CacctField.all }
        let keys = format.isEmpty ? CacctField.defaultKeys : Self.list(format)
        return try keys.map { key in
            guard let field = CacctField.named(key) else { throw ValidationError("unknown field \(key) in --format") }
            return field
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DD` in the local time zone (§10 #5).
    public static func parseTime(_ text: String, zone: TimeZone = .current) -> Date? {
        let parts = text.split(separator: "T", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let date = parts[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard date.count == 3, let year = date[0], let month = date[1], let day = date[2], parts[0].count == 10 else {
            return nil
        }
        var time: [Int?] = [0, 0, 0]
        if parts.count == 2 {
            let fields = parts[1].split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 2 || fields.count == 3, fields.allSatisfy({ $0.count == 2 }) else { return nil }
            time = fields.map { Int($0) } + (fields.count == 2 ? [0] : [])
        }
        guard let hour = time[0], let minute = time[1], let second = time[2] else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
