import Synchronization

/// A value fetched from a slow or unreliable source (a BMC, an IPMI tool, a web API) that a scrape must never
/// wait on for long.
///
/// A reader asks for the value and says how long it may wait. If the cached value is younger than
/// `minimumInterval` it is returned at once. Otherwise a refresh starts (one at a time: concurrent readers share
/// it) and the reader waits for it at most `wait`; when the refresh is late the reader gets the previous value
/// and the refresh goes on in the background, so a hung source costs a scrape at most `wait`. A value older than
/// `maximumAge` is never served: a dead source stops being reported instead of repeating its last reading
/// forever.
public final class RefreshingCache<Value: Sendable>: Sendable {
    /// A value with the time it was fetched.
    public struct Reading: Sendable {
        public var value: Value
        public var fetchedAt: ContinuousClock.Instant
        /// The age of the value when it was handed out.
        public var age: Duration
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var last: (value: Value, at: ContinuousClock.Instant)?
        var lastError: (any Error)?
        var refreshing = false
        var waiters: [Int: Waiter] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())
    private let fetch: @Sendable () async throws -> Value
    public let minimumInterval: Duration
    public let maximumAge: Duration

    public init(
        minimumInterval: Duration = .zero,
        maximumAge: Duration = .seconds(300),
        fetch: @escaping @Sendable () async throws -> Value
    ) {
        self.minimumInterval = minimumInterval
        self.maximumAge = maximumAge
        self.fetch = fetch
    }

    /// The last error of the source, cleared by a successful refresh.
    public var lastError: (any Error)? {
        state.withLock { $0.lastError }
    }

    /// Returns the freshest value that is available within `wait`, or nil when there is none or it is too old.
    public func value(waitingAtMost wait: Duration) async -> Reading? {
        let now = ContinuousClock.now
        let mustWait: Bool = state.withLock { state in
            if let last = state.last, now - last.at < minimumInterval { return false }
            if !state.refreshing {
                state.refreshing = true
                Task { await self.refresh() }
            }
            return true
        }
        if mustWait && wait > .zero {
            await waitForRefresh(atMost: wait)
        }
        return current()
    }

    /// Fetches now and waits for the result (for start-up, where waiting is fine).
    public func prime() async {
        let start: Bool = state.withLock { state in
            if state.refreshing { return false }
            state.refreshing = true
            return true
        }
        if start {
            await refresh()
        } else {
            await waitForRefresh(atMost: .seconds(3600))
        }
    }

    /// The cached value if it is not older than `maximumAge`.
    public func current() -> Reading? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let last = state.last else { return nil }
            let age = now - last.at
            guard age <= maximumAge else { return nil }
            return Reading(value: last.value, fetchedAt: last.at, age: age)
        }
    }

    private func refresh() async {
        let result: Result<Value, any Error>
        do {
            result = .success(try await fetch())
        } catch {
            result = .failure(error)
        }
        let now = ContinuousClock.now
        let waiters: [Waiter] = state.withLock { state in
            switch result {
            case .success(let value):
                state.last = (value, now)
                state.lastError = nil
            case .failure(let error):
                state.lastError = error
            }
            state.refreshing = false
            let waiting = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiting
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume()
        }
    }

    private func waitForRefresh(atMost wait: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id: Int? = state.withLock { state in
                guard state.refreshing else { return nil }
                state.nextWaiterID += 1
                state.waiters[state.nextWaiterID] = Waiter(continuation: continuation, timer: nil)
                return state.nextWaiterID
            }
            guard let id else {
                continuation.resume()
                return
            }
            let timer = Task {
                try? await ShortSleep.for(wait)
                self.releaseWaiter(id)
            }
            state.withLock { state in
                state.waiters[id]?.timer = timer
            }
        }
    }

    private func releaseWaiter(_ id: Int) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume()
    }
}
