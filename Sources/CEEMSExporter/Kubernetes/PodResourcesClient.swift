import CEEMSCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// Errors of the kubelet PodResources call.
enum PodResourcesError: Error, CustomStringConvertible {
    case timeout(Duration)
    case status(code: String, message: String)
    case protocolError(String)
    case messageTooLarge(Int)

    var description: String {
        switch self {
        case .timeout(let limit): "no answer from the kubelet PodResources socket within \(limit)"
        case .status(let code, let message): "PodResources List failed: grpc-status \(code) \(message)"
        case .protocolError(let reason): "PodResources List: \(reason)"
        case .messageTooLarge(let size): "PodResources List: answer of \(size) bytes exceeds the limit"
        }
    }
}

/// Calls the kubelet's `v1.PodResourcesLister/List` over its unix socket: one gRPC unary call on an HTTP/2
/// (prior knowledge) connection, opened and closed per call. The messages are decoded by hand (a handful of
/// fields), so no gRPC or protobuf code generation is needed.
struct PodResourcesClient: Sendable {
    static let method = "/v1.PodResourcesLister/List"
    /// The kubelet's own limit on a List answer.
    static let maximumMessageSize = 128 << 20

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
        return try Self.decodeList(message)
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
                    guard body.readableBytes + bytes.readableBytes <= Self.maximumMessageSize + 5 else {
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
            return try Self.unframe(Array(buffer: body))
        }
    }

    /// The single message of a gRPC body: flag byte (0 = not compressed), 4-byte big-endian length, message.
    static func unframe(_ body: [UInt8]) throws -> [UInt8] {
        guard body.count >= 5 else { throw PodResourcesError.protocolError("empty answer") }
        guard body[0] == 0 else { throw PodResourcesError.protocolError("compressed answer") }
        let length = body[1...4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximumMessageSize else { throw PodResourcesError.messageTooLarge(length) }
        guard body.count >= 5 + length else { throw PodResourcesError.protocolError("truncated answer") }
        return Array(body[5..<(5 + length)])
    }

    /// `ListPodResourcesResponse{ repeated PodResources pod_resources = 1 }`, with `PodResources{ name = 1,
    /// namespace = 2, repeated ContainerResources containers = 3 }`, `ContainerResources{ name = 1, repeated
    /// ContainerDevices devices = 2 }` and `ContainerDevices{ resource_name = 1, repeated string device_ids = 2 }`.
    static func decodeList(_ message: [UInt8]) throws -> [PodDevices] {
        var pods: [PodDevices] = []
        var reader = ProtobufReader(message[...])
        while let field = try reader.next() {
            guard case .lengthDelimited(1, let podBytes) = field else { continue }
            var pod = PodDevices(namespace: "", name: "", deviceIDs: [])
            var podReader = ProtobufReader(podBytes)
            while let podField = try podReader.next() {
                switch podField {
                case .lengthDelimited(1, let bytes): pod.name = ProtobufReader<ArraySlice<UInt8>>.string(bytes)
                case .lengthDelimited(2, let bytes): pod.namespace = ProtobufReader<ArraySlice<UInt8>>.string(bytes)
                case .lengthDelimited(3, let container): pod.deviceIDs += try deviceIDs(ofContainer: container)
                default: continue
                }
            }
            pods.append(pod)
        }
        return pods
    }

    private static func deviceIDs(ofContainer bytes: ArraySlice<UInt8>) throws -> [String] {
        var ids: [String] = []
        var reader = ProtobufReader(bytes)
        while let field = try reader.next() {
            guard case .lengthDelimited(2, let devices) = field else { continue }
            var deviceReader = ProtobufReader(devices)
            while let deviceField = try deviceReader.next() {
                if case .lengthDelimited(2, let id) = deviceField {
                    ids.append(ProtobufReader<ArraySlice<UInt8>>.string(id))
                }
            }
        }
        return ids
    }
}
