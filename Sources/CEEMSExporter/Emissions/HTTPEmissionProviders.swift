import CEEMSCore
import CEEMSWeb
import FoundationEssentials
import Logging
import Synchronization

/// A provider whose factors come from a web API, refreshed in the background every `period`.
final class RemoteEmissionProvider: EmissionProvider {
    let id: String
    let displayName: String
    private let cache: RefreshingCache<[EmissionFactor]>
    private let http: ConfiguredHTTPClient

    init(
        id: String, displayName: String, period: Duration, http: ConfiguredHTTPClient,
        fetch: @escaping @Sendable (ConfiguredHTTPClient) async throws -> [EmissionFactor]
    ) {
        self.id = id
        self.displayName = displayName
        self.http = http
        self.cache = RefreshingCache(minimumInterval: period, maximumAge: period * 4) { try await fetch(http) }
    }

    func start() {
        Task { _ = await cache.value(waitingAtMost: .zero) }
    }

    func currentFactors() async -> [EmissionFactor]? {
        await cache.value(waitingAtMost: .zero)?.value
    }

    var lastError: (any Error)? { cache.lastError }

    func shutdown() async {
        await http.shutdown()
    }
}

enum EmissionAPIError: Error, CustomStringConvertible {
    case status(String, Int)
    case missingCredentials(String)
    case noData(String)

    var description: String {
        switch self {
        case .status(let url, let code): "\(url) answered HTTP \(code)"
        case .missingCredentials(let what): "missing credentials: \(what)"
        case .noData(let what): "no data in \(what)"
        }
    }
}

/// The Electricity Maps, RTE eCO2mix and WattTime fetchers.
enum EmissionAPIs {
    static let timeout: Duration = .seconds(30)

    static func getJSON<T: Decodable>(
        _ type: T.Type, _ http: ConfiguredHTTPClient, url: String, headers: [(String, String)] = []
    ) async throws -> T {
        let result = try await http.execute(url: url, headers: headers, timeout: timeout)
        guard result.status == 200 else { throw EmissionAPIError.status(url, result.status) }
        return try JSONDecoder().decode(T.self, from: Data(result.body))
    }

    // MARK: Electricity Maps

    struct ZoneInfo: Decodable {
        var zoneName: String?
        var countryName: String?
    }

    struct LatestIntensity: Decodable {
        var carbonIntensity: Double?
    }

    static func electricityMaps(
        token: String, baseURL: String, logger: Logger
    ) -> @Sendable (ConfiguredHTTPClient) async throws -> [EmissionFactor] {
        let zonesCache = Mutex<[String: ZoneInfo]?>(nil)
        return { http in
            let headers = [("auth-token", token)]
            var zones = zonesCache.withLock { $0 }
            if zones == nil {
                var lastError: (any Error)?
                for attempt in 1...5 {
                    do {
                        zones = try await getJSON(
                            [String: ZoneInfo].self, http, url: baseURL + "/zones", headers: headers)
                        break
                    } catch {
                        lastError = error
                        logger.debug(
                            "Electricity Maps zones request failed",
                            metadata: ["attempt": "\(attempt)", "err": "\(error)"])
                        try await Task.sleep(for: .seconds(1))
                    }
                }
                guard let zones else { throw lastError ?? EmissionAPIError.noData("zones") }
                zonesCache.withLock { $0 = zones }
            }
            let codes = (zones ?? [:]).keys.sorted()
            // Zones the token is not allowed to read answer an error: they are skipped.
            return await withTaskGroup(of: EmissionFactor?.self) { group in
                var factors: [EmissionFactor] = []
                var next = 0
                func addNext() {
                    guard next < codes.count else { return }
                    let code = codes[next]
                    let name = zones?[code]?.countryName ?? zones?[code]?.zoneName ?? code
                    next += 1
                    group.addTask {
                        let url = baseURL + "/carbon-intensity/latest?zone=" + code
                        guard let latest = try? await getJSON(LatestIntensity.self, http, url: url, headers: headers),
                            let value = latest.carbonIntensity, value > 0
                        else { return nil }
                        return EmissionFactor(countryCode: code, country: name, gramsPerKilowattHour: value)
                    }
                }
                for _ in 0..<8 { addNext() }
                while let result = await group.next() {
                    if let result { factors.append(result) }
                    addNext()
                }
                return factors
            }
        }
    }

    // MARK: RTE eCO2mix (France)

    struct RTERecords: Decodable {
        struct Record: Decodable {
            var tauxCO2: Double?

            enum CodingKeys: String, CodingKey {
                case tauxCO2 = "taux_co2"
            }
        }

        var results: [Record]
    }

    static func rte(baseURL: String) -> @Sendable (ConfiguredHTTPClient) async throws -> [EmissionFactor] {
        return { http in
            let query =
                "/api/explore/v2.1/catalog/datasets/eco2mix-national-tr/records?select=taux_co2,date_heure"
                + "&where=taux_co2%20is%20not%20null&order_by=date_heure%20desc&limit=1"
            let records = try await getJSON(RTERecords.self, http, url: baseURL + query)
            guard let value = records.results.first?.tauxCO2, value > 0 else {
                throw EmissionAPIError.noData("eco2mix-national-tr")
            }
            return [EmissionFactor(countryCode: "FR", country: "France", gramsPerKilowattHour: value)]
        }
    }

    // MARK: WattTime

    struct WattTimeLogin: Decodable {
        var token: String
    }

    struct WattTimeHistorical: Decodable {
        struct Point: Decodable {
            var value: Double?
        }

        var data: [Point]
    }

    static func wattTime(
        username: String, password: String, region: String, baseURL: String
    ) -> @Sendable (ConfiguredHTTPClient) async throws -> [EmissionFactor] {
        let token = Mutex<(String, ContinuousClock.Instant)?>(nil)
        return { http in
            var bearer = token.withLock { current -> String? in
                guard let current, ContinuousClock.now - current.1 < .seconds(25 * 60) else { return nil }
                return current.0
            }
            if bearer == nil {
                let basic = "Basic " + Base64.encode(Array("\(username):\(password)".utf8))
                let login = try await getJSON(
                    WattTimeLogin.self, http, url: baseURL + "/login", headers: [("Authorization", basic)])
                token.withLock { $0 = (login.token, .now) }
                bearer = login.token
            }
            let end = RFC3339.nowEpochSeconds()
            let url =
                baseURL + "/v3/historical?region=\(region)&signal_type=co2_moer&start="
                + RFC3339.string(epochSeconds: end - 15 * 60) + "&end=" + RFC3339.string(epochSeconds: end)
            let history = try await getJSON(
                WattTimeHistorical.self, http, url: url, headers: [("Authorization", "Bearer \(bearer!)")])
            guard let poundsPerMWh = history.data.compactMap(\.value).last, poundsPerMWh > 0 else {
                throw EmissionAPIError.noData("WattTime historical data for \(region)")
            }
            // lb/MWh → g/kWh.
            return [EmissionFactor(countryCode: region, country: region, gramsPerKilowattHour: poundsPerMWh * 0.453592)]
        }
    }
}
