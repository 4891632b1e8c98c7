import CEEMSCore
import CEEMSWeb
import FoundationEssentials
import Logging
import NIOHTTP1
import Synchronization

/// Power readings of one chassis, summed over its `PowerControl` entries.
struct ChassisPower: Sendable, Equatable {
    var current: Double = 0
    var minimum: Double = 0
    var maximum: Double = 0
    var average: Double = 0
}

/// A small Redfish client: service root, optional session, chassis discovery, and `Power` of each chassis.
final class RedfishClient: Sendable {
    enum RedfishError: Error, CustomStringConvertible {
        case status(url: String, code: Int)
        case decoding(url: String, reason: String)
        case noChassis

        var description: String {
            switch self {
            case .status(let url, let code): "GET \(url) answered HTTP \(code)"
            case .decoding(let url, let reason): "cannot decode \(url): \(reason)"
            case .noChassis: "the BMC lists no chassis"
            }
        }
    }

    struct Chassis: Sendable, Equatable {
        var id: String
        var powerPath: String
    }

    private struct Session: Sendable {
        var token: String
        var location: String?
    }

    private struct State: Sendable {
        var session: Session?
        var chassis: [Chassis] = []
        var connected = false
    }

    let baseURL: String
    /// `X-Redfish-Url`: where the BMC is, for a `redfish_proxy` in between.
    let targetURL: String
    private let config: RedfishConfig
    private let http: ConfiguredHTTPClient
    private let state = Mutex(State())
    private let logger: Logger

    init(config: RedfishConfig, bmcHost: String, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.targetURL = "\(config.protocol)://\(Self.bracketed(bmcHost)):\(config.port)"
        if !config.externalURL.isEmpty {
            baseURL = String(config.externalURL.reversed().drop { $0 == "/" }.reversed())
        } else {
            // An empty host (no hostname, BMC address unknown) reaches the local machine, as in CEEMS.
            let host = bmcHost.isEmpty ? "localhost" : bmcHost
            baseURL = "\(config.protocol)://\(Self.bracketed(host)):\(config.port)"
        }
        var httpConfig = config.httpClient
        if config.useSessionToken || config.username.isEmpty {
            httpConfig.basicAuth = nil
        } else if httpConfig.basicAuth == nil {
            httpConfig.basicAuth = .init(username: config.username, password: config.password)
        }
        self.http = try ConfiguredHTTPClient(config: httpConfig, connectTimeout: config.timeout)
    }

    static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// Reads the service root, opens a session when configured, and lists the chassis.
    func connect() async throws {
        let root: ServiceRoot = try await get("/redfish/v1/")
        var session: Session?
        if config.useSessionToken && !config.username.isEmpty {
            let path = root.links?.sessions?.id ?? "/redfish/v1/SessionService/Sessions"
            session = try await createSession(path: path)
        }
        state.withLock { $0.session = session }
        let collectionPath = root.chassis?.id ?? "/redfish/v1/Chassis"
        let collection: Collection = try await get(collectionPath)
        var chassis: [Chassis] = []
        for member in collection.members {
            let document: ChassisDocument = try await get(member.id)
            chassis.append(
                Chassis(
                    id: document.id ?? FilePathSyntax.base(member.id),
                    powerPath: document.power?.id ?? member.id + "/Power"))
        }
        if chassis.isEmpty { throw RedfishError.noChassis }
        state.withLock { state in
            state.chassis = chassis
            state.connected = true
        }
        logger.debug(
            "Connected to Redfish service", metadata: ["url": "\(baseURL)", "chassis": "\(chassis.map(\.id))"])
    }

    /// The power of every chassis; a failed read drops the session so the next one reconnects.
    func readPower() async throws -> [String: ChassisPower] {
        let (connected, chassis) = state.withLock { ($0.connected, $0.chassis) }
        if !connected { try await connect() }
        let list = connected ? chassis : state.withLock { $0.chassis }
        var readings: [String: ChassisPower] = [:]
        var firstError: (any Error)?
        try await withThrowingTaskGroup(of: (String, Result<ChassisPower, any Error>).self) { group in
            for item in list {
                group.addTask {
                    do {
                        let power: PowerDocument = try await self.get(item.powerPath)
                        return (item.id, .success(Self.sum(power)))
                    } catch {
                        return (item.id, .failure(error))
                    }
                }
            }
            for try await (id, result) in group {
                switch result {
                case .success(let power): readings[id] = power
                case .failure(let error): firstError = firstError ?? error
                }
            }
        }
        if let firstError {
            await disconnect()
            if readings.isEmpty { throw firstError }
            logger.warning("Cannot read the power of some chassis", metadata: ["err": "\(firstError)"])
        }
        return readings
    }

    /// Logs out of the session (on errors and at shutdown).
    func disconnect() async {
        let session = state.withLock { state -> Session? in
            let session = state.session
            state.session = nil
            state.connected = false
            return session
        }
        if let location = session?.location {
            _ = try? await http.execute(
                method: .DELETE, url: absolute(location), headers: headers(token: session?.token),
                timeout: config.timeout)
        }
    }

    func shutdown() async {
        await disconnect()
        await http.shutdown()
    }

    static func sum(_ power: PowerDocument) -> ChassisPower {
        var total = ChassisPower()
        for control in power.powerControl ?? [] {
            total.current += control.powerConsumedWatts ?? 0
            total.minimum += control.powerMetrics?.minConsumedWatts ?? 0
            total.maximum += control.powerMetrics?.maxConsumedWatts ?? 0
            total.average += control.powerMetrics?.averageConsumedWatts ?? 0
        }
        return total
    }

    private func createSession(path: String) async throws -> Session {
        let body = Array(
            "{\"UserName\":\(JSONString.quote(config.username)),\"Password\":\(JSONString.quote(config.password))}".utf8
        )
        let url = absolute(path)
        let result = try await http.execute(
            method: .POST, url: url, headers: headers(token: nil) + [("Content-Type", "application/json")], body: body,
            timeout: config.timeout)
        guard (200..<300).contains(result.status), let token = result.header("X-Auth-Token") else {
            throw RedfishError.status(url: url, code: result.status)
        }
        return Session(token: token, location: result.header("Location"))
    }

    private func get<Document: Decodable>(_ path: String) async throws -> Document {
        let url = absolute(path)
        let token = state.withLock { $0.session?.token }
        let result = try await http.execute(url: url, headers: headers(token: token), timeout: config.timeout)
        guard (200..<300).contains(result.status) else { throw RedfishError.status(url: url, code: result.status) }
        do {
            return try JSONDecoder().decode(Document.self, from: Data(result.body))
        } catch {
            throw RedfishError.decoding(url: url, reason: "\(error)")
        }
    }

    private func headers(token: String?) -> [(String, String)] {
        var headers = [("X-Redfish-Url", targetURL), ("Accept", "application/json")]
        if let token { headers.append(("X-Auth-Token", token)) }
        return headers
    }

    private func absolute(_ path: String) -> String {
        if path.hasPrefix("http://") || path.hasPrefix("https://") { return path }
        return baseURL + (path.hasPrefix("/") ? path : "/" + path)
    }
}

// MARK: - Redfish documents (only the fields used)

struct ODataLink: Decodable, Sendable {
    var id: String

    enum CodingKeys: String, CodingKey {
        case id = "@odata.id"
    }
}

struct ServiceRoot: Decodable {
    struct Links: Decodable {
        var sessions: ODataLink?

        enum CodingKeys: String, CodingKey {
            case sessions = "Sessions"
        }
    }

    var chassis: ODataLink?
    var links: Links?

    enum CodingKeys: String, CodingKey {
        case chassis = "Chassis"
        case links = "Links"
    }
}

struct Collection: Decodable {
    var members: [ODataLink]

    enum CodingKeys: String, CodingKey {
        case members = "Members"
    }
}

struct ChassisDocument: Decodable {
    var id: String?
    var power: ODataLink?

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case power = "Power"
    }
}

struct PowerDocument: Decodable {
    struct Metrics: Decodable {
        var minConsumedWatts: Double?
        var maxConsumedWatts: Double?
        var averageConsumedWatts: Double?

        enum CodingKeys: String, CodingKey {
            case minConsumedWatts = "MinConsumedWatts"
            case maxConsumedWatts = "MaxConsumedWatts"
            case averageConsumedWatts = "AverageConsumedWatts"
        }
    }

    struct Control: Decodable {
        var powerConsumedWatts: Double?
        var powerMetrics: Metrics?

        enum CodingKeys: String, CodingKey {
            case powerConsumedWatts = "PowerConsumedWatts"
            case powerMetrics = "PowerMetrics"
        }
    }

    var powerControl: [Control]?

    enum CodingKeys: String, CodingKey {
        case powerControl = "PowerControl"
    }
}
