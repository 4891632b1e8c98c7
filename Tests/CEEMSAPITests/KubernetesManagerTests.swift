import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import CEEMSAPI

/// A fake Kubernetes API server with pods and role bindings written for these tests in the API's JSON format.
enum FakeKubernetes {
    static func pod(
        uid: String, namespace: String, phase: String, creator: String?, created: String = "2024-03-04T08:00:00Z",
        readyAt: String? = "2024-03-04T08:00:10Z", ready: Bool = true,
        limits: String = #"{"cpu":"500m","memory":"1Gi"}"#,
        deletion: String? = nil
    ) -> String {
        var conditions: [String] = []
        if let readyAt {
            conditions.append(
                #"{"type":"PodReadyToStartContainers","status":"True","lastTransitionTime":"\#(readyAt)"}"#)
            conditions.append(
                #"{"type":"Ready","status":"\#(ready ? "True" : "False")","reason":"\#(ready ? "" : "ContainersNotReady")","lastTransitionTime":"\#(readyAt)"}"#
            )
        }
        let annotations = creator.map { #"{"ceems.io/created-by":"\#($0)"}"# } ?? "{}"
        return """
            {"metadata":{"name":"pod-\(uid)","namespace":"\(namespace)","uid":"\(uid)","creationTimestamp":"\(created)",
             \(deletion.map { "\"deletionTimestamp\":\"\($0)\"," } ?? "")
             "annotations":\(annotations),"labels":{"app":"a-\(uid)"}},
             "spec":{"containers":[{"name":"c","resources":{"limits":\(limits)}}]},
             "status":{"phase":"\(phase)","qosClass":"Guaranteed","conditions":[\(conditions.joined(separator: ","))]}}
            """
    }

    static let firstList = [
        pod(
            uid: "u-run", namespace: "ns1", phase: "Running", creator: "dave",
            limits: #"{"cpu":"500m","memory":"1Gi","nvidia.com/gpu":"1"}"#),
        pod(uid: "u-sa", namespace: "ns2", phase: "Running", creator: "system:serviceaccount:ns2:default"),
        pod(uid: "u-pend", namespace: "ns1", phase: "Pending", creator: "dave", readyAt: nil),
        pod(
            uid: "u-done", namespace: "ns1", phase: "Succeeded", creator: "erin", ready: false,
            deletion: "2024-03-04T20:00:00Z"),
    ]

    /// A pod created and deleted between two lists: only the watch sees it.
    static let shortLived = pod(
        uid: "u-short", namespace: "ns1", phase: "Succeeded", creator: "dave", created: "2024-03-04T14:00:00Z",
        readyAt: "2024-03-04T14:00:10Z", ready: false, deletion: "2024-03-04T15:00:00Z"
    ).replacingOccurrences(of: "\n", with: "")

    static func routes(_ router: Router<BasicRequestContext>, calls: Counter, watches: Counter = Counter()) {
        @Sendable func json(_ text: String) -> Response {
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/api/v1/pods") { request, _ in
            guard request.headers[.authorization] == "Bearer test-token" else {
                return Response(status: .unauthorized)
            }
            if request.uri.queryParameters["watch"] == "1" {
                watches.increment()
                guard watches.value == 1, request.uri.queryParameters["resourceVersion"] == "100" else {
                    try await Task.sleep(for: .milliseconds(200))
                    return json("")
                }
                return json(
                    #"{"type":"ADDED","object":\#(shortLived)}"# + "\n" + #"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"105"}}}"#
                        + "\n" + #"{"type":"DELETED","object":\#(shortLived)}"# + "\n")
            }
            calls.increment()
            let pods = calls.value <= 2 ? firstList : Array(firstList.prefix(3))
            // Two pages: the continue token is followed.
            if request.uri.queryParameters["continue"] == "page2" {
                return json(#"{"kind":"PodList","metadata":{},"items":[\#(pods.dropFirst(2).joined(separator: ","))]}"#)
            }
            return json(
                #"{"kind":"PodList","metadata":{"continue":"page2"},"items":[\#(pods.prefix(2).joined(separator: ","))]}"#
            )
        }
        router.get("/apis/rbac.authorization.k8s.io/v1/rolebindings") { _, _ in
            json(
                #"{"items":[{"metadata":{"name":"rb","namespace":"ns1"},"subjects":[{"kind":"User","name":"erin"},{"kind":"ServiceAccount","name":"x"}]}]}"#
            )
        }
    }
}

@Suite struct KubernetesManagerTests {
    @Test func podsBecomeUnitsAndNamespacesProjects() async throws {
        let calls = Counter()
        let watches = Counter()
        let router = Router(context: BasicRequestContext.self)
        FakeKubernetes.routes(router, calls: calls, watches: watches)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withFakeServer(router) { port in
            let kubeconfig = directory + "/kubeconfig"
            try """
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster: {server: "http://127.0.0.1:\(port)"}
            users:
            - name: u
              user: {token: test-token}
            contexts:
            - name: x
              context: {cluster: c, user: u}
            current-context: x
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            try "users:\n  ns3:\n    - frank\n  ns1:\n    - gail\n".write(
                toFile: directory + "/users.yaml", atomically: true, encoding: .utf8)
            let cluster = try YAMLConfig.decode(
                APIServerConfig.Cluster.self,
                from: """
                    id: k8s-0
                    manager: k8s
                    extra_config:
                      kubeconfig_file: \(kubeconfig)
                      ns_users_list_file: \(directory)/users.yaml
                    """)
            let manager = try KubernetesManager(cluster: cluster, logger: quietLogger, now: { APIFixtures.now })
            let window = UpdateWindow(
                start: WallClock.parse("2024-03-04T00:00:00+0100")!, end: WallClock.parse("2024-03-05T00:00:00+0100")!,
                zone: APIFixtures.paris)
            let units = try await manager.fetchUnits(window: window)
            let (users, projects) = try await manager.fetchUsersAndProjects(window: window)
            let byID = Dictionary(uniqueKeysWithValues: units.map { ($0.uuid, $0) })
            let running = try #require(byID["u-run"])
            #expect(running.state == "Running/Ready" && running.user == "dave" && running.project == "ns1")
            #expect(running.startedAt == "2024-03-04T09:00:10+0100" && running.endedAt == "N/A")
            // Ready at 08:00:10Z, window end 23:00Z.
            #expect(running.totalTime["walltime"] == 53990)
            #expect(running.totalTime["alloc_cputime"] == 26995)
            #expect(running.totalTime["alloc_cpumemtime"] == 55_285_760)
            #expect(running.totalTime["alloc_gputime"] == 53990)
            var writer = JSONWriter()
            running.write(to: &writer)
            #expect(writer.text.contains(#""allocation":{"mem":1073741824,"nvidia.com/gpu":1,"vcpus":0.5}"#))
            #expect(
                writer.text.contains(
                    #""tags":{"annotations":{"ceems.io/created-by":"dave"},"labels":{"app":"a-u-run"},"qos":"Guaranteed"}"#
                ))
            #expect(byID["u-sa"]?.user == "ns2:unknown")
            #expect(byID["u-pend"]?.state == "Pending" && byID["u-pend"]?.elapsed == "N/A")
            #expect(byID["u-pend"]?.totalTime["walltime"] == 0)
            // Succeeded but not yet deleted: no active time.
            #expect(byID["u-done"]?.endedAt == "N/A" && byID["u-done"]?.totalTime["walltime"] == 0)

            #expect(projects.map(\.name) == ["ns1", "ns3"])
            #expect(projects.first?.users == ["dave", "erin", "gail"])
            #expect(users.map(\.name) == ["dave", "erin", "frank", "gail"])
            #expect(users.first { $0.name == "frank" }?.projects == ["ns3"])

            // The finished pod disappears: deleted at its deletionTimestamp.
            let later = try await manager.fetchUnits(window: window)
            let done = try #require(later.first { $0.uuid == "u-done" })
            #expect(done.endedAt == "2024-03-04T21:00:00+0100")
            #expect(done.totalTime["walltime"] == 43190)  // 20:00:00Z − 08:00:10Z
            #expect(done.elapsed == "12:00:00")
            await manager.shutdown()
        }
    }

    @Test func quantities() {
        #expect(KubernetesManager.cores("250m") == 0.25)
        #expect(KubernetesManager.cores("2") == 2)
        #expect(KubernetesManager.bytes("512Mi") == 536_870_912)
        #expect(KubernetesManager.bytes("1G") == 1e9)
        #expect(KubernetesManager.bytes("junk") == nil)
    }
}
