import CEEMSCore
import CEEMSWeb
import HummingbirdBcrypt
import Testing

@Suite struct WebConfigTests {
    @Test func parsesTheExporterToolkitFormat() throws {
        let hash = Bcrypt.hash("secret", cost: 4)
        let path = try temporaryFile(
            """
            tls_server_config:
              cert_file: server.crt
              key_file: /etc/ceems/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              min_version: TLS13
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              prometheus: \(hash)
            rate_limit:
              interval: 100ms
              burst: 5
            """)
        let config = try WebConfig.load(file: path)
        let directory = String(path[..<path.lastIndex(of: "/")!])
        #expect(config.tlsServerConfig.certFile == directory + "/server.crt")
        #expect(config.tlsServerConfig.keyFile == "/etc/ceems/server.key")
        #expect(config.tlsServerConfig.minVersion == "TLS13")
        #expect(config.httpServerConfig.http2 == false)
        #expect(config.httpServerConfig.headers["X-Frame-Options"] == "deny")
        #expect(config.basicAuthUsers["prometheus"] == hash)
        #expect(config.rateLimit == .init(interval: .milliseconds(100), burst: 5))
    }

    @Test(arguments: [
        ("tls_server_config:\n  cert_fil: a\n", "unknown key \"tls_server_config.cert_fil\""),
        ("tls_server_config:\n  cert_file: a.crt\n", "missing key_file"),
        ("basic_auth_users:\n  alice: plaintext\n", "invalid bcrypt hash for user alice"),
        (
            "http_server_config:\n  headers:\n    X-Powered-By: swift\n",
            "HTTP header X-Powered-By can not be configured"
        ),
        ("http_server_config:\n  headers:\n    X-Content-Type-Options: off\n", "Expected one of: [\"nosniff\"]"),
        (
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Sometimes\n",
            "Invalid ClientAuth: Sometimes"
        ),
        ("rate_limit:\n  interval: soon\n", "invalid duration"),
    ])
    func rejectsInvalidFilesWithAClearMessage(content: String, message: String) throws {
        let path = try temporaryFile(content)
        do {
            _ = try WebConfig.load(file: path)
            Issue.record("expected an error for \(content)")
        } catch {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test func emptyFileMeansPlainHTTPWithoutAuth() throws {
        let config = try WebConfig.load(file: try temporaryFile(""))
        #expect(!config.tlsServerConfig.isEnabled)
        #expect(config.basicAuthUsers.isEmpty)
    }

    @Test(arguments: [
        (":9010", "", 9010), ("0.0.0.0:9010", "0.0.0.0", 9010), ("[::1]:9100", "::1", 9100),
        ("localhost:0", "localhost", 0),
    ])
    func parsesListenAddresses(text: String, host: String, port: Int) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
    }

    @Test(arguments: ["9010", "::1:9010", "host:port", ":70000", "[::1]9010"])
    func rejectsBadListenAddresses(text: String) {
        #expect(throws: ListenAddress.ParseError.self) { try ListenAddress(parsing: text) }
    }
}

@Suite struct BasicAuthVerifierTests {
    let users = ["alice": Bcrypt.hash("wonderland", cost: 4)]

    @Test func acceptsTheRightPasswordOnly() {
        let verifier = BasicAuthVerifier()
        #expect(verifier.verify(user: "alice", password: "wonderland", users: users))
        #expect(!verifier.verify(user: "alice", password: "Wonderland", users: users))
        #expect(!verifier.verify(user: "bob", password: "wonderland", users: users))
        // Cached answers stay correct.
        #expect(verifier.verify(user: "alice", password: "wonderland", users: users))
        #expect(!verifier.verify(user: "alice", password: "Wonderland", users: users))
    }

    @Test func acceptsHtpasswdHashes() {
        let hash = Bcrypt.hash("s3cret", cost: 4)
        let htpasswd = "$2y$" + hash.dropFirst(4)
        #expect(BasicAuthVerifier.isBcryptHash(htpasswd))
        #expect(BasicAuthVerifier().verify(user: "u", password: "s3cret", users: ["u": htpasswd]))
    }

    @Test func aChangedHashIsNotServedFromTheCache() {
        let verifier = BasicAuthVerifier()
        #expect(verifier.verify(user: "alice", password: "wonderland", users: users))
        #expect(
            !verifier.verify(user: "alice", password: "wonderland", users: ["alice": Bcrypt.hash("other", cost: 4)]))
    }

    @Test func tokenBucketAllowsTheBurstThenTheRate() {
        let bucket = TokenBucket(interval: .milliseconds(100), burst: 2)
        let start = ContinuousClock.now
        #expect(bucket.allow(now: start))
        #expect(bucket.allow(now: start))
        #expect(!bucket.allow(now: start))
        #expect(bucket.allow(now: start + .milliseconds(110)))
        #expect(!bucket.allow(now: start + .milliseconds(120)))
    }
}
