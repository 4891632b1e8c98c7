import CEEMSLinux
import Logging
import Synchronization

/// Releases start-up-only code pages once, after the first scrape or ten seconds after start, whichever comes
/// first (see `ResidentPages`). Disabled with `--no-runtime.release-startup-pages`.
final class StartupMemory: Sendable {
    private let done = Atomic<Bool>(false)
    private let enabled: Bool
    private let logger: Logger

    init(enabled: Bool, logger: Logger) {
        self.enabled = enabled
        self.logger = logger
    }

    func releaseOnce() {
        guard enabled, !done.exchange(true, ordering: .relaxed) else { return }
        let before = ResidentPages.residentBytes() ?? 0
        let advised = ResidentPages.releaseCodePages()
        let after = ResidentPages.residentBytes() ?? 0
        logger.debug(
            "Released start-up code pages",
            metadata: ["advised_bytes": "\(advised)", "rss_before": "\(before)", "rss_after": "\(after)"])
    }

    /// The timer half: release ten seconds after start if nobody scraped yet.
    func scheduleFallback() -> Task<Void, Never> {
        Task {
            try? await Task.sleep(for: .seconds(10))
            if !Task.isCancelled { self.releaseOnce() }
        }
    }
}
