import CEEMSCore

/// Annotations the controller stamps (k8s-admission-controller.md §1).
public enum CreatorAnnotation {
    public static let user = "ceems.io/created-by"
    public static let uid = "ceems.io/created-by-uid"

    /// A user is a service account when its name contains `system:serviceaccount`.
    public static func isServiceAccount(_ user: String) -> Bool { user.contains("system:serviceaccount") }
}

/// One JSON Patch `add` (key order `op`, `path`, `from`, `value` as the reference writes it, §3.3).
public struct PatchOperation: Sendable, Equatable {
    public var path: String
    public var value: JSONValue

    /// JSON Pointer escaping of one reference token.
    public static func escape(_ token: String) -> String {
        var escaped = ""
        for character in token {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// The answer of a hook to one AdmissionReview.
public struct AdmissionDecision: Sendable, Equatable {
    public var allowed: Bool
    public var message: String?
    public var patch: [PatchOperation]

    public init(allowed: Bool, message: String?, patch: [PatchOperation]) {
        self.allowed = allowed
        self.message = message
        self.patch = patch
    }

    public static let allow = AdmissionDecision(allowed: true, message: nil, patch: [])
}

/// §4: the annotations a created or updated object needs, as patch operations.
public enum CreatorPatch {
    /// The patch for `object` (a Pod, a workload with a pod template, or anything else: no patch).
    public static func operations(for object: JSONValue, requesterName: String, requesterUID: String) -> [PatchOperation] {
        let kind = object["kind"]?.stringValue ?? ""
        let apiVersion = object["apiVersion"]?.stringValue ?? ""
        let requester = (requesterName, requesterUID)
        switch (apiVersion, kind) {
        case ("v1", "Pod"):
            let existing = annotations(object["metadata"]) ?? [:]
            let current = existing[CreatorAnnotation.user]
            if current == nil
                || (CreatorAnnotation.isServiceAccount(current!) && !CreatorAnnotation.isServiceAccount(requesterName))
            {
                return set(requester, at: "/metadata/annotations", existing: annotations(object["metadata"]))
            }
            return []
        case ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"), ("batch/v1", "Job"):
            return template(object, template: object["spec"]?["template"], path: "/spec/template/metadata/annotations", requester: requester)
        case ("batch/v1", "CronJob"):
            return template(
                object, template: object["spec"]?["jobTemplate"]?["spec"]?["template"],
                path: "/spec/jobTemplate/spec/template/metadata/annotations", requester: requester)
        default:
            return []
        }
    }

    static func template(
        _ object: JSONValue, template: JSONValue?, path: String, requester: (String, String)
    ) -> [PatchOperation] {
        let own = annotations(object["metadata"]) ?? [:]
        let templateAnnotations = annotations(template?["metadata"])
        if let user = own[CreatorAnnotation.user], !user.isEmpty, !CreatorAnnotation.isServiceAccount(user) {
            return set((user, own[CreatorAnnotation.uid] ?? ""), at: path, existing: templateAnnotations)
        }
        if let user = templateAnnotations?[CreatorAnnotation.user], !user.isEmpty,
            !CreatorAnnotation.isServiceAccount(user)
        {
            return []
        }
        return set(requester, at: path, existing: templateAnnotations)
    }

    /// The whole map when there is none; one `add` per key otherwise, other annotations untouched (§8 #1).
    static func set(_ creator: (String, String), at path: String, existing: [String: String]?) -> [PatchOperation] {
        guard existing != nil else {
            return [
                PatchOperation(
                    path: path,
                    value: .object([(CreatorAnnotation.user, .string(creator.0)), (CreatorAnnotation.uid, .string(creator.1))]))
            ]
        }
        return [
            PatchOperation(path: path + "/" + PatchOperation.escape(CreatorAnnotation.user), value: .string(creator.0)),
            PatchOperation(path: path + "/" + PatchOperation.escape(CreatorAnnotation.uid), value: .string(creator.1)),
        ]
    }

    /// `metadata.annotations`, nil when absent or null.
    static func annotations(_ metadata: JSONValue?) -> [String: String]? {
        guard case .object(let members)? = metadata?["annotations"] else { return nil }
        var map: [String: String] = [:]
        for (key, value) in members { map[key] = value.stringValue ?? "" }
        return map
    }
}

/// Parsing of AdmissionReview requests and writing of their responses (§3).
public enum AdmissionReview {
    public enum Failure: Error, Equatable {
        case undecodable(String)
        case unsupportedKind
        case missingRequest

        /// The plain-text body (§3.1).
        public var body: String {
            switch self {
            case .undecodable(let reason): "could not deserialize request: \(reason)"
            case .unsupportedKind: "unsupported group version kind"
            case .missingRequest: "malformed admission review: request is nil"
            }
        }
    }

    public struct Request: Sendable {
        public var apiVersion: String
        public var uid: String
        public var operation: String
        public var username: String
        public var userUID: String
        public var object: JSONValue?
    }

    public static let versions = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]

    public static func parse(_ body: [UInt8]) throws(Failure) -> Request {
        guard let document = body.withUnsafeBufferPointer({ JSONValue.parse(bytes: $0) }) else {
            throw .undecodable(body.isEmpty ? "unexpected end of JSON input" : "invalid JSON")
        }
        guard case .object = document else { throw .undecodable("not a JSON object") }
        let apiVersion = document["apiVersion"]?.stringValue ?? ""
        guard document["kind"]?.stringValue == "AdmissionReview", versions.contains(apiVersion) else {
            throw .unsupportedKind
        }
        guard let request = document["request"], case .object = request else { throw .missingRequest }
        return Request(
            apiVersion: apiVersion, uid: request["uid"]?.stringValue ?? "",
            operation: request["operation"]?.stringValue ?? "",
            username: request["userInfo"]?["username"]?.stringValue ?? "",
            userUID: request["userInfo"]?["uid"]?.stringValue ?? "", object: request["object"])
    }

    /// The response document, one line.
    public static func response(to request: Request, _ decision: AdmissionDecision) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"kind\":\"AdmissionReview\",\"apiVersion\":")
        writer.string(request.apiVersion)
        writer.raw(",\"response\":{\"uid\":")
        writer.string(request.uid)
        writer.raw(",\"allowed\":")
        writer.bool(decision.allowed)
        writer.raw(",\"status\":{\"metadata\":{}")
        if let message = decision.message {
            writer.raw(",\"message\":")
            writer.string(message)
        }
        writer.raw("}")
        if !decision.patch.isEmpty {
            writer.raw(",\"patch\":")
            writer.string(Base64.encode(patchBytes(decision.patch)))
            writer.raw(",\"patchType\":\"JSONPatch\"")
        }
        writer.raw("}}\n")
        return writer.bytes
    }

    /// The JSON Patch array, annotation maps with sorted keys.
    public static func patchBytes(_ operations: [PatchOperation]) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("[")
        for (index, operation) in operations.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"op\":\"add\",\"path\":")
            writer.string(operation.path)
            writer.raw(",\"from\":\"\",\"value\":")
            writer.value(operation.value, sortKeys: true)
            writer.raw("}")
        }
        writer.raw("]")
        return writer.bytes
    }
}

/// The two hooks (§3.2, §4).
public enum AdmissionHook: String, Sendable {
    case mutate, validate

    /// The decision and whether a patch was needed (for the validate hook's warning).
    public func decide(_ request: AdmissionReview.Request) -> (AdmissionDecision, needed: Bool) {
        switch request.operation {
        case "CREATE", "UPDATE":
            let patch = request.object.map {
                CreatorPatch.operations(for: $0, requesterName: request.username, requesterUID: request.userUID)
            } ?? []
            switch self {
            case .mutate: return (AdmissionDecision(allowed: true, message: nil, patch: patch), !patch.isEmpty)
            case .validate: return (.allow, !patch.isEmpty)
            }
        case "DELETE", "CONNECT":
            return (.allow, false)
        default:
            return (AdmissionDecision(allowed: false, message: "Invalid operation: \(request.operation)", patch: []), false)
        }
    }
}
