/// Runs a server for the duration of `body`, which receives the port the server reported through the
/// continuation given to `start` (servers in tests listen on port 0). The server is cancelled afterwards.
public func withRunningService<Result: Sendable>(
    _ start: @escaping @Sendable (AsyncStream<Int>.Continuation) async throws -> Void,
    _ body: @Sendable (Int) async throws -> Result
) async throws -> Result {
    let ports = AsyncStream<Int>.makeStream()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            // A server that fails to start ends the stream, so the caller sees its error instead of waiting.
            defer { ports.continuation.finish() }
            try await start(ports.continuation)
        }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await group.next()
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await body(port)
    }
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
