import AsyncHTTPClient
import CEEMSAdmission
import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// AdmissionReview documents written for these tests, in the shapes the kube-apiserver sends.
enum Reviews {
    static func review(
        apiVersion: String = "admission.k8s.io/v1", operation: String = "CREATE", user: String = "foo", uid: String = "1234",
        object: String
    ) -> String {
        #"{"kind":"AdmissionReview","apiVersion":"\#(apiVersion)","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"\#(operation)","userInfo":{"username":"\#(user)","uid":"\#(uid)","groups":["system:authenticated"]},"object":\#(object)}}"#
    }

    static func pod(annotations: String? = nil) -> String {
        let metadata = annotations.map { #","annotations":\#($0)"# } ?? ""
        return #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"\#(metadata)},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#
    }

    static func deployment(annotations: String? = nil, templateAnnotations: String? = nil, kind: String = "Deployment", apiVersion: String = "apps/v1") -> String {
        let metadata = annotations.map { #","annotations":\#($0)"# } ?? ""
        let template = templateAnnotations.map { #","annotations":\#($0)"# } ?? ""
        return #"{"apiVersion":"\#(apiVersion)","kind":"\#(kind)","metadata":{"name":"d"\#(metadata)},"spec":{"replicas":1,"template":{"metadata":{"labels":{"app":"d"}\#(template)},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#
    }

    static func cronJob(templateAnnotations: String? = nil) -> String {
        let template = templateAnnotations.map { #","annotations":\#($0)"# } ?? ""
        return #"{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"metadata":{"labels":{}\#(template)},"spec":{"containers":[]}}}}}}"#
    }

    static let fooAnnotations = #"{"ceems.io/created-by":"foo","ceems.io/created-by-uid":"1234","team":"x"}"#
    static let serviceAccountAnnotations = #"{"ceems.io/created-by":"system:serviceaccount:kube-system:job-controller","ceems.io/created-by-uid":"42"}"#
}

@Suite struct AdmissionTests {
    func decide(_ hook: AdmissionHook, _ text: String) throws -> (AdmissionDecision, String) {
        let request = try AdmissionReview.parse(Array(text.utf8))
        let (decision, _) = hook.decide(request)
        return (decision, String(decoding: AdmissionReview.patchBytes(decision.patch), as: UTF8.self))
    }

    @Test func podsAndTheBasicScenarios() throws {
        for version in AdmissionReview.versions {
            for operation in ["CREATE", "UPDATE"] {
                // Without annotations: the whole map from the requester.
                let (created, patch) = try decide(.mutate, Reviews.review(apiVersion: version, operation: operation, object: Reviews.pod()))
                #expect(created.allowed)
                #expect(
                    patch
                        == #"[{"op":"add","path":"/metadata/annotations","from":"","value":{"ceems.io/created-by":"foo","ceems.io/created-by-uid":"1234"}}]"#
                )
                // The validation hook never patches nor denies.
                let (validated, _) = try decide(.validate, Reviews.review(apiVersion: version, operation: operation, object: Reviews.pod()))
                #expect(validated == .allow)
                // Already annotated by a user: kept, even for another requester.
                let (kept, _) = try decide(
                    .mutate, Reviews.review(apiVersion: version, operation: operation, user: "bar", uid: "5678", object: Reviews.pod(annotations: Reviews.fooAnnotations)))
                #expect(kept == .allow)
            }
        }
        // Annotated by a service account, updated by a user: per-key adds, other annotations untouched (§8 #1).
        let (replaced, patch) = try decide(
            .mutate, Reviews.review(operation: "UPDATE", user: "alice", uid: "7", object: Reviews.pod(annotations: Reviews.serviceAccountAnnotations)))
        #expect(replaced.allowed)
        #expect(
            patch
                == #"[{"op":"add","path":"/metadata/annotations/ceems.io~1created-by","from":"","value":"alice"},{"op":"add","path":"/metadata/annotations/ceems.io~1created-by-uid","from":"","value":"7"}]"#
        )
        // A service account annotating over a service account: no patch.
        let (none, _) = try decide(
            .mutate, Reviews.review(user: "system:serviceaccount:ns:sa", object: Reviews.pod(annotations: Reviews.serviceAccountAnnotations)))
        #expect(none.patch.isEmpty)
        // Other annotations of a pod without the creator ones survive.
        let (other, otherPatch) = try decide(.mutate, Reviews.review(object: Reviews.pod(annotations: #"{"team":"x"}"#)))
        #expect(other.patch.count == 2)
        #expect(otherPatch.contains(#""path":"/metadata/annotations/ceems.io~1created-by""#))
    }

    @Test func workloadTemplates() throws {
        let template = "/spec/template/metadata/annotations"
        // with-annotations(-sa): the object's user goes to the template, whoever asks.
        for user in ["system:serviceaccount:test", "bar"] {
            let (decision, _) = try decide(
                .mutate, Reviews.review(user: user, uid: "9999", object: Reviews.deployment(annotations: Reviews.fooAnnotations)))
            #expect(decision.patch.first?.path == template)
            #expect(decision.patch.first?.value == .object([("ceems.io/created-by", .string("foo")), ("ceems.io/created-by-uid", .string("1234"))]))
        }
        // with-template-annotations: a user already in the template → no patch.
        let (kept, _) = try decide(.mutate, Reviews.review(user: "bar", object: Reviews.deployment(templateAnnotations: Reviews.fooAnnotations)))
        #expect(kept.patch.isEmpty)
        // with-template-annotations-sa: the requester replaces the service account, per key.
        let (replaced, _) = try decide(.mutate, Reviews.review(object: Reviews.deployment(templateAnnotations: Reviews.serviceAccountAnnotations)))
        #expect(replaced.patch.map(\.path) == [template + "/ceems.io~1created-by", template + "/ceems.io~1created-by-uid"])
        // without-annotations(-sa): the requester, service account included.
        let (sa, _) = try decide(.mutate, Reviews.review(user: "system:serviceaccount:test", uid: "9999", object: Reviews.deployment()))
        #expect(sa.patch.first?.value == .object([("ceems.io/created-by", .string("system:serviceaccount:test")), ("ceems.io/created-by-uid", .string("9999"))]))
        for (kind, apiVersion) in [("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("Job", "batch/v1")] {
            let (decision, _) = try decide(.mutate, Reviews.review(object: Reviews.deployment(kind: kind, apiVersion: apiVersion)))
            #expect(decision.patch.first?.path == template, "\(kind)")
        }
        let (cron, _) = try decide(.mutate, Reviews.review(object: Reviews.cronJob()))
        #expect(cron.patch.first?.path == "/spec/jobTemplate/spec/template/metadata/annotations")
        // Kinds outside §4 and undecodable objects (CRDs) are allowed untouched (§8 #3).
        for object in [#"{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{}}"#, #"{"kind":"Pod"}"#, "null", "[1,2]"] {
            let (decision, _) = try decide(.mutate, Reviews.review(object: object))
            #expect(decision == .allow, "\(object)")
        }
    }

    @Test func operationsAndMalformedReviews() throws {
        for operation in ["DELETE", "CONNECT"] {
            let (decision, _) = try decide(.mutate, Reviews.review(operation: operation, object: Reviews.pod()))
            #expect(decision == .allow)
        }
        let (invalid, _) = try decide(.mutate, Reviews.review(operation: "PATCH", object: Reviews.pod()))
        #expect(invalid == AdmissionDecision(allowed: false, message: "Invalid operation: PATCH", patch: []))
        #expect(throws: AdmissionReview.Failure.unsupportedKind) {
            try AdmissionReview.parse(Array(#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v2","request":{}}"#.utf8))
        }
        #expect(throws: AdmissionReview.Failure.missingRequest) {
            try AdmissionReview.parse(Array(#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#.utf8))
        }
        #expect(throws: AdmissionReview.Failure.self) { try AdmissionReview.parse(Array("{not json".utf8)) }
        // Garbage never crashes the parser.
        var random = SeededRandom(seed: 7)
        let valid = Array(Reviews.review(object: Reviews.deployment(annotations: Reviews.fooAnnotations)).utf8)
        for _ in 0..<2000 {
            if let request = try? AdmissionReview.parse(random.mutate(valid)) {
                _ = AdmissionHook.mutate.decide(request)
            }
        }
    }

    @Test func responsesOverHTTP() async throws {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let ports = AsyncStream<Int>.makeStream()
        let server = try buildAdmissionApplication(
            addresses: [ListenAddress(host: "127.0.0.1", port: 0)], webConfigFile: nil, logger: logger,
            onListening: { _, port in ports.continuation.yield(port) })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            var iterator = ports.stream.makeAsyncIterator()
            let port = try #require(await iterator.next())
            func send(_ path: String, method: HTTPMethod = .POST, contentType: String? = "application/json", body: String = "") async throws -> (Int, String, HTTPHeaders) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.method = method
                if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
                if !body.isEmpty { request.body = .bytes(ByteBuffer(string: body)) }
                let response = try await client.execute(request, timeout: .seconds(10))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                return (Int(response.status.code), text, response.headers)
            }
            let (status, text, headers) = try await send("/ceems-admission-controller/mutate", body: Reviews.review(object: Reviews.pod()))
            #expect(status == 200)
            #expect(headers["Content-Type"].first == "application/json")
            let patch = Base64.encode(Array(#"[{"op":"add","path":"/metadata/annotations","from":"","value":{"ceems.io/created-by":"foo","ceems.io/created-by-uid":"1234"}}]"#.utf8))
            #expect(
                text
                    == #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"status":{"metadata":{}},"patch":"\#(patch)","patchType":"JSONPatch"}}"# + "\n")
            let (_, beta, _) = try await send(
                "/ceems-admission-controller/validate", body: Reviews.review(apiVersion: "admission.k8s.io/v1beta1", object: Reviews.pod()))
            #expect(beta == #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","response":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002","allowed":true,"status":{"metadata":{}}}}"# + "\n")
            let (_, invalid, _) = try await send("/ceems-admission-controller/mutate", body: Reviews.review(operation: "PATCH", object: Reviews.pod()))
            #expect(invalid.contains(#""allowed":false,"status":{"metadata":{},"message":"Invalid operation: PATCH"}}"#))
            #expect(try await send("/ceems-admission-controller/mutate", contentType: "text/plain", body: "{}").0 == 400)
            let (typeStatus, typeBody, _) = try await send("/ceems-admission-controller/mutate", contentType: "application/json; charset=utf-8", body: "{}")
            #expect(typeStatus == 400 && typeBody == "only content type 'application/json' is supported\n")
            let (badStatus, badBody, _) = try await send("/ceems-admission-controller/mutate", body: "{]")
            #expect(badStatus == 400 && badBody.hasPrefix("could not deserialize request: "))
            let (kindStatus, kindBody, _) = try await send("/ceems-admission-controller/validate", body: #"{"kind":"Pod","apiVersion":"v1"}"#)
            #expect(kindStatus == 400 && kindBody == "unsupported group version kind\n")
            let (nilStatus, nilBody, _) = try await send("/ceems-admission-controller/validate", body: #"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}"#)
            #expect(nilStatus == 400 && nilBody == "malformed admission review: request is nil\n")
            let (health, healthBody, healthHeaders) = try await send("/health", method: .GET, contentType: nil)
            #expect(health == 200 && healthBody == "CEEMS k8s Admission Controller is healthy")
            #expect(healthHeaders["X-Content-Type-Options"].first == "nosniff")
            #expect(try await send("/ceems-admission-controller/mutate", method: .GET, contentType: nil).0 == 405)
            #expect(try await send("/health", method: .POST).0 == 405)
            #expect(try await send("/other", method: .GET, contentType: nil).0 == 404)
            group.cancelAll()
        }
        try await client.shutdown()
    }
}
