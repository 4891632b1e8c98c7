import CEEMSMetrics
import Logging
import Synchronization
import Testing

@Suite struct CollectorSetTests {
    static let value = MetricDescriptor("test_value", help: "A value", type: .gauge, labels: ["collector"])

    struct Quick: Collector {
        let name: String
        func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
            sink.add(CollectorSetTests.value, 1, [name])
        }
    }

    struct Hung: Collector {
        let name = "hung"
        func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
            sink.add(CollectorSetTests.value, 1, [name])
            try? await Task.sleep(for: .seconds(30))
        }
    }

    struct Failing: Collector {
        struct Broken: Error {}
        let name = "failing"
        func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
            sink.add(CollectorSetTests.value, 7, [name])
            throw Broken()
        }
    }

    struct Empty: Collector {
        let name = "empty"
        func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
            throw CollectorError.noData("nothing here")
        }
    }

    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func successes(_ sinks: [MetricSink]) -> [String: Double] {
        var result: [String: Double] = [:]
        for sink in sinks {
            for sample in sink.samples(of: ScrapeMetrics.success) { result[sample.labelValues[0]] = sample.value }
        }
        return result
    }

    @Test func reportsSuccessPerCollectorAndKeepsPartialSamples() async {
        let set = CollectorSet(collectors: [Quick(name: "a"), Failing(), Empty()], logger: logger)
        let sinks = await set.collect(timeout: .seconds(30))
        #expect(successes(sinks) == ["a": 1, "failing": 0, "empty": 0])
        let values = sinks.flatMap { $0.samples(of: Self.value) }.map(\.labelValues[0]).sorted()
        #expect(values == ["a", "failing"])
        let durations = sinks.flatMap { $0.samples(of: ScrapeMetrics.duration) }
        #expect(durations.count == 3)
        #expect(durations.allSatisfy { $0.labelValues[1] == "" && $0.value >= 0 })
    }

    @Test func aHungCollectorDoesNotHoldTheScrape() async {
        let set = CollectorSet(collectors: [Quick(name: "a"), Hung()], logger: logger)
        let start = ContinuousClock.now
        let sinks = await set.collect(timeout: .milliseconds(300))
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(successes(sinks) == ["a": 1, "hung": 0])
        // Its late samples are dropped.
        #expect(sinks.flatMap { $0.samples(of: Self.value) }.map(\.labelValues[0]) == ["a"])

        // While it still runs, the next scrape does not start it again.
        let again = await set.collect(timeout: .milliseconds(300))
        #expect(successes(again) == ["a": 1, "hung": 0])
    }

    @Test func collectorsRunConcurrently() async {
        struct Slow: Collector {
            let name: String
            func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
                try await Task.sleep(for: .seconds(2))
            }
        }
        let set = CollectorSet(collectors: (0..<5).map { Slow(name: "s\($0)") }, logger: logger)
        let start = ContinuousClock.now
        let sinks = await set.collect(timeout: .seconds(15))
        // Five two-second collectors in sequence would take ten seconds (the margin absorbs a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(7))
        #expect(successes(sinks).values.allSatisfy { $0 == 1 })
    }
}
