import CEEMSCore
import CEEMSWeb
import Logging
import Synchronization

/// Admins from Grafana teams (`admin.grafana`): each team's member logins. A team whose fetch fails keeps its
/// previous members; before a team was ever fetched, its previous members are the stored `grafana` admins.
public final class GrafanaTeams: Sendable {
    let url: String
    let teams: [String]
    let http: ConfiguredHTTPClient
    let logger: Logger
    private let members = Mutex<[String: [String]]>([:])

    public init(config: APIServerConfig.GrafanaConfig, logger: Logger) throws {
        var url = config.url
        while url.hasSuffix("/") { url.removeLast() }
        self.url = url
        self.teams = config.teamsIDs
        self.http = try ConfiguredHTTPClient(config: config.client)
        self.logger = logger
    }

    public func shutdown() async { await http.shutdown() }

    /// The current Grafana admin names; `stored` are the DB's `grafana` rows (fallback before a first success).
    public func refresh(stored: [String]) async -> [String] {
        var all = Set<String>()
        for team in teams {
            do {
                let result = try await http.execute(url: "\(url)/api/teams/\(team)/members", timeout: .seconds(30))
                guard result.status == 200, case .array(let items)? = JSONValue.parse(result.text) else {
                    throw HTTPClientError.transport(url: url, reason: "status \(result.status)")
                }
                let logins = items.compactMap { $0["login"]?.stringValue }.filter { !$0.isEmpty }
                members.withLock { $0[team] = logins }
                all.formUnion(logins)
            } catch {
                logger.error("Failed to fetch Grafana team members", metadata: ["team": "\(team)", "err": "\(error)"])
                all.formUnion(members.withLock { $0[team] } ?? stored)
            }
        }
        return all.sorted()
    }
}
