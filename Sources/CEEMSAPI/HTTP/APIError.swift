import CEEMSCore
import HTTPTypes

/// An error answered with the API's JSON envelope.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case badData = "bad_data"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case notAcceptable = "not_acceptable"
        case execution
        case canceled
        case internalError = "internal"
        case timeout

        var status: HTTPResponse.Status {
            switch self {
            case .badData: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .notAcceptable: .notAcceptable
            case .execution: .unprocessableContent
            case .canceled: .init(code: 499)
            case .internalError: .internalServerError
            case .timeout: .serviceUnavailable
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    static let noUser = APIError(.unauthorized, "no user identified")
    static let notAdmin = APIError(.forbidden, "current user does not have admin privileges")
    static let noPermission = APIError(.forbidden, "user do not have permissions on uuids")
    static let uuidsMissing = APIError(.badData, "uuids missing in the request")
    static let invalidFields = APIError(.badData, "invalid query fields")
    static let invalidRequest = APIError(.badData, "invalid request")
    static let maxWindow = APIError(.badData, "maximum query window exceeded")
}

/// `{"status","data","errorType","error","warnings"}` bodies.
enum Envelope {
    static func success(data: String, warnings: [String] = []) -> String {
        var writer = JSONWriter(capacity: data.utf8.count + 64)
        writer.raw("{\"status\":\"success\",\"data\":")
        writer.raw(data)
        if !warnings.isEmpty {
            writer.raw(",\"warnings\":")
            writer.stringArray(warnings)
        }
        writer.raw("}\n")
        return writer.text
    }

    static func error(_ error: APIError) -> String {
        var writer = JSONWriter()
        writer.raw("{\"status\":\"error\",\"data\":null,\"errorType\":")
        writer.string(error.kind.rawValue)
        writer.raw(",\"error\":")
        writer.string(error.message)
        writer.raw("}\n")
        return writer.text
    }

    /// A JSON array of records.
    static func array<T>(_ items: [T], write: (T, inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter(capacity: 64 + items.count * 256)
        writer.raw("[")
        for (offset, item) in items.enumerated() {
            if offset > 0 { writer.raw(",") }
            write(item, &writer)
        }
        writer.raw("]")
        return writer.text
    }
}
