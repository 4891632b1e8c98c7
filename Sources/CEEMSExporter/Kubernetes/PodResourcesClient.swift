import CEEMSCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// Calls the kubelet's `v1.PodResourcesLister/List` over its unix socket: one gRPC unary call on an HTTP/2
/// (prior knowledge) connection, opened and closed per call. The messages are decoded by hand (a handful of
/// fields), so no gRPC or protobuf code generation is needed.
struct PodResourcesClient: Sendable {
    static let method = "/v1.PodResourcesLister/List"

    let socketPath: String
    let timeout: Duration

    func list() async throws -> [PodDevices] {
        let message = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask { try await self.call() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let message = first else {
                throw PodResourcesError.timeout(timeout)
            }
            return message
        }
        return try PodResourcesMessages.decodeList(message)
    }

    private func call() async throws -> [UInt8] {
        let (channel, multiplexer) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(1))
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(
                        mode: .client, streamDelegate: nil, configuration: .init()
                    ) { stream in
                        // The kubelet never opens streams towards us.
                        stream.eventLoop.makeSucceededVoidFuture()
                    }
                    return (channel, multiplexer)
                }
            }
        defer { channel.close(promise: nil) }
        let stream = try await multiplexer.openStream { stream in
            stream.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(
                    wrappingChannelSynchronously: stream)
            }
        }
        return try await stream.executeThenClose { inbound, outbound in
            let headers: HPACKHeaders = [
                ":method": "POST", ":scheme": "http", ":path": Self.method, ":authority": "localhost",
                "content-type": "application/grpc", "te": "trailers", "user-agent": "ceems_exporter",
            ]
            try await outbound.write(.headers(.init(headers: headers)))
            // An empty ListPodResourcesRequest: not compressed, length 0.
            let request = ByteBuffer(bytes: [0, 0, 0, 0, 0])
            try await outbound.write(.data(.init(data: .byteBuffer(request), endStream: true)))

            var body = ByteBuffer()
            var status: String?
            var statusMessage = ""
            var sawHeaders = false
            for try await payload in inbound {
                switch payload {
                case .headers(let frame):
                    if !sawHeaders, let code = frame.headers.first(name: ":status"), code != "200" {
                        throw PodResourcesError.protocolError("HTTP status \(code)")
                    }
                    sawHeaders = true
                    if let code = frame.headers.first(name: "grpc-status") {
                        status = code
                        statusMessage = frame.headers.first(name: "grpc-message") ?? ""
                    }
                case .data(let frame):
                    guard case .byteBuffer(var bytes) = frame.data else { continue }
                    guard body.readableBytes + bytes.readableBytes <= PodResourcesMessages.maximumMessageSize + 5 else {
                        throw PodResourcesError.messageTooLarge(body.readableBytes + bytes.readableBytes)
                    }
                    body.writeBuffer(&bytes)
                case .rstStream(let frame):
                    throw PodResourcesError.protocolError("stream reset (\(frame))")
                default:
                    continue
                }
            }
            guard let status else { throw PodResourcesError.protocolError("answer without grpc-status") }
            guard status == "0" else { throw PodResourcesError.status(code: status, message: statusMessage) }
            return try PodResourcesMessages.unframe(Array(buffer: body))
        }
    }
}
