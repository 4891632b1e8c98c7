import CEEMSCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Builds the server's TLS configuration from the web config's `tls_server_config`.
///
/// Certificates and keys are re-read when their files change, at the next handshake (exporter-toolkit reloads
/// them on every connection), through NIOSSL's context callback.
public enum TLSSetup {
    public enum SetupError: Error, CustomStringConvertible {
        case unreadable(what: String, reason: String)

        public var description: String {
            switch self {
            case .unreadable(let what, let reason): "cannot load \(what): \(reason)"
            }
        }
    }

    /// The TLS channel configuration, or nil when the web config does not enable TLS.
    /// The web config of `--web.config.file` and the TLS configuration it asks for (nil: plain HTTP).
    public static func load(webConfigFile: String?, logger: Logger) throws -> (WebConfigStore, TLSChannelConfiguration?) {
        let store = try WebConfigStore(file: webConfigFile, logger: logger)
        return (store, try channelConfiguration(store: store, logger: logger))
    }

    public static func channelConfiguration(store: WebConfigStore, logger: Logger) throws -> TLSChannelConfiguration? {
        let tls = store.initialConfig.tlsServerConfig
        guard tls.isEnabled else { return nil }
        let material = TLSMaterialCache(logger: logger)
        let (chain, key) = try material.load(tls)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tlsVersion(tls.minVersion) ?? .tlsv12
        configuration.maximumTLSVersion = tlsVersion(tls.maxVersion)
        if !tls.cipherSuites.isEmpty {
            configuration.cipherSuiteValues = tls.cipherSuites.compactMap(cipher)
        }
        if !tls.curvePreferences.isEmpty {
            configuration.curves = tls.curvePreferences.compactMap(curve)
        }
        var acceptAnyClientCertificate = false
        switch TLSAuthType(rawValue: tls.clientAuthType) ?? .noClientCert {
        case .noClientCert:
            configuration.certificateVerification = .none
        case .requestClientCert:
            configuration.certificateVerification = .optionalVerification
            acceptAnyClientCertificate = true
        case .requireAnyClientCert:
            configuration.certificateVerification = .noHostnameVerification
            acceptAnyClientCertificate = true
        case .verifyClientCertIfGiven:
            configuration.certificateVerification = .optionalVerification
        case .requireAndVerifyClientCert:
            configuration.certificateVerification = .noHostnameVerification
        }
        if !tls.clientCAFile.isEmpty || !tls.clientCA.isEmpty {
            configuration.trustRoots = .certificates(try material.clientCAs(tls))
        }
        configuration.sslContextCallback = { _, promise in
            var override = NIOSSLContextConfigurationOverride()
            if let (chain, key) = try? material.load(store.initialConfigForTLS()) {
                override.certificateChain = chain.map { .certificate($0) }
                override.privateKey = .privateKey(key)
            }
            promise.succeed(override)
        }
        if acceptAnyClientCertificate {
            return TLSChannelConfiguration(tlsConfiguration: configuration) { _, promise in
                promise.succeed(.certificateVerified)
            }
        }
        return TLSChannelConfiguration(tlsConfiguration: configuration)
    }

    static func tlsVersion(_ name: String) -> TLSVersion? {
        switch TLSVersionName(rawValue: name) {
        case .tls10: .tlsv1
        case .tls11: .tlsv11
        case .tls12: .tlsv12
        case .tls13: .tlsv13
        case nil: nil
        }
    }

    /// Go cipher-suite names (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`) to IANA values.
    static func cipher(_ name: String) -> NIOTLSCipher? {
        let table: [String: NIOTLSCipher] = [
            "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
            "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
            "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
            "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
            "TLS_AES_128_GCM_SHA256": .TLS_AES_128_GCM_SHA256,
            "TLS_AES_256_GCM_SHA384": .TLS_AES_256_GCM_SHA384,
            "TLS_CHACHA20_POLY1305_SHA256": .TLS_CHACHA20_POLY1305_SHA256,
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
            "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
            "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
        return table[name]
    }

    /// Go curve names to TLS group ids.
    static func curve(_ name: String) -> NIOTLSCurve? {
        switch name {
        case "CurveP256": .secp256r1
        case "CurveP384": .secp384r1
        case "CurveP521": .secp521r1
        case "X25519": .x25519
        default: nil
        }
    }
}

extension WebConfigStore {
    /// The TLS section of the config in force (re-read when the file changed).
    func initialConfigForTLS() -> WebConfig.TLSServerConfig {
        if case .valid(let config, _) = current() { return config.tlsServerConfig }
        return initialConfig.tlsServerConfig
    }
}

/// Certificates and key of the last handshake, re-read only when their files changed.
final class TLSMaterialCache: Sendable {
    private struct Entry {
        var certificateFingerprint: FileFingerprint?
        var keyFingerprint: FileFingerprint?
        var source: WebConfig.TLSServerConfig
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    private let entry = Mutex<Entry?>(nil)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    func load(_ tls: WebConfig.TLSServerConfig) throws -> ([NIOSSLCertificate], NIOSSLPrivateKey) {
        let certificateFingerprint = tls.certFile.isEmpty ? nil : SystemFile.fingerprint(tls.certFile)
        let keyFingerprint = tls.keyFile.isEmpty ? nil : SystemFile.fingerprint(tls.keyFile)
        if let cached = entry.withLock({ entry -> ([NIOSSLCertificate], NIOSSLPrivateKey)? in
            guard let entry, entry.source == tls, entry.certificateFingerprint == certificateFingerprint,
                entry.keyFingerprint == keyFingerprint
            else { return nil }
            return (entry.chain, entry.key)
        }) {
            return cached
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(try pem(file: tls.certFile, inline: tls.cert))
        } catch {
            throw TLSSetup.SetupError.unreadable(what: "certificate \(tls.certFile)", reason: "\(error)")
        }
        do {
            key = try NIOSSLPrivateKey(bytes: try pem(file: tls.keyFile, inline: tls.key), format: .pem)
        } catch {
            // Never log key material: only the file name.
            throw TLSSetup.SetupError.unreadable(what: "private key \(tls.keyFile)", reason: "\(error)")
        }
        guard !chain.isEmpty else {
            throw TLSSetup.SetupError.unreadable(what: "certificate \(tls.certFile)", reason: "no certificate found")
        }
        entry.withLock {
            $0 = Entry(
                certificateFingerprint: certificateFingerprint, keyFingerprint: keyFingerprint, source: tls,
                chain: chain, key: key)
        }
        return (chain, key)
    }

    func clientCAs(_ tls: WebConfig.TLSServerConfig) throws -> [NIOSSLCertificate] {
        do {
            return try NIOSSLCertificate.fromPEMBytes(try pem(file: tls.clientCAFile, inline: tls.clientCA))
        } catch {
            throw TLSSetup.SetupError.unreadable(what: "client CA \(tls.clientCAFile)", reason: "\(error)")
        }
    }

    private func pem(file: String, inline: String) throws -> [UInt8] {
        if !inline.isEmpty { return Array(inline.utf8) }
        return try SystemFile.readAll(file, limit: 1 << 20)
    }
}
