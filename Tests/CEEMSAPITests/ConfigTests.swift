import CEEMSCore
import CEEMSTestSupport
import Foundation
import Testing

@testable import CEEMSAPI

@Suite struct ConfigTests {
    func load(_ yaml: String) throws -> APIServerConfig {
        let config = try YAMLConfig.decode(APIServerConfig.self, from: yaml)
        try config.validate()
        return config
    }

    func message(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func defaultsApplyWithoutADataSection() throws {
        let config = try load("clusters: []\n")
        let data = config.server.data
        #expect(
            data.path == "data" && data.backupPath.isEmpty && data.updateFrom == "today" && data.timeZone == "Local")
        #expect(data.retentionPeriod == .seconds(30 * 86400) && data.updateInterval == .seconds(900))
        #expect(data.maxUpdateInterval == .seconds(3600) && data.backupInterval == .seconds(86400))
        // The service account is always an admin (§15 #4).
        #expect(config.configuredAdmins == ["ceems-int-svc"])
    }

    @Test func validationMessages() {
        #expect(
            message("ceems_api_server:\n  data:\n    update_interval: 0s\n")?.contains(
                "update_interval and/or max_update_interval must be more than 0s") == true)
        #expect(
            message("ceems_api_server:\n  data:\n    backup_interval: 1h\n")?.contains(
                "backup_interval of less than 1 day is not supported") == true)
        // 0 disables backups (§15 #32).
        #expect(message("ceems_api_server:\n  data:\n    backup_interval: 0s\n    backup_path: /tmp/x\n") == nil)
        #expect(
            message("clusters:\n  - {id: a, manager: slurm}\n  - {id: a, manager: slurm}\n")?.contains(
                "duplicate ID found in clusters config") == true)
        #expect(
            message("clusters:\n  - {id: a, manager: lsf}\n")?.contains("unknown resource manager found in the config")
                == true)
        #expect(message("clusters:\n  - {id: 'a b', manager: slurm}\n")?.contains("invalid cluster ID") == true)
        #expect(
            message("updaters:\n  - {id: t, updater: influx}\n")?.contains("unknown updater found in the config")
                == true)
        #expect(
            message("updaters:\n  - {id: t, updater: tsdb}\n  - {id: t, updater: tsdb}\n")?.contains(
                "duplicate ID found in updaters config") == true)
        #expect(message("ceems_api_server:\n  data:\n    time_zone: Mars/Olympus\n")?.contains("time_zone") == true)
        #expect(throws: (any Error).self) { try APIServerConfig.load(file: "", expandEnvironment: false) }
    }

    @Test func updaterOptions() throws {
        let options = try TSDBUpdater.Options(
            extraConfig: JSONValue.parse(
                #"{"cutoff_duration":"5m","query_max_series":0,"labels_to_drop":["{__name__=~\"x\"}"],"queries":{"avg_cpu_usage":{"global":"q"}}}"#
            ))
        #expect(options.cutoff == .seconds(300) && options.queryMaxSeries == 50 && options.queryMinSamples == 0.5)
        #expect(options.queries == ["avg_cpu_usage": ["global": "q"]])
        #expect(options.labelsToDrop == [#"{__name__=~"x"}"#])
        #expect(throws: UpdaterError.self) {
            try TSDBUpdater.Options(extraConfig: JSONValue.parse(#"{"query_max_series":-1}"#))
        }
        #expect(throws: UpdaterError.self) {
            try TSDBUpdater.Options(extraConfig: JSONValue.parse(#"{"query_min_samples":2}"#))
        }
        #expect(throws: UpdaterError.self) {
            try TSDBUpdater.Options(extraConfig: JSONValue.parse(#"{"queries":{"bogus":{"a":"q"}}}"#))
        }
        #expect(TSDBUpdater.Options().queries.count == 12)
    }

    @Test func environmentExpansion() throws {
        setenv("CEEMS_TEST_TZ", "UTC", 1)
        let config = try YAMLConfig.decode(
            APIServerConfig.self, from: "ceems_api_server:\n  data:\n    time_zone: ${CEEMS_TEST_TZ}\n",
            expandEnvironment: true)
        #expect(config.server.data.timeZone == "UTC")
    }

    /// The reference config (../shared/fixtures/api/reference-config.yml), read where it is.
    @Test(
        .enabled(
            if: FileManager.default.fileExists(atPath: SharedReference.root + "/fixtures/api/reference-config.yml")))
    func readsTheReferenceConfig() throws {
        let config = try APIServerConfig.load(
            file: SharedReference.root + "/fixtures/api/reference-config.yml", expandEnvironment: false)
        #expect(config.clusters.map(\.id) == ["slurm-0", "slurm-1", "os-0", "os-1", "k8s-0", "k8s-1"])
        #expect(config.clusters.map(\.manager) == ["slurm", "slurm", "openstack", "openstack", "k8s", "k8s"])
        #expect(config.updaters.map(\.id) == ["tsdb-0", "tsdb-1"])
        #expect(
            config.server.data.timeZone == "Europe/Paris" && config.server.data.maxUpdateInterval == .seconds(86400))
        #expect(config.configuredAdmins == ["grafana", "__test_admin", "ceems-int-svc"])
        let tsdb0 = try TSDBUpdater.Options(extraConfig: config.updaters[0].extraConfig)
        #expect(tsdb0.queries["total_cpu_emissions_gms"]?.keys.sorted() == ["emaps_total", "rte_total"])
        #expect(config.clusters[2].web.client.httpHeaders["X-OpenStack-Nova-API-Version"]?.values == ["latest"])
        let k8s = KubernetesManager.Options(extraConfig: config.clusters[4].extraConfig)
        #expect(k8s.projectAnnotations == ["ceems.io/project"] && k8s.gpuResourceNames.count == 3)
    }
}
