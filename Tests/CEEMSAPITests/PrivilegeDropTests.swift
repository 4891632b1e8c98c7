import AsyncHTTPClient
import CEEMSCore
import CEEMSLinux
import CEEMSTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ceems_api_server` and `ceems_lb` started as root give it up (api-server.md §11, lb.md §8): they run as
/// `nobody` by default, the API server keeping only cap_setuid/cap_setgid (sacct still runs as root), both only
/// cap_fowner besides for the ACLs they added to reach their files, which they remove at exit.
@Suite(.serialized) struct PrivilegeDropTests {
    static let api = CrashRecoveryTests.repository + "/.build/debug/ceems_api_server"
    static let lb = CrashRecoveryTests.repository + "/.build/debug/ceems_lb"
    static var usable: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: api)
            && FileManager.default.isExecutableFile(atPath: lb) && CommandRunner.lookPath("python3") != nil
    }

    @Test(.enabled(if: usable, "needs root, python3 and the debug binaries"))
    func serversRunAsNobodyWithOnlyTheirCapabilities() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o700)
        let data = directory + "/data"
        let sacctArguments = directory + "/sacct-arguments"
        let fixtures = CrashRecoveryTests.repository + "/Tests/CEEMSAPITests/Fixtures/slurm"
        try """
            ceems_api_server:
              data:
                path: \(data)
                update_interval: 1h
            clusters:
              - id: slurm-0
                manager: slurm
                cli:
                  path: \(fixtures)
                  environment_variables:
                    FAKE_SACCT_ARGS: \(sacctArguments)
            """.write(toFile: directory + "/api.yml", atomically: false, encoding: .utf8)
        try """
            ceems_lb:
              backends:
                - id: slurm-0
                  tsdb: [{web: {url: http://127.0.0.1:1}}]
            ceems_api_server:
              data:
                path: \(data)
            """.write(toFile: directory + "/lb.yml", atomically: false, encoding: .utf8)
        for name in ["api-web.yml", "lb-web.yml"] {
            try "basic_auth_users: {}\n".write(toFile: directory + "/" + name, atomically: false, encoding: .utf8)
            chmod(directory + "/" + name, 0o600)
        }
        let apiPort = try RealPrometheus.freePort()
        let lbPort = try RealPrometheus.freePort()
        let client = HTTPClient.shared
        func healthy(_ port: Int) async -> Bool {
            guard
                let response = try? await client.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(2))
            else { return false }
            return response.status == .ok
        }

        let apiServer = try SpawnedProgram([
            Self.api, "--config.file=\(directory)/api.yml", "--web.config.file=\(directory)/api-web.yml",
            "--web.listen-address=127.0.0.1:\(apiPort)", "--log.level=warn",
        ])
        #expect(try await apiServer.wait { await healthy(apiPort) })
        #expect(try await apiServer.wait { SystemFile.exists(sacctArguments) })
        let apiCapabilities = Capability.mask([.setuid, .setgid, .fowner])
        for status in try apiServer.threadStatuses() {
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"))
            #expect(Privileges.capabilities("CapPrm", status: status) == apiCapabilities)
            #expect(Privileges.capabilities("CapEff", status: status) == 0)
            #expect(Privileges.capabilities("CapAmb", status: status) == 0)
        }
        // sacct ran as root, started from the privileged thread; the database is the run-as user's.
        var info = stat()
        #expect(stat(sacctArguments, &info) == 0 && info.st_uid == 0)
        #expect(stat(data + "/ceems.db", &info) == 0 && info.st_uid == 65534)
        #expect(try PosixACL.read(data).acl.permissions(ofUser: 65534) == 7)
        #expect(try PosixACL.read(directory).acl.permissions(ofUser: 65534) == 1)

        let balancer = try SpawnedProgram([
            Self.lb, "--config.file=\(directory)/lb.yml", "--web.config.file=\(directory)/lb-web.yml",
            "--web.listen-address=127.0.0.1:\(lbPort)", "--log.level=warn",
        ])
        #expect(try await balancer.wait { await healthy(lbPort) })
        for status in try balancer.threadStatuses() {
            #expect(status.contains("Uid:\t65534\t65534\t65534\t65534"))
            #expect(Privileges.capabilities("CapPrm", status: status) == Capability.mask([.fowner]))
            #expect(Privileges.capabilities("CapEff", status: status) == 0)
        }
        #expect(try PosixACL.read(directory + "/lb-web.yml").acl.permissions(ofUser: 65534) == 4)
        #expect(balancer.stop() == 0)
        // Each removes its own grants at exit.
        #expect(try PosixACL.read(directory + "/lb-web.yml").original.attribute == nil)
        #expect(try PosixACL.read(directory + "/api-web.yml").acl.permissions(ofUser: 65534) == 4)
        #expect(apiServer.stop() == 0)
        #expect(try PosixACL.read(directory + "/api-web.yml").original.attribute == nil)
        #expect(try PosixACL.read(data).original.attribute == nil)
        #expect(try PosixACL.read(directory).original.attribute == nil)
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700)
    }
}
