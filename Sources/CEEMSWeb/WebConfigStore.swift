import CEEMSCore
import Logging
import Synchronization

/// The current web config, re-read whenever the file changes (exporter-toolkit re-reads it on every request;
/// a `stat` per request gives the same behaviour at a fraction of the cost).
public final class WebConfigStore: Sendable {
    public enum Current: Sendable {
        case valid(WebConfig, TokenBucket?)
        case invalid(ConfigError)
    }

    private struct State {
        var fingerprint: FileFingerprint?
        var current: Current
    }

    public let file: String?
    private let state: Mutex<State>
    private let logger: Logger

    /// Loads the file once; a broken file at start-up is an error, a file broken later gives 500s until fixed.
    public init(file: String?, logger: Logger) throws(ConfigError) {
        self.file = file
        self.logger = logger
        guard let file, !file.isEmpty else {
            self.state = Mutex(State(fingerprint: nil, current: .valid(WebConfig(), nil)))
            return
        }
        let fingerprint = SystemFile.fingerprint(file)
        let config = try WebConfig.load(file: file)
        self.state = Mutex(State(fingerprint: fingerprint, current: .valid(config, Self.limiter(for: config))))
    }

    /// A store holding a fixed config (tests).
    public init(config: WebConfig, logger: Logger) {
        self.file = nil
        self.logger = logger
        self.state = Mutex(State(fingerprint: nil, current: .valid(config, Self.limiter(for: config))))
    }

    /// The config to apply to the request being served.
    public func current() -> Current {
        guard let file, !file.isEmpty else { return state.withLock { $0.current } }
        let fingerprint = SystemFile.fingerprint(file)
        if let cached = state.withLock({ $0.fingerprint == fingerprint ? $0.current : nil }) {
            return cached
        }
        let next: Current
        do {
            let config = try WebConfig.load(file: file)
            next = .valid(config, Self.limiter(for: config))
            logger.info("Reloaded web configuration", metadata: ["file": "\(file)"])
        } catch {
            logger.error("Unable to parse web configuration", metadata: ["file": "\(file)", "err": "\(error)"])
            next = .invalid(error)
        }
        state.withLock { state in
            state.fingerprint = fingerprint
            state.current = next
        }
        return next
    }

    /// The config loaded at start-up or last reload (TLS set-up).
    public var initialConfig: WebConfig {
        if case .valid(let config, _) = state.withLock({ $0.current }) { return config }
        return WebConfig()
    }

    static func limiter(for config: WebConfig) -> TokenBucket? {
        guard config.rateLimit.burst > 0, config.rateLimit.interval > .zero else { return nil }
        return TokenBucket(interval: config.rateLimit.interval, burst: config.rateLimit.burst)
    }
}
