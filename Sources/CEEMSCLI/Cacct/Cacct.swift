import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import Foundation
import NIOHTTP1

/// What a `cacct` run printed and its exit code (the executable writes them out; tests read them).
public struct CacctResult: Sendable {
    public var standardOutput = ""
    public var standardError = ""
    public var exitCode: Int32 = 0
}

/// `cacct`: the user's units and usage from the API server as a table (or CSV, Markdown, HTML, JSON), and
/// optionally their time series from the TSDB (cacct.md §4–§6).
public struct Cacct: Sendable {
    public var options: CacctOptions
    public var config: CacctConfig
    /// The login name of the real uid (§3, §10 #1).
    public var currentUser: String
    public var now: Date
    /// Columns of the terminal the table is printed on, if it is one.
    public var terminalWidth: Int?

    public init(options: CacctOptions, config: CacctConfig, currentUser: String, now: Date = Date()) {
        self.options = options
        self.config = config
        self.currentUser = currentUser
        self.now = now
    }

    enum Failure: Error {
        case usage(String)
        case forbidden
        case serverError
        case other(String)
    }

    public func run() async -> CacctResult {
        var result = CacctResult()
        do {
            try await execute(into: &result)
        } catch let failure as Failure {
            result.exitCode = 1
            switch failure {
            case .usage(let message), .other(let message): result.standardError += "cacct: error: \(message)\n"
            case .forbidden:
                result.standardError += "forbidden. It is likely that the user is attempting to view statistics of others\n"
            case .serverError: result.standardError += "server did not return any data due to unknown error\n"
            }
        } catch {
            result.exitCode = 1
            result.standardError += "cacct: error: \(error)\n"
        }
        return result
    }

    func execute(into result: inout CacctResult) async throws {
        if options.helpFormat {
            var table = TextTable(columns: [.init(), .init()])
            table.headers = [["Field", "Description"]]
            table.rows = CacctField.helpTable
            result.standardOutput += table.renderText()
            return
        }
        let fields: [CacctField]
        do { fields = try options.fields() } catch { throw Failure.usage("\(error)") }
        let jobs = CacctOptions.list(options.job)
        if options.timeSeries && jobs.isEmpty {
            throw Failure.usage("explicit job IDs must be passed using --job when --ts is enabled")
        }
        func time(_ text: String?, flag: String, default fallback: Date) throws -> Date {
            guard let text else { return fallback }
            guard let parsed = CacctOptions.parseTime(text) else {
                throw Failure.usage("failed to parse --\(flag) flag: invalid time \(text)")
            }
            return parsed
        }
        let start = try time(options.startTime, flag: "starttime", default: Calendar.current.startOfDay(for: now))
        let end = try time(options.endTime, flag: "endtime", default: now)
        guard !config.apiURL.isEmpty else { throw Failure.other("ceems_api_server.web.url missing in the config") }

        let users = CacctOptions.list(options.user)
        let admin = !users.isEmpty && users != [currentUser]
        var query: [(String, String)] = []
        if !config.clusterID.isEmpty { query.append(("cluster_id", config.clusterID)) }
        var unitFields = fields.map(\.apiField)
        for extra in ["started_at_ts", "ended_at_ts"] where !unitFields.contains(extra) { unitFields.append(extra) }
        let usageFields = unitFields + ["username", "num_units"] + (fields.contains { $0.key == "elapsed" } ? ["total_time_seconds"] : [])
        let fromTo = [("from", String(Int(start.timeIntervalSince1970))), ("to", String(Int(end.timeIntervalSince1970)))]
        var filters: [(String, String)] = CacctOptions.list(options.account).map { ("project", $0) }
        if admin { filters += users.map { ("user", $0) } }
        filters += jobs.map { ("uuid", $0) }

        let client: ConfiguredHTTPClient
        do {
            client = try ConfiguredHTTPClient(config: config.apiClient, connectTimeout: .seconds(10), retryConnections: false)
        } catch {
            throw Failure.other("\(error)")
        }
        defer { Task { await client.shutdown() } }
        let suffix = admin ? "/admin" : ""
        let units = try await fetch(
            client, path: "/api/v1/units" + suffix, query: query + unitFields.map { ("field", $0) } + fromTo + filters)
        let usage = try await fetch(
            client, path: "/api/v1/usage/current" + suffix,
            query: query + usageFields.map { ("field", $0) } + fromTo + filters)
        let summaryUsers = Set(users + [currentUser])
        let summary = usage.filter { summaryUsers.contains($0["username"]?.stringValue ?? "") }

        switch options.renderer {
        case .json:
            var writer = JSONWriter()
            writer.value(.object([("units", .array(units)), ("summary", .array(summary))]), sortKeys: false)
            result.standardOutput += writer.text + "\n"
        default:
            var table = Self.table(fields: fields, units: units, summary: summary)
            table.terminalWidth = terminalWidth
            switch options.renderer {
            case .html: result.standardOutput += table.renderHTML()
            case .csv: result.standardOutput += table.renderCSV()
            case .markdown: result.standardOutput += table.renderMarkdown()
            default:
                if let terminalWidth {
                    table.terminalWidth = nil
                    if table.renderText().split(separator: "\n").contains(where: { $0.count > terminalWidth }) {
                        // Too wide for the terminal: numbers with two decimals before anything wraps, unless even
                        // that does not fit and the rows become records, where the full numbers fit.
                        var compact = Self.table(fields: fields, units: units, summary: summary, compact: true)
                        compact.terminalWidth = terminalWidth
                        if compact.renderText().hasPrefix("┌") { table = compact }
                    }
                    table.terminalWidth = terminalWidth
                }
                result.standardOutput += table.renderText()
            }
        }
        if options.timeSeries {
            await dumpTimeSeries(units: units, into: &result)
        }
    }

    /// One API call; the envelope's `data` array.
    func fetch(_ client: ConfiguredHTTPClient, path: String, query: [(String, String)]) async throws -> [JSONValue] {
        let sorted = query.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        let text = sorted.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        var base = config.apiURL
        while base.hasSuffix("/") { base.removeLast() }
        let response: HTTPClientResult
        do {
            response = try await client.execute(
                url: base + path + "?" + text,
                headers: [(config.userHeaderName, currentUser), ("Accept-Encoding", "gzip")], timeout: .seconds(60))
        } catch {
            throw Failure.other("\(error)")
        }
        if response.status == 401 || response.status == 403 { throw Failure.forbidden }
        var body = response.body
        if response.header("Content-Encoding")?.lowercased() == "gzip" {
            guard let plain = try? Gzip.decompress(body) else { throw Failure.other("invalid gzip body from \(path)") }
            body = plain
        }
        guard let document = body.withUnsafeBufferPointer({ JSONValue.parse(bytes: $0) }) else {
            throw Failure.other("invalid JSON from \(path) (HTTP \(response.status))")
        }
        if document["status"]?.stringValue == "error" { throw Failure.serverError }
        guard response.status == 200 else { throw Failure.other("HTTP \(response.status) from \(path)") }
        guard case .array(let data)? = document["data"] else { return [] }
        return data
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? text
    }
}
