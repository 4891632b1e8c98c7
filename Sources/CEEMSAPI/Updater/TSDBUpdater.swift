import CEEMSCore
import Foundation
import Logging
import Synchronization

/// Enriches units with aggregate metrics from a TSDB (§9).
public final class TSDBUpdater: Sendable {
    public struct Options: Sendable {
        public var queryMaxSeries = 50
        public var queryMinSamples = 0.5
        public var cutoff: Duration = .zero
        public var deleteIgnored = false
        public var labelsToDrop: [String] = []
        public var queries: [String: [String: String]] = DefaultQueries.all

        public init() {}

        /// Reads `extra_config` (§9.1).
        public init(extraConfig: JSONValue?) throws {
            self.init()
            guard let extra = extraConfig else { return }
            if let value = extra["query_max_series"]?.doubleValue {
                guard value >= 0 else { throw UpdaterError.invalidConfig("query_max_series must be more than 0") }
                if value > 0 { queryMaxSeries = Int(value) }
            }
            if let value = extra["query_min_samples"]?.doubleValue, value != 0 {
                guard value > 0 && value <= 1 else {
                    throw UpdaterError.invalidConfig("query_min_samples must be between (0, 1]")
                }
                queryMinSamples = value
            }
            if let text = extra["cutoff_duration"]?.stringValue {
                cutoff = try GoDuration.parse(text)
            }
            if case .bool(let flag)? = extra["delete_ignored"] { deleteIgnored = flag }
            if case .array(let items)? = extra["labels_to_drop"] { labelsToDrop = items.compactMap(\.stringValue) }
            if case .object(let fields)? = extra["queries"] {
                var configured: [String: [String: String]] = [:]
                for (field, value) in fields {
                    guard MetricField(rawValue: field) != nil else {
                        throw UpdaterError.invalidConfig("unknown metric field \(field) in queries")
                    }
                    guard case .object(let subkeys) = value else { continue }
                    configured[field] = Dictionary(
                        subkeys.compactMap { key, query in query.stringValue.map { (key, $0) } },
                        uniquingKeysWith: { $1 })
                }
                queries = configured
            }
        }
    }

    public let id: String
    let client: TSDBClient?
    let options: Options
    let logger: Logger
    private let cachedSettings = Mutex<(TSDBClient.Settings, Int64)?>(nil)

    public init(id: String, url: String, clientConfig: HTTPClientConfig, options: Options, logger: Logger) throws {
        self.id = id
        self.client = url.isEmpty ? nil : try TSDBClient(url: url, config: clientConfig)
        self.options = options
        self.logger = logger
    }

    public func shutdown() async { await client?.shutdown() }

    func settings(now: Int64) async -> TSDBClient.Settings {
        if let (settings, readAt) = cachedSettings.withLock({ $0 }), settings.fetched, now - readAt < 6 * 3_600_000 {
            return settings
        }
        guard let client else { return TSDBClient.Settings() }
        let settings = await client.settings(logger: logger)
        cachedSettings.withLock { $0 = (settings, now) }
        return settings
    }

    /// The batch size for a window (§9.4).
    static func batchSize(windowSeconds: Double, settings: TSDBClient.Settings, options: Options, unitCount: Int) -> Int {
        let scrape = max(settings.scrapeInterval.inSeconds, 1e-3)
        let samplesPerSeries = max(windowSeconds / scrape, 1)
        let maxLabels = Double(settings.maxSamples) / (Double(options.queryMaxSeries) * samplesPerSeries)
        let batch = max(Int((options.queryMinSamples * maxLabels).rounded(.down)), 10)
        return max(1, min(batch, unitCount))
    }

    /// Fills the metric maps of `units` for the window, marks units shorter than the cutoff as ignored, and
    /// deletes series as configured.
    public func update(units: inout [ComputeUnit], window: UpdateWindow) async {
        guard !units.isEmpty else { return }
        for index in units.indices where options.cutoff > .zero && units[index].hasEnded {
            let duration = units[index].endedAtTS - units[index].startedAtTS
            if Double(duration) / 1000 < options.cutoff.inSeconds { units[index].ignore = true }
        }
        guard let client else { return }
        guard TCPProbe.reachable(url: client.base) else {
            logger.error("TSDB unreachable; unit metrics of this update left empty", metadata: ["updater": "\(id)", "url": "\(client.base)"])
            return
        }
        let settings = await settings(now: window.end)
        let windowSeconds = Double(window.end - window.start) / 1000
        if windowSeconds >= settings.scrapeInterval.inSeconds * 4 {
            await query(client: client, units: &units, window: window, settings: settings)
        } else {
            logger.debug("Update window shorter than the rate interval; no TSDB query", metadata: ["updater": "\(id)"])
        }
        await deleteSeries(client: client, units: units, window: window)
    }

    func query(client: TSDBClient, units: inout [ComputeUnit], window: UpdateWindow, settings: TSDBClient.Settings) async {
        let uuids = Array(Set(units.map(\.uuid).filter { !$0.isEmpty })).sorted()
        guard !uuids.isEmpty else { return }
        let batch = Self.batchSize(
            windowSeconds: Double(window.end - window.start) / 1000, settings: settings, options: options,
            unitCount: uuids.count)
        let lookback =
            settings.fetched
            ? GoDurationFormat.string(settings.scrapeInterval == .zero ? .seconds(10) : settings.scrapeInterval)
            : "1m0s"
        // field → subkey → uuid → value, merged over batches; a field is present once one query succeeded.
        var results: [String: [String: [String: Double]]] = [:]
        var succeeded = Set<String>()
        var start = 0
        while start < uuids.count {
            let chunk = Array(uuids[start..<min(start + batch, uuids.count)])
            start += batch
            let values = QueryTemplateValues(
                uuids: chunk, range: .milliseconds(window.end - window.start), scrapeInterval: settings.scrapeInterval,
                evaluationInterval: settings.evaluationInterval)
            let outcomes = await withTaskGroup(of: (String, String, [String: Double]?).self) { group in
                for (field, subkeys) in options.queries {
                    for (subkey, template) in subkeys {
                        let promQL = values.render(template)
                        group.addTask { [logger, id] in
                            do {
                                return (field, subkey, try await client.query(promQL, time: window.end, lookbackDelta: lookback))
                            } catch {
                                logger.error(
                                    "TSDB query failed",
                                    metadata: ["updater": "\(id)", "field": "\(field)", "subkey": "\(subkey)", "err": "\(error)"])
                                return (field, subkey, nil)
                            }
                        }
                    }
                }
                var collected: [(String, String, [String: Double]?)] = []
                for await outcome in group { collected.append(outcome) }
                return collected
            }
            for (field, subkey, values) in outcomes {
                guard let values else { continue }
                succeeded.insert(field)
                results[field, default: [:]][subkey, default: [:]].merge(values) { $1 }
            }
        }
        for index in units.indices {
            let uuid = units[index].uuid
            for field in succeeded {
                guard let metricField = MetricField(rawValue: field) else { continue }
                var map = MetricMap()
                for (subkey, byUUID) in results[field] ?? [:] {
                    if let value = byUUID[uuid] { map[subkey] = value }
                }
                units[index].metrics[metricField] = map
            }
        }
    }

    func deleteSeries(client: TSDBClient, units: [ComputeUnit], window: UpdateWindow) async {
        let ignored = options.deleteIgnored ? units.filter(\.ignore).map(\.uuid).filter { !$0.isEmpty } : []
        guard !ignored.isEmpty || !options.labelsToDrop.isEmpty else { return }
        var matchers = options.labelsToDrop
        if !ignored.isEmpty { matchers.append("{uuid=~\"\(ignored.joined(separator: "|"))\"}") }
        let start = window.start - Int64(options.cutoff.inSeconds * 1000)
        do {
            try await client.deleteSeries(matchers: matchers, start: start, end: window.end)
        } catch {
            logger.error("Failed to delete TSDB series", metadata: ["updater": "\(id)", "err": "\(error)"])
        }
    }
}

public enum UpdaterError: Error, CustomStringConvertible {
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .invalidConfig(let reason): reason
        }
    }
}
