import CEEMSCore
import CEEMSWeb
import Foundation
import Logging
import NIOHTTP1
import Yams

/// A Prometheus-compatible TSDB: its settings, instant queries and the admin delete API.
public final class TSDBClient: Sendable {
    public struct Settings: Sendable, Equatable {
        public var scrapeInterval: Duration = .seconds(60)
        public var evaluationInterval: Duration = .seconds(60)
        public var lookbackDelta: Duration = .seconds(300)
        public var queryTimeout: Duration = .seconds(120)
        public var maxSamples = 50_000_000
        /// Whether they were read from the TSDB (else these defaults).
        public var fetched = false

        public init() {}
    }

    public enum QueryError: Error, CustomStringConvertible {
        case http(status: Int, body: String)
        case invalidResponse(String)
        case transport(String)

        public var description: String {
            switch self {
            case .http(let status, let body): "TSDB answered \(status): \(body.prefix(300))"
            case .invalidResponse(let reason): "invalid TSDB response: \(reason)"
            case .transport(let reason): reason
            }
        }
    }

    let api: PrometheusAPI
    var base: String { api.base }
    var http: ConfiguredHTTPClient { api.http }
    var timeout: Duration { api.timeout }

    public init(url: String, config: HTTPClientConfig, timeout: Duration = .seconds(120)) throws {
        api = try PrometheusAPI(url: url, config: config, timeout: timeout, retryConnections: true)
    }

    public func shutdown() async { await api.shutdown() }

    func getJSON(_ path: String) async throws -> JSONValue {
        do {
            return try await api.data(path, timeout: .seconds(10))
        } catch PrometheusAPI.Failure.transport(let reason) {
            throw QueryError.transport(reason)
        } catch PrometheusAPI.Failure.http(_, let status, let body) where status != 200 {
            throw QueryError.http(status: status, body: body)
        } catch {
            throw QueryError.invalidResponse("\(path): not a success envelope")
        }
    }

    /// Reads the scrape/evaluation intervals, query limits and lookback from the TSDB; each item keeps its default
    /// when unavailable (§9.4, §15 #17).
    public func settings(logger: Logger) async -> Settings {
        var settings = Settings()
        do {
            let config = try await getJSON("/api/v1/status/config")
            if let yaml = config["yaml"]?.stringValue,
                let document = try Yams.load(yaml: yaml) as? [String: Any],
                let global = document["global"] as? [String: Any]
            {
                if let text = global["scrape_interval"] as? String, let value = try? GoDuration.parse(text) {
                    settings.scrapeInterval = value
                }
                if let text = global["evaluation_interval"] as? String, let value = try? GoDuration.parse(text) {
                    settings.evaluationInterval = value
                }
                settings.fetched = true
            }
        } catch {
            logger.warning("Failed to read TSDB config", metadata: ["err": "\(error)"])
        }
        do {
            let flags = try await getJSON("/api/v1/status/flags")
            if let text = flags["query.max-samples"]?.stringValue, let value = Int(text), value > 0 {
                settings.maxSamples = value
            }
            if let text = flags["query.timeout"]?.stringValue, let value = try? GoDuration.parse(text) {
                settings.queryTimeout = value
            }
            if let text = flags["query.lookback-delta"]?.stringValue, let value = try? GoDuration.parse(text) {
                settings.lookbackDelta = value
            }
        } catch {
            logger.warning("Failed to read TSDB flags", metadata: ["err": "\(error)"])
        }
        return settings
    }

    /// An instant query at `time` (epoch ms): uuid → value. POSTed as a form, retried as GET on 405/501.
    public func query(_ promQL: String, time: Int64, lookbackDelta: String) async throws -> [String: Double] {
        let form =
            "query=\(Self.formEncode(promQL))&time=\(Double(time) / 1000)&lookback_delta=\(Self.formEncode(lookbackDelta))"
        var result: HTTPClientResult
        do {
            result = try await http.execute(
                method: .POST, url: base + "/api/v1/query",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8),
                timeout: timeout)
            if result.status == 405 || result.status == 501 {
                result = try await http.execute(url: base + "/api/v1/query?" + form, timeout: timeout)
            }
        } catch {
            throw QueryError.transport("\(error)")
        }
        guard result.status == 200 else { throw QueryError.http(status: result.status, body: result.text) }
        guard let json = JSONValue.parse(result.text), json["status"]?.stringValue == "success",
            let data = json["data"], case .array(let series)? = data["result"]
        else {
            throw QueryError.invalidResponse("query result is not a vector")
        }
        var values: [String: Double] = [:]
        for item in series {
            guard let uuid = item["metric"]?["uuid"]?.stringValue, case .array(let pair)? = item["value"],
                pair.count == 2, let text = pair[1].stringValue
            else { continue }
            let value = Double(text) ?? .nan
            values[uuid] = value.isFinite && value >= 0 ? value : 0
        }
        return values
    }

    /// `POST /api/v1/admin/tsdb/delete_series`.
    public func deleteSeries(matchers: [String], start: Int64, end: Int64) async throws {
        var form = matchers.map { "match[]=" + Self.formEncode($0) }
        form.append("start=\(Double(start) / 1000)")
        form.append("end=\(Double(end) / 1000)")
        let result: HTTPClientResult
        do {
            result = try await http.execute(
                method: .POST, url: base + "/api/v1/admin/tsdb/delete_series",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(form.joined(separator: "&").utf8), timeout: timeout)
        } catch {
            throw QueryError.transport("\(error)")
        }
        guard (200..<300).contains(result.status) else {
            throw QueryError.http(status: result.status, body: result.text)
        }
    }

    static func formEncode(_ text: String) -> String { QueryParameters.encode(text) }
}
