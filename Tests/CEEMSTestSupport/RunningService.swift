import Logging
import ServiceLifecycle

/// Runs a server for the duration of `body`, which receives the port the server reported through the
/// continuation given to `start` (servers in tests listen on port 0).
///
/// The server is stopped by a graceful shutdown, not by cancelling its task: cancellation drops connections that
/// were accepted but not yet handed to the server loop, which NIO traps on ("Deinited NIOAsyncWriter without
/// calling finish()") when a client connects at that moment. Should the graceful stop take over 5 s, the task is
/// cancelled.
public func withRunningService<Result: Sendable>(
    _ start: @escaping @Sendable (AsyncStream<Int>.Continuation) async throws -> Void,
    _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let ports = AsyncStream<Int>.makeStream()
    let service = ClosureService {
        // A server that fails to start ends the stream, so the caller sees its error instead of waiting.
        defer { ports.continuation.finish() }
        try await start(ports.continuation)
    }
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: Logger(label: "test-server") { _ in SwiftLogNoOpLogHandler() }))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await tasks.next()
            throw CancellationError()
        }
        let outcome: Swift.Result<Result, any Error>
        do {
            outcome = .success(try await body(port))
        } catch {
            outcome = .failure(error)
        }
        await group.triggerGracefulShutdown()
        tasks.addTask {
            try await Task.sleep(for: .seconds(5))
            throw CancellationError()
        }
        _ = try? await tasks.next()
        tasks.cancelAll()
        return try outcome.get()
    }
}

/// A closure as a service of a `ServiceGroup`.
struct ClosureService: Service {
    let body: @Sendable () async throws -> Void

    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }

    func run() async throws { try await body() }
}

/// Recorded-format outputs of tools, shared by the parser and collector tests.
public enum SampleOutputs {
    /// `ipmitool dcmi power reading`.
    public static let ipmitool = """

            Instantaneous power reading:                   180 Watts
            Minimum during sampling period:                 90 Watts
            Maximum during sampling period:                310 Watts
            Average power reading over sample period:      175 Watts
            IPMI timestamp:                           Sat Mar  1 10:11:12 2025
            Sampling period:                          00000001 Seconds.
            Power reading state is:                   activated

        """
}
