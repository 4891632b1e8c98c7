/// Cancellable sleeps that do not leave a timer behind when cancelled early.
///
/// `Task.sleep` returns at once when its task is cancelled, but the runtime's timer entry stays queued until
/// the original deadline. A scrape that races a 9 s deadline and finishes in 1 ms would leave one such entry per
/// scrape for 9 s: under a flood of scrapes that is thousands of queued timers and megabytes of memory. Sleeping
/// in short steps bounds what a cancelled sleep leaves behind to one step.
public enum ShortSleep {
    public static let step: Duration = .milliseconds(50)

    /// Sleeps until `deadline` in steps of at most `step`; throws `CancellationError` when cancelled.
    public static func until(_ deadline: ContinuousClock.Instant, step: Duration = ShortSleep.step) async throws {
        while true {
            try Task.checkCancellation()
            let remaining = deadline - .now
            if remaining <= .zero { return }
            try await Task.sleep(for: min(remaining, step))
        }
    }

    /// Sleeps for `duration` in short steps.
    public static func `for`(_ duration: Duration, step: Duration = ShortSleep.step) async throws {
        try await until(.now + duration, step: step)
    }
}
