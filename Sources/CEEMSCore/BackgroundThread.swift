#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread for a blocking loop (an inotify reader), kept off Swift's cooperative pool so that a
/// blocking `poll` never starves async tasks.
public enum BackgroundThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new detached thread; false when the system cannot create one.
    @discardableResult
    public static func start(_ body: @escaping @Sendable () -> Void) -> Bool {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Runs a blocking call on a new thread of its own (in place if none can be created) and returns its result.
    public static func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            if !start({ continuation.resume(returning: body()) }) {
                continuation.resume(returning: body())
            }
        }
    }
}
