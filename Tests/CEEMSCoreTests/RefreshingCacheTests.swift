import CEEMSCore
import Synchronization
import Testing

@Suite struct RefreshingCacheTests {
    final class Counter: Sendable {
        let value = Mutex(0)
        func next() -> Int {
            value.withLock {
                $0 += 1; return $0
            }
        }
        var count: Int { value.withLock { $0 } }
    }

    @Test func servesAFreshValueWhenTheSourceIsQuick() async {
        let counter = Counter()
        let cache = RefreshingCache { counter.next() }
        #expect(await cache.value(waitingAtMost: .seconds(1))?.value == 1)
        #expect(await cache.value(waitingAtMost: .seconds(1))?.value == 2)
    }

    @Test func neverWaitsLongerThanTheBudgetOnAHungSource() async {
        let counter = Counter()
        let cache = RefreshingCache {
            let n = counter.next()
            if n > 1 { try await Task.sleep(for: .seconds(30)) }
            return n
        }
        await cache.prime()
        let start = ContinuousClock.now
        let reading = await cache.value(waitingAtMost: .milliseconds(200))
        #expect(ContinuousClock.now - start < .seconds(10))
        // The previous good value is served while the refresh hangs.
        #expect(reading?.value == 1)
    }

    @Test func keepsTheLastGoodValueWhenTheSourceFails() async {
        struct Broken: Error {}
        let counter = Counter()
        let cache = RefreshingCache {
            let n = counter.next()
            if n > 1 { throw Broken() }
            return n
        }
        await cache.prime()
        #expect(await cache.value(waitingAtMost: .seconds(1))?.value == 1)
        #expect(cache.lastError is Broken)
    }

    @Test func doesNotServeValuesOlderThanTheMaximumAge() async throws {
        struct Broken: Error {}
        let counter = Counter()
        let cache = RefreshingCache(maximumAge: .milliseconds(100)) {
            if counter.next() > 1 { throw Broken() }
            return 1
        }
        await cache.prime()
        try await Task.sleep(for: .milliseconds(200))
        #expect(await cache.value(waitingAtMost: .seconds(1)) == nil)
    }

    @Test func concurrentReadersShareOneRefresh() async {
        let counter = Counter()
        let cache = RefreshingCache {
            try await Task.sleep(for: .milliseconds(100))
            return counter.next()
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 { group.addTask { _ = await cache.value(waitingAtMost: .seconds(2)) } }
        }
        #expect(counter.count == 1)
    }

    @Test func respectsTheMinimumInterval() async {
        let counter = Counter()
        let cache = RefreshingCache(minimumInterval: .seconds(60)) { counter.next() }
        _ = await cache.value(waitingAtMost: .seconds(1))
        _ = await cache.value(waitingAtMost: .seconds(1))
        #expect(counter.count == 1)
    }
}
