import AsyncHTTPClient
import CEEMSCore
import CEEMSLB
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The conformance database of the reference (§10), read where it is: admins `grafana` and `admin`; clusters
/// `slurm-0` and `slurm-1`; units 1479763 (usr1) and 1479765 (usr8) in project acc1 (members usr1, usr15,
/// usr8), 1481510 (usr3) in acc3.
enum ReferenceDB {
    static var path: String { SharedReference.root + "/fixtures/api/ceems-reference.db" }

    /// A data directory holding a copy of the database as `ceems.db`.
    static func dataDirectory() throws -> String {
        let directory = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: path, toPath: directory + "/ceems.db")
        return directory
    }

    static let mine = "1479763"
    static let alsoMine = "1479765"
    static let foreign = "1481510"
}

/// A request as a fake backend received it.
struct RecordedRequest: Sendable {
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A fake TSDB/Pyroscope backend recording every request and answering a Prometheus-like vector with an
/// `instance` label.
final class RecordingBackend: Sendable {
    let requests = Mutex<[RecordedRequest]>([])
    let name: String

    init(name: String = "backend") { self.name = name }

    var count: Int { requests.withLock { $0.count } }
    var last: RecordedRequest? { requests.withLock { $0.last } }

    static let vector =
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"node1:9010","uuid":"1479763"},"value":[12345,"21.22149394"]}]}}"#

    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.middlewares.add(RecordingMiddleware(backend: self))
        return router
    }

    struct RecordingMiddleware: RouterMiddleware {
        let backend: RecordingBackend

        func handle(
            _ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response
        ) async throws -> Response {
            let body = try await request.body.collect(upTo: 1 << 20)
            backend.requests.withLock {
                $0.append(
                    RecordedRequest(
                        method: request.method.rawValue, target: request.head.path ?? "",
                        headers: request.headers.map { ($0.name.rawName, $0.value) },
                        body: String(buffer: body)))
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("X-Backend")!] = backend.name
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Self.body)))
        }

        static var body: String { RecordingBackend.vector }
    }
}

/// The ports of a running LB, by backend kind.
struct LBPorts: Sendable {
    var ports: [BackendKind: Int]
    var tsdb: Int { ports[.tsdb] ?? 0 }
    var pyroscope: Int { ports[.pyroscope] ?? 0 }
}

/// Runs an LB built from `config` on loopback ports for `body`.
func withLB<Result: Sendable>(
    _ config: LBConfig, healthCheckInterval: Duration = .seconds(20), databaseRecheck: Duration = .seconds(10),
    webConfigFile: String? = nil,
    _ body: @Sendable (LBPorts) async throws -> Result
) async throws -> Result {
    let kinds = config.kinds
    var ports: [BackendKind: Int] = [:]
    var addresses: [ListenAddress] = []
    for kind in kinds {
        let port = try RealPrometheus.freePort()
        ports[kind] = port
        addresses.append(ListenAddress(host: "127.0.0.1", port: port))
    }
    var configuration = LBConfiguration(config: config, listenAddresses: addresses, webConfigFile: webConfigFile)
    configuration.healthCheckInterval = healthCheckInterval
    configuration.databaseRecheckInterval = databaseRecheck
    let lbPorts = LBPorts(ports: ports)
    let settled = configuration
    return try await withRunningService(
        { continuation in
            let listening = Mutex(0)
            let application = try await buildLBApplication(
                configuration: settled, logger: quietLogger,
                onListening: { _, _ in
                    if listening.withLock({ count in
                        count += 1
                        return count
                    }) == kinds.count {
                        continuation.yield(0)
                    }
                })
            try await application.run()
        }, { _ in try await body(lbPorts) })
}

/// An LB config with TSDB (and optionally Pyroscope) backends per cluster.
func lbConfig(
    tsdb: [String: [String]], pyroscope: [String: [String]] = [:], dataPath: String = "", apiURL: String = "",
    strategy: LBConfig.Strategy = .roundRobin, filterLabels: [String] = []
) -> LBConfig {
    var config = LBConfig()
    config.strategy = strategy
    config.dataPath = dataPath
    config.apiURL = apiURL
    for id in Set(tsdb.keys).union(pyroscope.keys).sorted() {
        config.backends.append(
            LBConfig.BackendGroup(
                id: id,
                tsdb: (tsdb[id] ?? []).map { LBConfig.Server(url: $0, filterLabels: filterLabels) },
                pyroscope: (pyroscope[id] ?? []).map { LBConfig.Server(url: $0) }))
    }
    return config
}

/// A response as a test sees it.
struct TestResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: String

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Sends one request with AsyncHTTPClient (no redirects followed).
func send(
    _ method: HTTPMethod = .GET, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil
) async throws -> TestResponse {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let collected = try await response.body.collect(upTo: 64 << 20)
    return TestResponse(
        status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
        body: String(buffer: collected))
}

/// `application/x-www-form-urlencoded` text of pairs.
func formEncode(_ pairs: [(String, String)]) -> String {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
    return pairs.map {
        ($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0) + "="
            + ($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)
    }.joined(separator: "&")
}
