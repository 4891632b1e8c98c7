import Logging

/// What a collector knows about the scrape it runs in.
public struct ScrapeContext: Sendable {
    /// When the scrape's answer is due; collectors that wait on something should not wait past it.
    public var deadline: ContinuousClock.Instant
    public var logger: Logger

    public init(deadline: ContinuousClock.Instant, logger: Logger) {
        self.deadline = deadline
        self.logger = logger
    }

    /// The time left until the deadline (zero when it passed).
    public var remaining: Duration {
        let left = deadline - ContinuousClock.now
        return left > .zero ? left : .zero
    }
}

/// A source of metrics built at scrape time.
public protocol Collector: Sendable {
    /// The collector name, as in `--collector.<name>` and the `collector` label of the scrape metrics.
    var name: String { get }

    /// Adds this scrape's samples to `sink`. Samples added before an error are still exported; the error makes
    /// `ceems_scrape_collector_success` 0 for this collector.
    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws
}

/// Errors with a meaning for the scrape runner.
public enum CollectorError: Error, CustomStringConvertible {
    /// The source has nothing to report (absent device, no reading yet): success 0, logged at debug level only.
    case noData(String)

    public var description: String {
        switch self {
        case .noData(let reason): "no data: \(reason)"
        }
    }
}
