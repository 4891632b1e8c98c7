import AsyncHTTPClient
import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

@testable import CEEMSAPI

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

enum APIFixtures {
    static let directory: String = {
        let path = #filePath
        return String(path[..<path.lastIndex(of: "/")!]) + "/Fixtures"
    }()
    static var slurm: String { directory + "/slurm" }
    static let paris = TimeZone(identifier: "Europe/Paris")!

    /// 2024-03-06T00:00:00+0100: the tests' "now", two days after `update_from`.
    static let now: Int64 = 1_709_679_600_000
}

/// A fresh temporary directory, removed by `cleanup()`.

/// A config for the fake SLURM cluster, optionally with a TSDB updater.
func slurmConfig(
    dataPath: String, tsdbURL: String? = nil, extraUpdater: String = "", admins: [String] = ["admin1"],
    environment: [String: String] = [:]
) throws -> APIServerConfig {
    // `extraUpdater`: YAML lines of the updater entry (e.g. `extra_config:` …), indented as given plus 4 spaces.
    let extraLines = extraUpdater.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
    let updaters =
        tsdbURL.map { url in
            "updaters:\n  - id: tsdb-0\n    updater: tsdb\n    web:\n      url: \(url)\n" + extraLines + "\n"
        } ?? ""
    let yaml = """
        ceems_api_server:
          data:
            path: \(dataPath)
            update_from: '2024-03-04'
            time_zone: Europe/Paris
            max_update_interval: 24h
          admin:
            users: [\(admins.joined(separator: ", "))]
        clusters:
          - id: slurm-0
            manager: slurm
            updaters: [tsdb-0]
            cli:
              path: \(APIFixtures.slurm)
              environment_variables: {\(environment.map { "\($0.key): '\($0.value)'" }.joined(separator: ", "))}

        """ + "\n" + updaters
    var config = try YAMLConfig.decode(APIServerConfig.self, from: yaml)
    try config.validate()
    config.configDirectory = dataPath
    return config
}

/// Runs the whole API server on a loopback port for `body`, after its first catch-up has finished.
func withAPIServer<Result: Sendable>(
    config: APIServerConfig, http: APIHTTPOptions = APIHTTPOptions(), now: Int64 = APIFixtures.now,
    _ body: @Sendable (APIClient, APIApplication) async throws -> Result
) async throws -> Result {
    var configuration = APIServerConfiguration(
        config: config, http: http, listenAddresses: [ListenAddress(host: "127.0.0.1", port: 0)], webConfigFile: nil,
        purgeOldUnits: false)
    configuration.http.timeZone = APIFixtures.paris
    configuration.now = { now }
    configuration.commandTimeout = .seconds(20)
    configuration.chunkPause = .zero
    let application = try await buildAPIApplication(configuration: configuration, logger: quietLogger)
    // The first catch-up runs before requests, so tests see a settled database.
    await application.updater.catchUp()
    do {
        let result = try await serve(application, body)
        await application.updater.shutdown()
        return result
    } catch {
        await application.updater.shutdown()
        throw error
    }
}

private func serve<Result: Sendable>(
    _ application: APIApplication, _ body: @Sendable (APIClient, APIApplication) async throws -> Result
) async throws -> Result {
    try await withRunningService(
        { ports in
            try await WebServer(
                responder: application.server.responder, addresses: [ListenAddress(host: "127.0.0.1", port: 0)],
                tls: nil, logger: quietLogger, onListening: { _, port in ports.yield(port) }
            ).run()
        },
        { port in
            let client = APIClient(port: port)
            do {
                let result = try await body(client, application)
                await client.shutdown()
                return result
            } catch {
                await client.shutdown()
                throw error
            }
        })
}

struct APIResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String
    /// The body as received (compressed bodies are not text).
    var bytes: [UInt8] = []

    var json: JSONValue? { JSONValue.parse(body) }
    var data: [JSONValue] {
        if case .array(let items)? = json?["data"] { return items }
        return []
    }
}

/// A loopback client for the tests.
final class APIClient: Sendable {
    let port: Int
    let http = HTTPClient(eventLoopGroupProvider: .singleton)

    init(port: Int) { self.port = port }

    func shutdown() async { try? await http.shutdown() }

    func get(
        _ path: String, user: String? = nil, method: HTTPMethod = .GET, headers: [(String, String)] = []
    )
        async throws -> APIResponse
    {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let user { request.headers.add(name: "X-Grafana-User", value: user) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        return APIResponse(
            status: Int(response.status.code), headers: response.headers, body: String(buffer: body),
            bytes: Array(buffer: body))
    }
}

extension JSONValue {
    /// Field values of every object of an array.
    func strings(_ key: String) -> [String] {
        guard case .array(let items) = self else { return [] }
        return items.compactMap { $0[key]?.stringValue }
    }
}

extension Array where Element == JSONValue {
    func strings(_ key: String) -> [String] { compactMap { $0[key]?.stringValue } }
}

