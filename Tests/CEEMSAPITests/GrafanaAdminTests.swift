import CEEMSCore
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import CEEMSAPI

@Suite struct GrafanaAdminTests {
    /// Team 1 answers; team 2 fails and keeps its previous members (at start: the stored `grafana` rows).
    @Test func teamMembersBecomeAdminsAndFailingTeamsKeepTheirs() async throws {
        let failures = Counter()
        let router = Router(context: BasicRequestContext.self)
        router.get("/api/teams/1/members") { request, _ in
            guard request.headers[.authorization] == "Bearer grafana-key" else {
                return Response(status: .unauthorized)
            }
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"[{"login":"gina","teamId":1},{"login":"admin1"}]"#)))
        }
        router.get("/api/teams/2/members") { _, _ in
            failures.increment()
            return Response(status: .internalServerError)
        }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withFakeServer(router) { port in
            // A previous run stored hank as a Grafana admin.
            let database = try AppDatabase(directory: directory + "/data")
            var seed = UpdateBatch()
            seed.admins = ["grafana": ["hank"]]
            seed.lastUpdatedAt = "2024-03-01T00:00:00"
            try UpdateWriter(database: database).write(seed)
            database.close()

            var config = try slurmConfig(dataPath: directory + "/data")
            config.server.admin.grafana = try YAMLConfig.decode(
                APIServerConfig.GrafanaConfig.self,
                from: "url: http://127.0.0.1:\(port)\nteams_ids: [1, '2']\nauthorization: {credentials: grafana-key}\n")
            try await withAPIServer(config: config) { client, _ in
                let admins = try await client.get("/api/v1/users/admin?role=admin", user: "gina")
                #expect(admins.status == 200)
                let rows = admins.data.map { "\($0["name"]?.stringValue ?? ""):\($0["tags"]?.strings("x") ?? [])" }
                #expect(admins.data.strings("name") == ["admin1", "ceems-int-svc", "gina", "hank"])
                #expect(admins.body.contains(#"{"cluster_id":"all","name":"admin1","tags":["grafana"]}"#), "\(rows)")
                #expect(admins.body.contains(#"{"cluster_id":"all","name":"hank","tags":["grafana"]}"#))
                #expect(admins.body.contains(#"{"cluster_id":"all","name":"ceems-int-svc","tags":["ceems"]}"#))
            }
            #expect(failures.value >= 1)
        }
    }
}
