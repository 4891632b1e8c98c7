import CEEMSCore
import Logging
import Synchronization

/// Runs the GPU inventory (the vendor tool) in the background, once, and again after a failure.
///
/// Start-up waits for it only a few seconds: a hung `nvidia-smi` (a wedged driver is not rare) must not keep the
/// exporter from serving CPU, memory and energy metrics. Until the inventory is known, or after it failed, the
/// resource-manager collectors export their units without GPU rows and report `success 0` with the reason; a
/// failed inventory is retried after `retryAfter`.
final class GPUInventoryLoader: Sendable {
    enum Status: Sendable {
        case pending
        case ready([GPUDevice])
        case failed(String)
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    private struct State {
        var status = Status.pending
        var running = false
        var retryAt: ContinuousClock.Instant?
    }

    let retryAfter: Duration
    private let load: @Sendable () async throws -> [GPUDevice]
    private let logger: Logger
    private let state = Mutex(State())

    init(retryAfter: Duration = .seconds(300), logger: Logger, load: @escaping @Sendable () async throws -> [GPUDevice])
    {
        self.retryAfter = retryAfter
        self.logger = logger
        self.load = load
    }

    /// Starts a run unless one is going.
    func start() {
        let begin = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            state.status = .pending
            return true
        }
        guard begin else { return }
        Task { [self] in
            let status: Status
            do {
                let devices = try await load()
                status = .ready(devices)
                if !devices.isEmpty {
                    logger.info(
                        "GPUs found",
                        metadata: ["count": "\(devices.count)", "vendor": "\(devices[0].vendor.rawValue)"])
                }
            } catch {
                status = .failed("\(error)")
                logger.error(
                    "GPU inventory failed: units are exported without GPUs until it succeeds",
                    metadata: ["err": "\(error)", "retry_in": "\(retryAfter)"])
            }
            state.withLock { state in
                state.status = status
                state.running = false
                if case .failed = status { state.retryAt = .now + retryAfter }
            }
        }
    }

    /// Waits until the first run ends or `limit` passes, and returns the status.
    func waitForResult(upTo limit: Duration) async -> Status {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if case .pending = state.withLock({ $0.status }) {
                try? await ShortSleep.for(.milliseconds(20))
            } else {
                break
            }
        }
        return state.withLock { $0.status }
    }

    /// The current status; a failed inventory whose retry time has come is started again.
    func status() -> Status {
        let (status, retry) = state.withLock { state -> (Status, Bool) in
            if case .failed = state.status, let at = state.retryAt, ContinuousClock.now >= at, !state.running {
                state.retryAt = nil
                return (state.status, true)
            }
            return (state.status, false)
        }
        if retry { start() }
        return status
    }
}

/// A collector's GPU mapping, built from the inventory once it is known.
final class GPUSource: Sendable {
    let loader: GPUInventoryLoader?
    private let make: @Sendable ([GPUDevice]) throws -> GPUMapping
    private let built = Mutex<GPUMapping?>(nil)

    init(loader: GPUInventoryLoader?, make: @escaping @Sendable ([GPUDevice]) throws -> GPUMapping) {
        self.loader = loader
        self.make = make
    }

    /// A fixed mapping (no inventory to wait for).
    init(_ mapping: GPUMapping) {
        self.loader = nil
        self.make = { _ in mapping }
        built.withLock { $0 = mapping }
    }

    static var none: GPUSource { GPUSource(.none) }

    /// The mapping, or why there is none yet.
    func current() throws(GPUInventoryLoader.Unavailable) -> GPUMapping {
        if let mapping = built.withLock({ $0 }) { return mapping }
        guard let loader else { return .none }
        switch loader.status() {
        case .pending:
            throw GPUInventoryLoader.Unavailable(description: "GPU inventory still running")
        case .failed(let reason):
            throw GPUInventoryLoader.Unavailable(description: "GPU inventory failed: \(reason)")
        case .ready(let devices):
            do {
                let mapping = devices.isEmpty ? GPUMapping.none : try make(devices)
                built.withLock { $0 = mapping }
                return mapping
            } catch {
                throw GPUInventoryLoader.Unavailable(description: "GPU mapping: \(error)")
            }
        }
    }

    /// The mapping if it was built (for shutdown).
    var existing: GPUMapping? { built.withLock { $0 } }
}
