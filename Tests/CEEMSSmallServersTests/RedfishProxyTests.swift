import AsyncHTTPClient
import CEEMSCore
import CEEMSRedfishProxy
import CEEMSTestSupport
import CEEMSWeb
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// A mock BMC answering every path with who it is and what it received.
func mockBMC(_ number: Int) -> Router<BasicRequestContext> {
    let router = Router()
    router.middlewares.add(MockBMC(number: number))
    return router
}

struct MockBMC<Context: RequestContext>: RouterMiddleware {
    let number: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var text = "BMC for host 192.168.1.\(number)\n"
        text += "target: \(request.head.path ?? "")\n"
        for name in ["Authorization", "X-Auth-Token", "X-Redfish-Url", "X-Forwarded-For", "User-Agent", "Host"] {
            text += "\(name): \(request.headers[HTTPField.Name(name)!] ?? "-")\n"
        }
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

@Suite(.serialized) struct RedfishProxyTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs the proxy with `config` (YAML, may be empty) and `body(send)`.
    func withProxy(
        _ yaml: String, webConfig: String? = nil,
        _ body: @Sendable (_ send: @Sendable (_ path: String, _ headers: [(String, String)]) async throws -> (Int, String)) async throws -> Void
    ) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var file = ""
        if !yaml.isEmpty {
            file = directory + "/config.yml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        }
        var webConfigFile: String?
        if let webConfig {
            webConfigFile = directory + "/web.yml"
            try webConfig.write(toFile: webConfigFile!, atomically: true, encoding: .utf8)
        }
        let config = try RedfishProxyConfig.load(file: file, expandEnvironment: false)
        let ports = AsyncStream<Int>.makeStream()
        let application = try buildRedfishProxyApplication(
            config: config, addresses: [ListenAddress(host: "127.0.0.1", port: 0)], webConfigFile: webConfigFile,
            logger: logger, onListening: { _, port in ports.continuation.yield(port) })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var iterator = ports.stream.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body { path, headers in
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                for (name, value) in headers { request.headers.add(name: name, value: value) }
                let response = try await client.execute(request, timeout: .seconds(15))
                return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
            }
            group.cancelAll()
        }
        try await client.shutdown()
    }

    @Test func staticTargetsHeadersAndAllowlist() async throws {
        try await withFakeServer(mockBMC(0)) { bmc0 in
            try await withFakeServer(mockBMC(1)) { bmc1 in
                let yaml = """
                    redfish_proxy:
                      targets:
                        - host_ip_addrs: [192.168.1.0]
                          url: http://127.0.0.1:\(bmc0)
                        - host_ip_addrs: [192.168.1.1, 10.0.0.1]
                          url: http://127.0.0.1:\(bmc1)/base/?vendor=x

                    """
                try await withProxy(yaml) { send in
                    // X-Real-IP from a trusted (loopback) connection selects the node's BMC.
                    let (status, body) = try await send(
                        "/redfish/v1/Chassis/1/Power", [("X-Real-IP", "192.168.1.0"), ("X-Auth-Token", "tok"), ("Authorization", "Basic eDp5")])
                    #expect(status == 200)
                    #expect(body.hasPrefix("BMC for host 192.168.1.0\ntarget: /redfish/v1/Chassis/1/Power\n"))
                    #expect(body.contains("Authorization: -\n") && body.contains("X-Auth-Token: tok\n"))
                    #expect(body.contains("User-Agent: ceems/redfish_proxy\n") && body.contains("X-Forwarded-For: 127.0.0.1\n"))
                    // Target path and query joined with the request's.
                    let (_, second) = try await send("/redfish/v1/Chassis?$expand=.", [("X-Real-IP", "10.0.0.1")])
                    #expect(second.contains("BMC for host 192.168.1.1\ntarget: /base/redfish/v1/Chassis?vendor=x&$expand=.\n"), "\(second)")
                    // A header target must be one of the configured BMC hosts (§8 #3), and is read per request (§8 #2).
                    let (headerStatus, headerBody) = try await send(
                        "/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc1)")])
                    #expect(headerStatus == 200 && headerBody.hasPrefix("BMC for host 192.168.1.1"))
                    let reply1 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)")])
                    #expect(reply1.1.hasPrefix("BMC for host 192.168.1.0"))
                    let reply2 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://10.9.9.9:443")])
                    #expect(reply2.0 == 400 && reply2.1 == "failed to find redfish target\n")
                    let reply3 = try await send("/redfish/v1/", [("X-Redfish-Url", "file:///etc/passwd")])
                    #expect(reply3.0 == 400)
                    // Unknown node, no header.
                    let reply4 = try await send("/redfish/v1/", [("X-Real-IP", "192.168.1.77")])
                    #expect(reply4.0 == 400 && reply4.1 == "failed to find redfish target\n")
                    // Paths outside the allowlist.
                    for path in ["/redfish/v1/Managers", "/redfish/v1/Chassis/1/Power/../../Systems", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", "/"] {
                        let (code, text) = try await send(path, [("X-Real-IP", "192.168.1.0")])
                        #expect(code == 401 && text.hasPrefix("access to api resource "), "\(path)")
                    }
                }
            }
        }
    }

    @Test func untrustedRealIPAndUpstreamFailures() async throws {
        try await withFakeServer(mockBMC(0)) { bmc0 in
            let port = try RealPrometheus.freePort()
            let yaml = """
                redfish_proxy:
                  trusted_proxies: []
                  allowed_target_hosts: ['127\\.0\\.0\\.1:[0-9]+']
                  targets:
                    - host_ip_addrs: [192.168.1.0]
                      url: http://127.0.0.1:\(bmc0)

                """
            try await withProxy(yaml) { send in
                // X-Real-IP is not believed from an untrusted peer: nobody can pose as another node (§8 #1).
                let reply5 = try await send("/redfish/v1/", [("X-Real-IP", "192.168.1.0")])
                #expect(reply5.0 == 400)
                // A permitted header host that does not answer is a 502, not a 400 (§8 #5).
                let reply6 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(port)")])
                #expect(reply6.0 == 502)
                let reply7 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)")])
                #expect(reply7.0 == 200)
            }
        }
    }

    @Test func withoutConfigAndWithBasicAuth() async throws {
        try await withFakeServer(mockBMC(0)) { bmc0 in
            // No config: the default allowlist still applies (§8 #4); any header host is accepted.
            try await withProxy("") { send in
                let reply8 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)")])
                #expect(reply8.1.hasPrefix("BMC for host 192.168.1.0"))
                let reply9 = try await send("/redfish/v1/Systems", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)")])
                #expect(reply9.0 == 401)
            }
            let webConfig = "basic_auth_users:\n  ceems: \(Bcrypt.hash("secret", cost: 4))\n"
            try await withProxy("", webConfig: webConfig) { send in
                let reply10 = try await send("/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)")])
                #expect(reply10.0 == 401 && reply10.1 == "Unauthorized\n")
                let authorised = try await send(
                    "/redfish/v1/", [("X-Redfish-Url", "http://127.0.0.1:\(bmc0)"), ("Authorization", "Basic " + Base64.encode(Array("ceems:secret".utf8)))])
                #expect(authorised.0 == 200)
                #expect(authorised.1.contains("Authorization: -\n"))  // never forwarded to the BMC
            }
        }
    }

    @Test func configuration() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/c.yml"
        try """
            redfish_config:
              insecure_skip_verify: true
              tls_config:
                ca_file: ca.pem
              allowed_api_resources: ['^/redfish/v1/$']

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let config = try RedfishProxyConfig.load(file: file, expandEnvironment: false)
        #expect(config.deprecatedSection)
        // The deprecated key sets only that field (§8 #8); relative paths resolve against the file.
        #expect(config.client.tlsConfig.insecureSkipVerify)
        #expect(config.client.tlsConfig.caFile == directory + "/ca.pem")
        #expect(config.allowedResources == ["^/redfish/v1/$"])
        try "redfish_proxy:\n  targets:\n    - host_ip_addrs: [1.2.3.4]\n      url: bmc-1\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try RedfishProxyConfig.load(file: file, expandEnvironment: false) }
        try "redfish_proxy:\n  allowed_api_resources: ['(']\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try RedfishProxyConfig.load(file: file, expandEnvironment: false) }
    }
}
