import CEEMSCore
import Logging
import Synchronization

/// Runs the enabled collectors of one scrape concurrently, each under the scrape's deadline.
///
/// A collector that has not answered by the deadline is reported with `ceems_scrape_collector_success 0` and
/// its late samples are dropped: one hung source never holds the whole scrape. It is not started again while
/// its previous run is still going, so a source that hangs for good costs one task, not one per scrape.
public final class CollectorSet: Sendable {
    public let collectors: [any Collector]
    private let busy = Mutex<Set<Int>>([])
    private let logger: Logger

    public init(collectors: [any Collector], logger: Logger) {
        self.collectors = collectors
        self.logger = logger
    }

    private enum Event: Sendable {
        case finished(index: Int, sink: MetricSink, error: (any Error)?, duration: Duration)
        case deadline
    }

    /// Collects every collector and returns their samples plus the scrape metrics.
    public func collect(timeout: Duration) async -> [MetricSink] {
        let start = ContinuousClock.now
        let deadline = start + timeout
        let context = ScrapeContext(deadline: deadline, logger: logger)
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)

        var started: [Int] = []
        var skipped: [Int] = []
        for index in collectors.indices {
            let claimed = busy.withLock { $0.insert(index).inserted }
            if claimed { started.append(index) } else { skipped.append(index) }
        }
        for index in started {
            let collector = collectors[index]
            Task {
                let begin = ContinuousClock.now
                var sink = MetricSink()
                var failure: (any Error)?
                do {
                    try await collector.collect(into: &sink, context: context)
                } catch {
                    failure = error
                }
                self.busy.withLock { _ = $0.remove(index) }
                continuation.yield(.finished(index: index, sink: sink, error: failure, duration: .now - begin))
            }
        }
        let timer = Task {
            try? await ShortSleep.until(deadline)
            continuation.yield(.deadline)
        }

        var results: [MetricSink] = []
        var scrape = MetricSink()
        var pending = Set(started)
        if !pending.isEmpty {
            for await event in events {
                switch event {
                case .finished(let index, let sink, let error, let duration):
                    pending.remove(index)
                    let name = collectors[index].name
                    results.append(sink)
                    scrape.add(ScrapeMetrics.duration, duration.inSeconds, [name, ""])
                    scrape.add(ScrapeMetrics.success, error == nil ? 1 : 0, [name])
                    if let error { report(error, collector: name, duration: duration) }
                case .deadline:
                    break
                }
                if pending.isEmpty || ContinuousClock.now >= deadline { break }
            }
        }
        timer.cancel()
        continuation.finish()
        let elapsed = ContinuousClock.now - start
        for index in pending.sorted() {
            let name = collectors[index].name
            scrape.add(ScrapeMetrics.duration, elapsed.inSeconds, [name, ""])
            scrape.add(ScrapeMetrics.success, 0, [name])
            logger.error(
                "Collector did not finish before the scrape deadline",
                metadata: ["collector": "\(name)", "timeout": "\(timeout)"])
        }
        for index in skipped {
            let name = collectors[index].name
            scrape.add(ScrapeMetrics.success, 0, [name])
            logger.warning("Collector skipped: its previous run has not finished", metadata: ["collector": "\(name)"])
        }
        results.append(scrape)
        return results
    }

    private func report(_ error: any Error, collector: String, duration: Duration) {
        if case CollectorError.noData(let reason) = error {
            logger.debug(
                "Collector returned no data",
                metadata: [
                    "collector": "\(collector)", "duration_seconds": "\(duration.inSeconds)", "reason": "\(reason)",
                ])
        } else {
            logger.error(
                "Collector failed",
                metadata: ["collector": "\(collector)", "duration_seconds": "\(duration.inSeconds)", "err": "\(error)"])
        }
    }
}
