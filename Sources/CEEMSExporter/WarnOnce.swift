import Logging
import Synchronization

/// Logs a warning the first time a condition is seen and at debug level afterwards, so an absent source (no
/// RAPL on a VM, no InfiniBand) is said once instead of at every scrape.
final class WarnOnce: Sendable {
    private let seen = Mutex<Set<String>>([])

    func warn(
        _ key: String, _ message: @autoclosure () -> Logger.Message, metadata: Logger.Metadata = [:], logger: Logger
    ) {
        let first = seen.withLock { $0.insert(key).inserted }
        if first {
            logger.warning(message(), metadata: metadata)
        } else {
            logger.debug(message(), metadata: metadata)
        }
    }

    /// Forgets a condition once it is resolved, so a recurrence is warned about again.
    func reset(_ key: String) {
        _ = seen.withLock { $0.remove(key) }
    }
}
