import Synchronization

/// A token bucket (Go's `rate.Limiter` with `rate.Every(interval)` and a burst) for the web config's
/// `rate_limit`: `burst` requests at once, then one per `interval`.
public final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let state: Mutex<State>
    private let interval: Duration
    private let burst: Double

    public init(interval: Duration, burst: Int) {
        self.interval = interval
        self.burst = Double(burst)
        self.state = Mutex(State(tokens: Double(burst), last: .now))
    }

    /// Takes a token if one is available.
    public func allow(now: ContinuousClock.Instant = .now) -> Bool {
        let intervalSeconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        return state.withLock { state in
            if intervalSeconds > 0 {
                let elapsed = now - state.last
                let elapsedSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.tokens = min(burst, state.tokens + elapsedSeconds / intervalSeconds)
            }
            state.last = now
            guard state.tokens >= 1 else { return false }
            state.tokens -= 1
            return true
        }
    }
}
