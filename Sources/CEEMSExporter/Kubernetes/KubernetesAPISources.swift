import CEEMSCore
import CEEMSWeb
import Foundation

/// The live sources of the Kubernetes GPU mapping: the pods of this node from the API server and their devices
/// from the kubelet's PodResources socket, each call bounded by `timeout` (1 s, as a scrape must not wait).
final class KubernetesAPISources: KubernetesSources {
    let endpoint: KubernetesEndpoint
    let nodeName: String
    let podResources: PodResourcesClient
    let timeout: Duration
    private let client: ConfiguredHTTPClient

    init(endpoint: KubernetesEndpoint, nodeName: String, socketPath: String, timeout: Duration = .seconds(1)) throws {
        self.endpoint = endpoint
        self.nodeName = nodeName
        self.timeout = timeout
        self.podResources = PodResourcesClient(socketPath: socketPath, timeout: timeout)
        self.client = try ConfiguredHTTPClient(config: endpoint.client, connectTimeout: timeout)
    }

    /// `GET /api/v1/pods`, all namespaces, only this node's pods when `NODE_NAME` is known.
    var podsURL: String {
        var url = endpoint.server + "/api/v1/pods"
        if !nodeName.isEmpty { url += "?fieldSelector=" + Self.percentEncoded("spec.nodeName=" + nodeName) }
        return url
    }

    func pods() async throws -> [PodIdentity] {
        let result = try await client.execute(url: podsURL, headers: [("Accept", "application/json")], timeout: timeout)
        guard result.status == 200 else {
            throw KubernetesAPIError.status(result.status, String(result.text.prefix(200)))
        }
        return try Self.decodePods(result.body)
    }

    func podDevices() async throws -> [PodDevices] {
        try await podResources.list()
    }

    func shutdown() async {
        await client.shutdown()
    }

    private struct PodList: Decodable {
        struct Pod: Decodable {
            struct Metadata: Decodable {
                var name: String?
                var namespace: String?
                var uid: String?
            }
            var metadata: Metadata?
        }
        var items: [Pod]?
    }

    static func decodePods(_ body: [UInt8]) throws -> [PodIdentity] {
        let list: PodList
        do {
            list = try JSONDecoder().decode(PodList.self, from: Data(body))
        } catch {
            throw KubernetesAPIError.invalidAnswer("\(error)")
        }
        return (list.items ?? []).compactMap { pod in
            guard let metadata = pod.metadata, let name = metadata.name, let uid = metadata.uid else { return nil }
            return PodIdentity(namespace: metadata.namespace ?? "", name: name, uid: uid)
        }
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters stay).
    static func percentEncoded(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}

enum KubernetesAPIError: Error, CustomStringConvertible {
    case status(Int, String)
    case invalidAnswer(String)

    var description: String {
        switch self {
        case .status(let code, let body): "Kubernetes API server answered \(code): \(body)"
        case .invalidAnswer(let reason): "Kubernetes API server answer not understood: \(reason)"
        }
    }
}
