import CEEMSCore

/// The devices the kubelet gave a pod's containers (PodResources `List`).
struct PodDevices: Sendable, Equatable {
    var namespace: String
    var name: String
    /// Device ids as the device plugins report them (NVIDIA `GPU-…`/`MIG-…`, AMD PCI address or
    /// `amdgpu_xcp.N`), with repeats for time-sliced replicas.
    var deviceIDs: [String]
}

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

/// The kubelet PodResources messages, decoded by hand from the protobuf wire format (the few fields the
/// GPU mapping needs), and the gRPC message framing.
enum PodResourcesMessages {
    /// The kubelet's own limit on a List answer.
    static let maximumMessageSize = 128 << 20

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
