import CEEMSCore

/// The kind of backend a listener balances.
public enum BackendKind: String, Sendable, CaseIterable {
    case tsdb
    case pyroscope

    /// The label that carries the unit id in this backend's series.
    var unitLabel: String { self == .tsdb ? "uuid" : "service_name" }
}

/// What the LB reads out of a request before deciding (§5.1, §5.2).
public enum RequestInspector {
    /// A request whose parameters cannot be decoded at all (`400 Invalid query parameters`).
    public struct InvalidParameters: Error, Equatable {}

    /// The request parts the inspection needs.
    public struct Parts: Sendable {
        public var path: String
        public var rawQuery: String
        public var body: [UInt8]
        public var contentType: String?
        public var contentEncoding: String?

        public init(path: String, rawQuery: String, body: [UInt8], contentType: String?, contentEncoding: String?) {
            self.path = path
            self.rawQuery = rawQuery
            self.body = body
            self.contentType = contentType
            self.contentEncoding = contentEncoding
        }
    }

    static let tsdbPaths: Set<String> = ["/api/v1/query", "/api/v1/query_range", "/api/v1/labels", "/api/v1/series"]
    static let pyroscopePaths: Set<String> = [
        "/querier.v1.QuerierService/SelectMergeStacktraces", "/querier.v1.QuerierService/LabelNames",
        "/querier.v1.QuerierService/LabelValues",
    ]

    /// Whether a non-admin may use `path` (the raw request path): an exact match of the allowlist after
    /// percent-decoding, as the backend's router decodes it. Paths with empty, `.` or `..` segments are refused
    /// whatever they would normalise to.
    public static func isAllowed(path rawPath: String, kind: BackendKind) -> Bool {
        // An encoded `/` or NUL makes the path mean different things to different routers.
        let lowered = rawPath.lowercased()
        guard !lowered.contains("%2f"), !lowered.contains("%00"), !lowered.contains("%5c"),
            let path = try? FormDecoder.unescape(rawPath.utf8, plusIsSpace: false) else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.first == "", segments.count > 1,
            segments.dropFirst().allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else { return false }
        switch kind {
        case .tsdb:
            if tsdbPaths.contains(path) { return true }
            // /api/v1/label/<name>/values
            return segments.count == 6 && segments[1] == "api" && segments[2] == "v1" && segments[3] == "label"
                && segments[5] == "values"
        case .pyroscope:
            return pyroscopePaths.contains(path)
        }
    }

    /// The unit scope of a request: every `query` (query paths) or `match[]` value of the URL and of a form body
    /// for TSDB, the protobuf selectors for Pyroscope. A body the LB cannot read makes the scope denied; URL or
    /// form text that cannot be decoded throws.
    public static func scope(of parts: Parts, kind: BackendKind) throws(InvalidParameters) -> UnitScope {
        switch kind {
        case .tsdb: return try tsdbScope(parts)
        case .pyroscope: return pyroscopeScope(parts)
        }
    }

    static func tsdbScope(_ parts: Parts) throws(InvalidParameters) -> UnitScope {
        var pairs: [(String, String)]
        do {
            pairs = try FormDecoder.pairs(parts.rawQuery.utf8)
        } catch {
            throw InvalidParameters()
        }
        if !parts.body.isEmpty {
            guard isFormContentType(parts.contentType), isIdentity(parts.contentEncoding) else {
                var scope = UnitScope()
                scope.denial = .unparsable("request body is not an uncompressed urlencoded form")
                return scope
            }
            do {
                // Go's ParseForm puts body values before URL values.
                pairs = try FormDecoder.pairs(parts.body) + pairs
            } catch {
                throw InvalidParameters()
            }
        }
        let isQuery = parts.path.hasSuffix("/query") || parts.path.hasSuffix("/query_range")
            || parts.path.hasSuffix("/query_exemplars")
        var selectors: [VectorSelector] = []
        do throws(PromQLError) {
            if isQuery {
                for query in FormDecoder.values(of: "query", in: pairs) {
                    selectors += try PromQL.selectors(in: query)
                }
            } else {
                for match in FormDecoder.values(of: "match[]", in: pairs) {
                    selectors.append(try PromQL.metricSelector(match))
                }
            }
        } catch {
            var scope = UnitScope()
            scope.denial = .unparsable(error.description)
            return scope
        }
        return UnitScope.of(selectors, unitLabel: BackendKind.tsdb.unitLabel)
    }

    static func pyroscopeScope(_ parts: Parts) -> UnitScope {
        var selectors: [VectorSelector] = []
        do {
            guard isIdentity(parts.contentEncoding), let message = try protobufMessage(parts) else {
                var scope = UnitScope()
                scope.denial = .unparsable("request body is not an uncompressed protobuf message")
                return scope
            }
            let field: Int
            switch parts.path.split(separator: "/").last {
            case "SelectMergeStacktraces": field = 2  // querier.v1.SelectMergeStacktracesRequest.label_selector
            case "LabelNames": field = 1  // types.v1.LabelNamesRequest.matchers
            case "LabelValues": field = 2  // types.v1.LabelValuesRequest.matchers
            default: field = -1
            }
            var reader = ProtobufReader(message)
            while let next = try reader.next() {
                guard case .lengthDelimited(let number, let bytes) = next, number == field else {
                    if case .varint(let number, _) = next, number == field {
                        throw PromQLError(message: "selector field with a wrong wire type", offset: 0)
                    }
                    continue
                }
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw PromQLError(message: "selector is not UTF-8", offset: 0)
                }
                selectors.append(try PromQL.metricSelector(text))
            }
        } catch {
            var scope = UnitScope()
            scope.denial = .unparsable("\(error)")
            return scope
        }
        return UnitScope.of(selectors, unitLabel: BackendKind.pyroscope.unitLabel)
    }

    /// The protobuf message of a Connect unary (`application/proto`) or gRPC / gRPC-web / Connect streaming body
    /// (one uncompressed length-prefixed frame); `nil` for JSON or anything else.
    static func protobufMessage(_ parts: Parts) throws -> ArraySlice<UInt8>? {
        let type = mediaType(parts.contentType)
        switch type {
        case "application/proto", "application/x-protobuf", "application/protobuf":
            return parts.body[...]
        case "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto",
            "application/connect+proto":
            let body = parts.body
            guard body.count >= 5, body[0] == 0 else { return nil }
            let length = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
            guard length == body.count - 5 else { return nil }
            return body[5...]
        default:
            return nil
        }
    }

    static func mediaType(_ contentType: String?) -> String {
        guard let contentType else { return "" }
        let type = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return String(type).trimmingSpaces().lowercased()
    }

    static func isFormContentType(_ contentType: String?) -> Bool {
        mediaType(contentType) == "application/x-www-form-urlencoded"
    }

    static func isIdentity(_ encoding: String?) -> Bool {
        guard let encoding else { return true }
        let trimmed = encoding.trimmingSpaces().lowercased()
        return trimmed.isEmpty || trimmed == "identity"
    }
}
