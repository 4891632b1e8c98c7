import CEEMSCore
import Foundation
import NIOHTTP1
import Yams

/// A Prometheus HTTP API client: success envelopes, the configuration and targets, series, label values and
/// instant queries (read-only; what `ceems_tool` inspects, ceems-tool.md §3.3–§3.5, §5).
public final class PrometheusAPI: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case http(path: String, status: Int, body: String)
        case invalid(path: String, reason: String)
        case transport(String)

        public var description: String {
            switch self {
            case .http(let path, let status, let body): "\(path): HTTP \(status): \(body.prefix(300))"
            case .invalid(let path, let reason): "\(path): \(reason)"
            case .transport(let reason): reason
            }
        }
    }

    /// One series of `/api/v1/series`, or of an instant query with its value.
    public typealias Labels = [String: String]

    /// The URL without trailing slashes.
    public let base: String
    public let http: ConfiguredHTTPClient
    public let timeout: Duration

    public init(
        url: String, config: HTTPClientConfig, timeout: Duration = .seconds(120), retryConnections: Bool = false
    ) throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.timeout = timeout
        http = try ConfiguredHTTPClient(config: config, retryConnections: retryConnections)
    }

    public func shutdown() async { await http.shutdown() }

    /// `data` of a success envelope; a form body is POSTed.
    public func data(_ path: String, form: [(String, String)]? = nil, timeout: Duration? = nil) async throws
        -> JSONValue
    {
        let timeout = timeout ?? self.timeout
        let result: HTTPClientResult
        do {
            if let form {
                let body = form.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
                result = try await http.execute(
                    method: .POST, url: base + path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array(body.utf8), timeout: timeout)
            } else {
                result = try await http.execute(url: base + path, timeout: timeout)
            }
        } catch {
            throw Failure.transport(error.description)
        }
        guard let json = result.body.withUnsafeBufferPointer({ JSONValue.parse(bytes: $0) }) else {
            throw Failure.http(path: path, status: result.status, body: result.text)
        }
        guard result.status == 200, json["status"]?.stringValue == "success" else {
            let message = json["error"]?.stringValue ?? result.text
            throw Failure.http(path: path, status: result.status, body: message)
        }
        return json["data"] ?? .null
    }

    /// `global.scrape_interval` and `global.evaluation_interval` of the running configuration.
    public func globalIntervals() async throws -> (scrape: Duration, evaluation: Duration) {
        let path = "/api/v1/status/config"
        guard let yaml = try await data(path)["yaml"]?.stringValue else {
            throw Failure.invalid(path: path, reason: "no yaml in the answer")
        }
        let global = (try? Yams.load(yaml: yaml) as? [String: Any])?["global"] as? [String: Any] ?? [:]
        func interval(_ key: String) -> Duration {
            (global[key] as? String).flatMap { try? GoDuration.parse($0) } ?? .seconds(60)
        }
        return (interval("scrape_interval"), interval("evaluation_interval"))
    }

    /// Scrape interval per job from the active targets (`discoveredLabels.__scrape_interval__`).
    public func jobScrapeIntervals() async throws -> [String: Duration] {
        let targets = try await data("/api/v1/targets?state=active")
        guard case .array(let active)? = targets["activeTargets"] else { return [:] }
        var intervals: [String: Duration] = [:]
        for target in active {
            let job = target["labels"]?["job"]?.stringValue ?? target["scrapePool"]?.stringValue ?? ""
            guard !job.isEmpty, let text = target["discoveredLabels"]?["__scrape_interval__"]?.stringValue,
                let interval = try? GoDuration.parse(text)
            else { continue }
            intervals[job] = interval
        }
        return intervals
    }

    /// Series matching any of `matchers` over [start, end] (epoch seconds).
    public func series(matching matchers: [String], start: Double, end: Double) async throws -> [Labels] {
        var form = matchers.map { ("match[]", $0) }
        form.append(("start", Self.number(start)))
        form.append(("end", Self.number(end)))
        guard case .array(let items) = try await data("/api/v1/series", form: form) else { return [] }
        return items.map(Self.labels)
    }

    /// Values of label `name` on series matching `matcher` over [start, end].
    public func labelValues(_ name: String, matching matcher: String, start: Double, end: Double) async throws
        -> [String]
    {
        let path =
            "/api/v1/label/\(Self.encode(name))/values?match%5B%5D=\(Self.encode(matcher))&start=\(Self.number(start))&end=\(Self.number(end))"
        guard case .array(let items) = try await data(path) else { return [] }
        return items.compactMap(\.stringValue)
    }

    /// An instant vector query at `time`.
    public func query(_ expression: String, time: Double) async throws -> [(labels: Labels, value: Double)] {
        let data = try await data("/api/v1/query", form: [("query", expression), ("time", Self.number(time))])
        guard case .array(let items)? = data["result"] else { return [] }
        return items.compactMap { item in
            guard case .array(let pair)? = item["value"], pair.count == 2, let text = pair[1].stringValue else {
                return nil
            }
            return (Self.labels(item["metric"] ?? .null), Double(text) ?? .nan)
        }
    }

    static func labels(_ value: JSONValue) -> Labels {
        guard case .object(let members) = value else { return [:] }
        var labels: Labels = [:]
        for (key, value) in members { labels[key] = value.stringValue ?? "" }
        return labels
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~")))
            ?? text
    }
}
