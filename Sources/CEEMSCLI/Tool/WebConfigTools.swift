import CEEMSCore
import CEEMSWeb
import Foundation
import HummingbirdBcrypt
import Logging

/// `config create-web-config` and `check web-config` (ceems-tool.md §3.1, §3.2).
public enum WebConfigTools {
    public struct CreateOptions: Sendable {
        public var basicAuth = true
        public var tls = false
        public var tlsHosts: [String] = []
        public var tlsValidity: Duration = .seconds(8760 * 3600)
        public var outputDirectory = "config"

        public init() {}
    }

    static let passwordAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// 24 characters from [a-zA-Z0-9], drawn from the system CSPRNG without modulo bias.
    static func password() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in passwordAlphabet.randomElement(using: &generator)! })
    }

    /// Creates `<dir>/web-config.yml` (and the self-signed certificate with `--tls`); returns the password.
    @discardableResult
    public static func create(_ options: CreateOptions, console: ToolConsole) async throws -> String {
        if options.tls && options.tlsHosts.isEmpty { throw ToolError("--tls.host must be provided.") }
        let directory = options.outputDirectory
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ToolError("cannot create \(directory): \(error.localizedDescription)")
        }
        var certFile = ""
        var keyFile = ""
        if options.tls {
            try await selfSignedCertificate(options, directory: directory)
            (certFile, keyFile) = ("cert.pem", "key.pem")
        }
        var text = "tls_server_config:\n  cert_file: \(YAMLText.quoted(certFile))\n  key_file: \(YAMLText.quoted(keyFile))\n"
        var plain = ""
        if options.basicAuth {
            plain = password()
            text += "basic_auth_users:\n  ceems: \(YAMLText.quoted(Bcrypt.hash(plain, cost: 10)))\n"
        }
        let path = directory + "/web-config.yml"
        try writeSecret(text, to: path)
        console.say("web config file created at \(path)")
        if options.basicAuth {
            console.say("plain text password for basic auth is \(plain)")
            console.say("store the plain text password securely as you will need it to configure Prometheus")
        }
        return plain
    }

    static func writeSecret(_ text: String, to path: String) throws {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ToolError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw ToolError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// An ECDSA P-256 self-signed CA/server certificate made by `openssl` (O=Acme Co, serial < 2^128, SANs from
    /// the hosts, KeyUsage DigitalSignature+CertSign, ExtKeyUsage ServerAuth), key as PKCS#8, mode 0600.
    static func selfSignedCertificate(_ options: CreateOptions, directory: String) async throws {
        guard let openssl = CommandRunner.lookPath("openssl") else {
            throw ToolError("--tls needs the openssl command (package openssl) to make the certificate")
        }
        var generator = SystemRandomNumberGenerator()
        let serial = String(format: "0x%016llx%016llx", generator.next() >> 1, generator.next())
        let names = options.tlsHosts.map { host in
            IPAddressText.isIPAddress(host) ? "IP:\(host)" : "DNS:\(host)"
        }
        // openssl 3.0 takes whole days; a validity that is not a whole number of days is rounded up.
        let days = max(1, Int((options.tlsValidity.inSeconds / 86400).rounded(.up)))
        let key = directory + "/key.pem"
        let cert = directory + "/cert.pem"
        let environment = ["PATH": "/usr/bin:/bin", "OPENSSL_CONF": "/dev/null"]
        do {
            _ = try await CommandRunner().run(
                openssl,
                arguments: [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-days", String(days), "-subj", "/O=Acme Co", "-set_serial", serial,
                    "-addext", "subjectAltName=" + names.joined(separator: ","),
                    "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                    "-addext", "extendedKeyUsage=serverAuth",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                ], environment: environment, timeout: .seconds(30))
        } catch {
            throw ToolError("cannot create the TLS certificate: \(error)")
        }
        chmod(key, 0o600)
    }

    /// `check web-config`: one line per file; whether all passed.
    public static func check(files: [String], console: ToolConsole) -> Bool {
        var passed = true
        let logger = Logger(label: "ceems_tool", factory: { _ in SwiftLogNoOpLogHandler() })
        for file in files {
            do {
                _ = try TLSSetup.load(webConfigFile: file, logger: logger)
                console.say("\(file) SUCCESS")
            } catch {
                console.say("\(file) FAILED: \(error)")
                passed = false
            }
        }
        return passed
    }
}

enum IPAddressText {
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
