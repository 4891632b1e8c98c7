import CEEMSWeb
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Checks every backend by dialling it over TCP (port from the URL, else the scheme's, §12 #6) at start and
/// then every `interval`, marking it alive or dead. Checks run concurrently, so one unreachable backend does not
/// delay the others.
public struct HealthChecker: Service {
    let backends: [Backend]
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    init(backends: [Backend], interval: Duration = .seconds(20), timeout: Duration = .seconds(10), logger: Logger) {
        self.backends = backends
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await checkAll()
                try await Task.sleep(for: interval)
            }
        }
    }

    /// One round of checks.
    public func checkAll() async {
        await withTaskGroup(of: Void.self) { group in
            for backend in backends {
                group.addTask { await check(backend) }
            }
        }
    }

    func check(_ backend: Backend) async {
        let up = await Self.dial(url: backend.url, timeout: timeout)
        let wasUp = backend.isAlive
        backend.setAlive(up)
        if !up {
            logger.warning(
                "Health check", metadata: ["backend": "\(backend.url)", "cluster_id": "\(backend.clusterID)", "status": "down"])
        } else if !wasUp {
            logger.info(
                "Health check", metadata: ["backend": "\(backend.url)", "cluster_id": "\(backend.clusterID)", "status": "up"])
        }
    }

    /// Whether a TCP connection to the URL's host and port opens within `timeout`.
    static func dial(url: String, timeout: Duration) async -> Bool {
        guard let (host, port) = ConfiguredHTTPClient.hostAndPort(url) else { return false }
        let milliseconds = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(milliseconds))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
