import CEEMSCore
import HTTPTypes
import Hummingbird
import NIOCore

/// `/swagger/index.html` and `/swagger/doc.json`: the OpenAPI description of the API (title "CEEMS API",
/// version 1.0, base path `/api/v1`), rendered by Swagger UI when the browser can reach it.
enum Swagger {
    static func response(file: String, options: APIHTTPOptions) -> Response {
        switch file {
        case "doc.json":
            return APIHandler<APIRequestContext>.text(.ok, document(options: options), contentType: "application/json; charset=utf-8")
        case "", "index.html":
            return APIHandler<APIRequestContext>.text(.ok, indexPage, contentType: "text/html; charset=utf-8")
        default:
            return APIHandler<APIRequestContext>.text(.notFound, "404 page not found\n")
        }
    }

    static let indexPage = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="UTF-8"><title>CEEMS API</title>
        <link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
        <body><div id="swagger-ui"><p>OpenAPI document: <a href="doc.json">doc.json</a></p></div>
        <script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
        <script>window.onload = () => { if (window.SwaggerUIBundle) { SwaggerUIBundle({url: "doc.json", dom_id: "#swagger-ui"}); } };</script>
        </body></html>
        """

    struct Endpoint {
        var path: String
        var summary: String
        var parameters: [String]
        var admin: Bool
    }

    static let endpoints: [Endpoint] = [
        .init(path: "/units", summary: "Compute units of the user's projects", parameters: ["cluster_id", "uuid", "project", "running", "from", "to", "timezone", "field"], admin: false),
        .init(path: "/units/admin", summary: "Compute units of any user", parameters: ["cluster_id", "uuid", "project", "user", "running", "from", "to", "timezone", "field"], admin: true),
        .init(path: "/units/verify", summary: "Verify that the user owns the units", parameters: ["uuid", "cluster_id"], admin: false),
        .init(path: "/users", summary: "The user's records", parameters: ["cluster_id"], admin: false),
        .init(path: "/users/admin", summary: "Users (role=admin: admin users)", parameters: ["cluster_id", "user", "role"], admin: true),
        .init(path: "/projects", summary: "The user's projects", parameters: ["cluster_id", "project"], admin: false),
        .init(path: "/projects/admin", summary: "All projects", parameters: ["cluster_id", "project"], admin: true),
        .init(path: "/clusters/admin", summary: "Clusters with units", parameters: [], admin: true),
        .init(path: "/usage/{mode}", summary: "Usage (current|global) of the user's projects", parameters: ["cluster_id", "project", "from", "to", "field", "groupby", "experimental"], admin: false),
        .init(path: "/usage/{mode}/admin", summary: "Usage (current|global) of any user", parameters: ["cluster_id", "project", "user", "from", "to", "field", "groupby", "experimental"], admin: true),
        .init(path: "/stats/{mode}/admin", summary: "Unit statistics per cluster", parameters: ["cluster_id", "from", "to"], admin: true),
        .init(path: "/demo/{resource}", summary: "Random demo data (units|usage)", parameters: [], admin: false),
    ]

    static func document(options: APIHTTPOptions) -> String {
        var writer = JSONWriter(capacity: 8192)
        writer.raw("{\"swagger\":\"2.0\",\"info\":{\"title\":\"CEEMS API\",\"description\":")
        writer.string("OpenAPI specification (Swagger) for CEEMS API server. Identity comes from the X-Grafana-User header.")
        writer.raw(",\"version\":\"1.0\"},")
        if let url = URLParts(options.externalURL) {
            writer.raw("\"host\":")
            writer.string(url.host)
            writer.raw(",\"schemes\":[")
            writer.string(url.scheme)
            writer.raw("],")
        }
        writer.raw("\"basePath\":")
        writer.string(options.routeBase + "/api/v1")
        writer.raw(",\"paths\":{")
        for (offset, endpoint) in endpoints.enumerated() {
            if offset > 0 { writer.raw(",") }
            writer.string(endpoint.path)
            writer.raw(":{\"get\":{\"summary\":")
            writer.string(endpoint.summary)
            writer.raw(",\"produces\":[\"application/json\"],\"parameters\":[")
            var parameters: [(String, String, Bool)] = [("X-Grafana-User", "header", true)]
            if endpoint.path.contains("{mode}") { parameters.append(("mode", "path", true)) }
            if endpoint.path.contains("{resource}") { parameters.append(("resource", "path", true)) }
            parameters += endpoint.parameters.map { ($0, "query", false) }
            for (index, parameter) in parameters.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"name\":")
                writer.string(parameter.0)
                writer.raw(",\"in\":")
                writer.string(parameter.1)
                writer.raw(",\"type\":\"string\",\"required\":\(parameter.2)")
                if parameter.1 == "query" && ["cluster_id", "uuid", "project", "user", "field", "groupby"].contains(parameter.0) {
                    writer.raw(",\"type\":\"array\",\"items\":{\"type\":\"string\"},\"collectionFormat\":\"multi\"")
                }
                writer.raw("}")
            }
            writer.raw("],\"responses\":{\"200\":{\"description\":\"OK\"},\"400\":{\"description\":\"Bad request\"},\"401\":{\"description\":\"No user identified\"},\"403\":{\"description\":\"Forbidden\"},\"500\":{\"description\":\"Internal error\"}}}}")
        }
        writer.raw("}}\n")
        return writer.text
    }

    struct URLParts {
        var scheme: String
        var host: String

        init?(_ text: String) {
            guard let range = text.firstRange(of: "://") else { return nil }
            scheme = String(text[..<range.lowerBound])
            let rest = text[range.upperBound...]
            host = String(rest.prefix { $0 != "/" })
            if host.isEmpty { return nil }
        }
    }
}
