import CEEMSCore
import CEEMSTestSupport
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import Testing

@testable import CEEMSExporter

#if canImport(Glibc)
import Glibc
#endif

/// Protobuf encoding of a ListPodResourcesResponse, for the fake kubelet.
enum PodResourcesEncoding {
    static func varint(_ value: Int) -> [UInt8] {
        var value = UInt64(value)
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }

    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(payload.count) + payload
    }

    static func string(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }

    /// pods: (namespace, name, containers: [[(resource, [ids])]])
    static func list(_ pods: [(String, String, [[(String, [String])]])]) -> [UInt8] {
        var message: [UInt8] = []
        for (namespace, name, containers) in pods {
            var pod = string(1, name) + string(2, namespace)
            for (index, devices) in containers.enumerated() {
                var container = string(1, "c\(index)")
                for (resource, ids) in devices {
                    var device = string(1, resource)
                    for id in ids { device += string(2, id) }
                    device += field(3, [])  // topology, ignored
                    container += field(2, device)
                }
                container += varint(3 << 3 | 0) + varint(7)  // cpu_ids, ignored
                pod += field(3, container)
            }
            message += field(1, pod)
        }
        return message
    }
}

/// A fake kubelet PodResources server on a unix socket: answers `List` with a fixed message, or never.
final class FakeKubelet: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    let message: [UInt8]
    let grpcStatus: String
    let hang: Bool

    init(message: [UInt8], grpcStatus: String = "0", hang: Bool = false) {
        self.message = message
        self.grpcStatus = grpcStatus
        self.hang = hang
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        guard case .data(let frame) = payload, frame.endStream, !hang else { return }
        context.write(
            wrapOutboundOut(.headers(.init(headers: [":status": "200", "content-type": "application/grpc"]))),
            promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: message.count + 5)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(buffer)))), promise: nil)
        context.writeAndFlush(
            wrapOutboundOut(
                .headers(.init(headers: ["grpc-status": grpcStatus, "grpc-message": "nope"], endStream: true))),
            promise: nil)
    }

    static func serve(_ make: @escaping @Sendable () -> FakeKubelet, at path: String) async throws -> any Channel {
        unlink(path)
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.configureHTTP2Pipeline(mode: .server) { stream in
                    stream.pipeline.addHandler(make())
                }.map { _ in }
            }
            .bind(unixDomainSocketPath: path).get()
    }
}

@Suite struct KubernetesSourcesTests {
    @Test func podResourcesListIsDecodedFromTheKubeletSocket() async throws {
        let tree = try FixtureTree()
        let socket = tree.path("kubelet.sock")
        let message = PodResourcesEncoding.list([
            ("ml", "train-0", [[("nvidia.com/gpu", ["GPU-0", "GPU-1"])], [("nvidia.com/gpu", ["GPU-2::3"])]]),
            ("web", "front", []),
        ])
        let server = try await FakeKubelet.serve({ FakeKubelet(message: message) }, at: socket)
        defer { server.close(promise: nil) }
        let pods = try await PodResourcesClient(socketPath: socket, timeout: .seconds(2)).list()
        #expect(pods.count == 2)
        #expect(pods[0] == PodDevices(namespace: "ml", name: "train-0", deviceIDs: ["GPU-0", "GPU-1", "GPU-2::3"]))
        #expect(pods[1] == PodDevices(namespace: "web", name: "front", deviceIDs: []))
    }

    @Test func aKubeletThatHangsFailsOrIsMissingGivesAnErrorInTime() async throws {
        let tree = try FixtureTree()
        let hung = tree.path("hung.sock")
        let server = try await FakeKubelet.serve({ FakeKubelet(message: [], hang: true) }, at: hung)
        defer { server.close(promise: nil) }
        let start = ContinuousClock.now
        await #expect(throws: PodResourcesError.self) {
            try await PodResourcesClient(socketPath: hung, timeout: .milliseconds(300)).list()
        }
        // A kubelet that never answers would hold the call for ever: any bound shows the timeout works.
        #expect(ContinuousClock.now - start < .seconds(10))

        let failing = tree.path("failing.sock")
        let failingServer = try await FakeKubelet.serve({ FakeKubelet(message: [], grpcStatus: "7") }, at: failing)
        defer { failingServer.close(promise: nil) }
        await #expect(throws: PodResourcesError.self) {
            try await PodResourcesClient(socketPath: failing, timeout: .seconds(2)).list()
        }
        await #expect(throws: (any Error).self) {
            try await PodResourcesClient(socketPath: tree.path("absent.sock"), timeout: .seconds(1)).list()
        }
    }

    @Test func malformedMessagesAreErrors() {
        #expect(throws: (any Error).self) { try PodResourcesMessages.decodeList([0x0A, 0x10, 0x0A]) }
        #expect(throws: (any Error).self) { try PodResourcesMessages.unframe([1, 0, 0, 0, 0]) }
        #expect(throws: (any Error).self) { try PodResourcesMessages.unframe([0, 0, 0, 0, 9, 1]) }
        #expect((try? PodResourcesMessages.unframe([0, 0, 0, 0, 1, 42])) == [42])
    }

    @Test func kubeconfigCurrentContextGivesServerAndCredentials() throws {
        let tree = try FixtureTree()
        try tree.file("certs/ca.pem", "CA")
        try tree.file(
            "kube/config",
            """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: dev
              cluster: {server: "https://dev:6443", insecure-skip-tls-verify: true}
            - name: prod
              cluster:
                server: https://10.0.0.1:6443/
                certificate-authority: ../certs/ca.pem
            users:
            - name: exporter
              user:
                token: s3cr3t
                client-certificate-data: \(Base64.encode(Array("CERT".utf8)))
            contexts:
            - name: dev
              context: {cluster: dev, user: exporter}
            - name: prod
              context: {cluster: prod, user: exporter, namespace: ceems}
            """)
        let endpoint = try KubernetesEndpoint.load(kubeconfig: tree.path("kube/config"))
        #expect(endpoint.server == "https://10.0.0.1:6443")
        #expect(endpoint.client.tlsConfig.caFile == tree.path("kube/../certs/ca.pem"))
        #expect(endpoint.client.bearerToken == "s3cr3t")
        #expect(endpoint.client.tlsConfig.cert == "CERT")
        #expect(!endpoint.client.tlsConfig.insecureSkipVerify)
    }

    @Test func kubeconfigErrorsAreClear() throws {
        let tree = try FixtureTree()
        try tree.file(
            "exec",
            "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n"
                + "users: [{name: u, user: {exec: {command: aws}}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        )
        #expect(throws: ConfigError.self) { try KubernetesEndpoint.load(kubeconfig: tree.path("exec")) }
        try tree.file("nocontext", "current-context: missing\ncontexts: []\n")
        #expect(throws: ConfigError.self) { try KubernetesEndpoint.load(kubeconfig: tree.path("nocontext")) }
        #expect(throws: ConfigError.self) { try KubernetesEndpoint.load(kubeconfig: tree.path("absent")) }
        #expect(throws: ConfigError.self) { try KubernetesEndpoint.load(kubeconfig: "", environment: { _ in nil }) }
        let inCluster = try KubernetesEndpoint.load(
            kubeconfig: "",
            environment: { ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"][$0] })
        #expect(inCluster.server == "https://[fd00::1]:443")
        #expect(inCluster.client.bearerTokenFile == "/var/run/secrets/kubernetes.io/serviceaccount/token")
    }

    @Test func podsOfThisNodeComeFromTheAPIServer() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/api/v1/pods") { request, _ -> Response in
            guard request.headers[.authorization] == "Bearer t0ken",
                request.uri.query == "fieldSelector=spec.nodeName%3Dnode-1"
            else { return Response(status: .forbidden) }
            let body = """
                {"kind":"PodList","items":[
                  {"metadata":{"name":"a","namespace":"ns","uid":"u-1","labels":{"x":"y"}},"spec":{"nodeName":"node-1"}},
                  {"metadata":{"name":"b","namespace":"ns"}}]}
                """
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/broken/api/v1/pods") { _, _ in "not json" }
        try await withTestServer(router) { port in
            var client = HTTPClientConfig()
            client.bearerToken = "t0ken"
            let sources = try KubernetesAPISources(
                endpoint: KubernetesEndpoint(server: "http://127.0.0.1:\(port)", client: client), nodeName: "node-1",
                socketPath: "/nonexistent")
            let pods = try await sources.pods()
            #expect(pods == [PodIdentity(namespace: "ns", name: "a", uid: "u-1")])
            let broken = try KubernetesAPISources(
                endpoint: KubernetesEndpoint(server: "http://127.0.0.1:\(port)/broken", client: client), nodeName: "",
                socketPath: "/nonexistent")
            await #expect(throws: KubernetesAPIError.self) { try await broken.pods() }
            await sources.shutdown()
            await broken.shutdown()
        }
    }

    @Test(.enabled(if: SharedReference.available, "needs ../shared"))
    func podsGetTheirGPUsFromTheKubeletAndTheAPIServer() async throws {
        let tree = try FixtureTree()
        try UnitFixture.hostFiles(tree)
        let uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
        let pod =
            "cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(uid.replacing("-", with: "_")).slice"
        try tree.file(pod + "/cpu.stat", "usage_usec 3\nuser_usec 2\nsystem_usec 1\n")
        let socket = tree.path("kubelet.sock")
        let message = PodResourcesEncoding.list([
            ("ml", "train-0", [[("nvidia.com/gpu", ["GPU-61a65011-6571-a6d2-5ab8-66cbb6f7f9c3"])]]),
            ("other", "train-0", [[("nvidia.com/gpu", ["GPU-f124aa59-d406-d45b-9481-8fcd694e6c9e"])]]),
        ])
        let server = try await FakeKubelet.serve({ FakeKubelet(message: message) }, at: socket)
        defer { server.close(promise: nil) }
        let router = Router(context: BasicRequestContext.self)
        router.get("/api/v1/pods") { _, _ -> Response in
            let body = #"{"items":[{"metadata":{"name":"train-0","namespace":"ml","uid":"\#(uid)"}}]}"#
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        try await withTestServer(router) { port in
            var configuration = UnitFixture.configuration(tree, managers: [.k8s])
            configuration.cgroups.forceVersion = "v2"
            configuration.gpu.type = "nvidia"
            configuration.gpu.nvidiaSMIPath = try tree.script(
                "nvidia-smi", "cat '\(SharedReference.fixtures)/fakes/nvidia-smi/data/query.xml'")
            let sources = try KubernetesAPISources(
                endpoint: KubernetesEndpoint(server: "http://127.0.0.1:\(port)", client: HTTPClientConfig()),
                nodeName: "", socketPath: socket)
            let collectors = try await ComputeUnitCollectors.make(
                configuration: configuration, managers: [.k8s], logger: quietLogger, kubernetesSources: sources)
            let text = await scrape(collectors)
            for collector in collectors { await collector.shutdown() }
            #expect(
                text.contains(
                    "# HELP ceems_compute_unit_gpu_index_flag A value > 0 indicates the pod using current GPU"))
            #expect(
                text.contains(
                    #"ceems_compute_unit_gpu_index_flag{cgrouphostname="",gpuiid="",gpuuuid="GPU-61a65011-6571-a6d2-5ab8-66cbb6f7f9c3",hindex="node-1/gpu-1",hostname="node-1",index="1",manager="k8s",uuid="\#(uid)"} 1"#
                ))
            // The pod of the same name in another namespace is not this one.
            #expect(!text.contains("GPU-f124aa59"))
            #expect(text.contains(#"ceems_scrape_collector_success{collector="k8s"} 1"#))
        }
    }
}
