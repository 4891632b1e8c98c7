import AsyncHTTPClient
import CEEMSCore
import CEEMSWeb
import Hummingbird
import HummingbirdBcrypt
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

@Suite(.serialized) struct WebServerTests {
    @Test func basicAuthAnswers401WithoutOrWithWrongCredentialsAnd200WithTheRightOnes() async throws {
        var config = WebConfig()
        config.basicAuthUsers = ["prometheus": Bcrypt.hash("scrape", cost: 4)]
        config.httpServerConfig.headers = ["X-Frame-Options": "deny"]
        try await withWebServer(webConfig: config) { port in
            let url = "http://127.0.0.1:\(port)/hello"
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }

            let anonymous = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers["WWW-Authenticate"] == ["Basic"])
            #expect(try await anonymous.text() == "Unauthorized\n")

            var wrong = HTTPClientRequest(url: url)
            wrong.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("prometheus:nope".utf8)))
            #expect(try await client.execute(wrong, timeout: .seconds(5)).status == .unauthorized)

            var unknown = HTTPClientRequest(url: url)
            unknown.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("mallory:scrape".utf8)))
            #expect(try await client.execute(unknown, timeout: .seconds(5)).status == .unauthorized)

            var garbage = HTTPClientRequest(url: url)
            garbage.headers.add(name: "Authorization", value: "Basic %%%%")
            #expect(try await client.execute(garbage, timeout: .seconds(5)).status == .unauthorized)

            var right = HTTPClientRequest(url: url)
            right.headers.add(name: "Authorization", value: "Basic " + Base64.encode(Array("prometheus:scrape".utf8)))
            let ok = try await client.execute(right, timeout: .seconds(5))
            #expect(ok.status == .ok)
            #expect(ok.headers["X-Frame-Options"] == ["deny"])
            #expect(try await ok.text() == "hello")
        }
    }

    @Test func rateLimitAnswers429() async throws {
        var config = WebConfig()
        config.rateLimit = .init(interval: .seconds(60), burst: 2)
        try await withWebServer(webConfig: config) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            var statuses: [UInt] = []
            for _ in 0..<3 {
                let response = try await client.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello"), timeout: .seconds(5))
                statuses.append(response.status.code)
            }
            #expect(statuses == [200, 200, 429])
        }
    }

    @Test func servesTLSAndRequiresAVerifiedClientCertificateWhenAsked() async throws {
        let file = try temporaryFile(
            """
            tls_server_config:
              cert_file: \(TestCertificates.serverCertificate)
              key_file: \(TestCertificates.serverKey)
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(TestCertificates.caCertificate)
            """)
        try await withWebServer(tlsFile: file) { port in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(TestCertificates.caCertificate)
            let anonymous = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            defer { _ = anonymous.shutdown() }
            await #expect(throws: (any Error).self) {
                _ = try await anonymous.execute(
                    HTTPClientRequest(url: "https://localhost:\(port)/hello"), timeout: .seconds(5))
            }

            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(TestCertificates.clientCertificate).map {
                .certificate($0)
            }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: TestCertificates.clientKey, format: .pem))
            let authenticated = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            defer { _ = authenticated.shutdown() }
            let response = try await authenticated.execute(
                HTTPClientRequest(url: "https://localhost:\(port)/hello"), timeout: .seconds(5))
            #expect(response.status == .ok)
            #expect(try await response.text() == "hello")
        }
    }

    @Test func plainHTTPIsRefusedOnATLSListener() async throws {
        let file = try temporaryFile(
            """
            tls_server_config:
              cert_file: \(TestCertificates.serverCertificate)
              key_file: \(TestCertificates.serverKey)
              min_version: TLS12
            """)
        try await withWebServer(tlsFile: file) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            await #expect(throws: (any Error).self) {
                let response = try await client.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(port)/hello"), timeout: .seconds(3))
                _ = try await response.body.collect(upTo: 1024)
            }
        }
    }

    @Test func reloadsTheWebConfigWhenTheFileChanges() async throws {
        let file = try temporaryFile("")
        try await withWebServer(tlsFile: file) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { _ = client.shutdown() }
            let url = "http://127.0.0.1:\(port)/hello"
            #expect(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status == .ok)
            try await Task.sleep(for: .milliseconds(20))
            let hash = Bcrypt.hash("x", cost: 4)
            try overwrite(file, "basic_auth_users:\n  u: \(hash)\n")
            #expect(try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status == .unauthorized)
            try overwrite(file, "basic_auth_users: [broken\n")
            #expect(
                try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(5)).status
                    == .internalServerError)
        }
    }
}
