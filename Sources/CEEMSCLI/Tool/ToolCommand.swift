import ArgumentParser
import CEEMSCore
import CEEMSWeb
import Foundation

/// `ceems_tool` (ceems-tool.md §2): every message on stderr, exit 1 on failure.
public struct CEEMSToolCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ceems_tool",
        abstract: "Tooling for the CEEMS.",
        version: BuildInfo.versionText(program: "ceems_tool"),
        subcommands: [Check.self, Config.self, TSDB.self]
    )

    public init() {}

    /// The console of the process: stderr and stdin.
    public static var standardConsole: ToolConsole {
        ToolConsole(
            write: { FileHandle.standardError.write(Data($0.utf8)) },
            readLine: { Swift.readLine(strippingNewline: true) })
    }

    /// Runs `body`, printing a failure on stderr and exiting 1.
    static func guarded(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            standardConsole.say("ceems_tool: error: \(error)")
            throw ExitCode.failure
        }
    }

    // MARK: check

    public struct Check: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Check the health of the CEEMS components and their configuration.",
            subcommands: [Healthy<APIServer>.self, Healthy<LoadBalancer>.self, WebConfigCheck.self])

        public init() {}
    }

    /// A component whose `/health` `check <name>-healthy` asks.
    public protocol HealthTarget {
        static var commandName: String { get }
        static var component: String { get }
        static var defaultURL: String { get }
    }

    public enum APIServer: HealthTarget {
        public static let commandName = "api-healthy"
        public static let component = "CEEMS API server"
        public static let defaultURL = "http://localhost:9020"
    }

    public enum LoadBalancer: HealthTarget {
        public static let commandName = "lb-healthy"
        public static let component = "CEEMS load balancer"
        public static let defaultURL = "http://localhost:9030"
    }

    public struct Healthy<Target: HealthTarget>: AsyncParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: Target.commandName, abstract: "Check if the \(Target.component) is healthy.")
        }

        @Option(name: .customLong("http.config.file"), help: "HTTP client configuration file.")
        var httpConfigFile: String?

        @Option(name: .customLong("url"), help: "The URL of the component.")
        var url = Target.defaultURL

        public init() {}

        public func run() async throws {
            try await CEEMSToolCommand.guarded {
                try await HealthCheck.run(url: url, httpConfigFile: httpConfigFile, console: CEEMSToolCommand.standardConsole)
            }
        }
    }

    public struct WebConfigCheck: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "web-config", abstract: "Check if the web config files are valid.")

        @Argument(help: "The web config files to check.")
        var files: [String]

        public init() {}

        public func validate() throws {
            guard !files.isEmpty else { throw ValidationError("at least one web config file is required") }
            for file in files where !FileManager.default.fileExists(atPath: file) {
                throw ValidationError("path '\(file)' does not exist")
            }
        }

        public func run() async throws {
            if !WebConfigTools.check(files: files, console: CEEMSToolCommand.standardConsole) { throw ExitCode.failure }
        }
    }

    // MARK: config

    public struct Config: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Create configuration files for the CEEMS components.", subcommands: [CreateWebConfig.self])

        public init() {}
    }

    public struct CreateWebConfig: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "create-web-config",
            abstract: "Create a web config file with basic auth (bcrypt) and, optionally, a self-signed TLS certificate.")

        @Option(name: .customLong("basic-auth"), help: "Add basic auth (user ceems, random password).")
        var basicAuth = true

        @Flag(name: .customLong("tls"), inversion: .prefixedNo, help: "Create a self-signed TLS certificate.")
        var tls = false

        @Option(name: .customLong("tls.host"), help: "Host name or IP address of the certificate (repeatable).")
        var tlsHosts: [String] = []

        @Option(name: .customLong("tls.validity"), help: "Validity of the TLS certificate.")
        var tlsValidity = "8760h"

        @Option(name: .customLong("output-dir"), help: "Directory of the output files.")
        var outputDirectory = "config"

        public init() {}

        public func run() async throws {
            try await CEEMSToolCommand.guarded {
                var options = WebConfigTools.CreateOptions()
                options.basicAuth = basicAuth
                options.tls = tls
                options.tlsHosts = tlsHosts
                options.outputDirectory = outputDirectory
                do {
                    options.tlsValidity = try GoDuration.parse(tlsValidity)
                } catch {
                    throw ToolError("--tls.validity: \(error)")
                }
                try await WebConfigTools.create(options, console: CEEMSToolCommand.standardConsole)
            }
        }
    }

    // MARK: tsdb

    public struct TSDB: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "tsdb", abstract: "Generate Prometheus configuration from a running Prometheus.",
            subcommands: [CreateRecordingRules.self, CreateRelabelConfigs.self, CreateUpdaterQueries.self])

        public init() {}
    }

    /// Options of every `tsdb` subcommand.
    public struct TSDBOptions: ParsableArguments {
        @Option(name: .customLong("http.config.file"), help: "HTTP client configuration file for Prometheus.")
        var httpConfigFile: String?

        @Option(name: .customLong("url"), help: "The URL of Prometheus.")
        var url = "http://localhost:9090"

        @Option(name: .customLong("start"), help: "Start of the look-up window (RFC 3339 or Unix seconds; default: 3h ago).")
        var start: String?

        @Option(name: .customLong("end"), help: "End of the look-up window (RFC 3339 or Unix seconds; default: now).")
        var end: String?

        public init() {}

        /// (start, end) in epoch seconds.
        func window(now: Date = Date()) throws -> (Double, Double) {
            let end = try self.end.map { try ToolTime.parse($0, flag: "--end") } ?? now.timeIntervalSince1970
            let start = try self.start.map { try ToolTime.parse($0, flag: "--start") } ?? end - 3 * 3600
            guard start < end else { throw ToolError("start time is not before end time") }
            return (start, end)
        }

        /// A client with a 2 min overall timeout.
        func client() throws -> PrometheusAPI {
            try PrometheusAPI(url: url, config: try HealthCheck.clientConfig(url: url, file: httpConfigFile))
        }
    }

    public struct CreateRecordingRules: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "create-recording-rules",
            abstract: "Create recording rules that attribute node power and emissions to compute units.")

        @OptionGroup var tsdb: TSDBOptions

        @Option(name: .customLong("pue"), help: "Power usage effectiveness (PUE) of the data centre.")
        var pue: Double = 1

        @Option(name: .customLong("emission-factor"), help: "Static emission factor in gCO2/kWh.")
        var emissionFactor: Double = 0

        @Option(name: .customLong("country-code"), help: "ISO 3166-1 alpha-2 country code for emission factors.")
        var countryCode = ""

        @Option(name: .customLong("eval-interval"), help: "Evaluation interval of the rules (0s: Prometheus's).")
        var evalInterval = "0s"

        @Option(name: .customLong("output-dir"), help: "Directory of the rule files.")
        var outputDirectory = "rules"

        @Flag(name: .customLong("disable-providers"), help: .hidden)
        var disableProviders = false

        public init() {}

        public func run() async throws {
            try await CEEMSToolCommand.guarded {
                let (start, end) = try tsdb.window()
                var options = RecordingRulesGenerator.Options(start: start, end: end)
                options.pue = pue
                options.emissionFactor = emissionFactor
                options.countryCode = countryCode
                options.outputDirectory = outputDirectory
                options.disableProviders = disableProviders
                do {
                    options.evaluationInterval = try GoDuration.parse(evalInterval)
                } catch {
                    throw ToolError("--eval-interval: \(error)")
                }
                _ = try await tsdb.withClient { api, _, _ in
                    try await RecordingRulesGenerator(api: api, options: options, console: CEEMSToolCommand.standardConsole)
                        .run()
                }
            }
        }
    }

    public struct CreateRelabelConfigs: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "create-relabel-configs",
            abstract: "Create metric relabel configs for GPU exporters (join labels of the recording rules).")

        @OptionGroup var tsdb: TSDBOptions

        public init() {}

        public func run() async throws {
            try await tsdb.print(title: "Merge the following scrape_configs with the current config.") {
                try await RelabelConfigs.generate(api: $0, start: $1, end: $2)
            }
        }
    }

    public struct CreateUpdaterQueries: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "create-ceems-tsdb-updater-queries",
            abstract: "Create the API server's TSDB updater queries for the recorded series.")

        @OptionGroup var tsdb: TSDBOptions

        public init() {}

        public func run() async throws {
            try await tsdb.print(title: "Queries for TSDB updater:") {
                try await UpdaterQueries.generate(api: $0, start: $1, end: $2)
            }
        }
    }
}

extension CEEMSToolCommand.TSDBOptions {
    /// Runs `body` with a client and the look-up window, the client shut down after.
    func withClient<T>(_ body: (PrometheusAPI, Double, Double) async throws -> T) async throws -> T {
        let (start, end) = try window()
        let api = try client()
        do {
            let result = try await body(api, start, end)
            await api.shutdown()
            return result
        } catch {
            await api.shutdown()
            throw error
        }
    }

    /// Prints `title` and the YAML `generate` makes.
    func print(title: String, generate: (PrometheusAPI, Double, Double) async throws -> String) async throws {
        try await CEEMSToolCommand.guarded {
            let yaml = try await withClient(generate)
            let console = CEEMSToolCommand.standardConsole
            console.say(title)
            console.write(yaml)
        }
    }
}

/// `--start`/`--end`: RFC 3339 (nanoseconds allowed) or Unix seconds.
public enum ToolTime {
    public static func parse(_ text: String, flag: String) throws -> Double {
        if let seconds = Double(text), seconds.isFinite { return seconds }
        // Fractional seconds of any length are read by hand; the rest by the RFC 3339 parser.
        var base = text
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix(while: \.isNumber)
            fraction = Double("0." + digits) ?? 0
            base = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        guard let date = formatter.date(from: base) else {
            throw ToolError("\(flag): cannot parse \"\(text)\" as an RFC 3339 time or Unix seconds")
        }
        return date.timeIntervalSince1970 + fraction
    }
}

/// `check api-healthy` / `check lb-healthy`.
public enum HealthCheck {
    static func clientConfig(url: String, file: String?) throws -> HTTPClientConfig {
        guard let file else { return HTTPClientConfig() }
        if let components = URLComponents(string: url), components.user != nil {
            throw ToolError("Cannot set base auth in the server URL and use a http.config.file at the same time")
        }
        guard FileManager.default.fileExists(atPath: file) else { throw ToolError("path '\(file)' does not exist") }
        do {
            return try YAMLConfig.load(HTTPClientConfig.self, file: file).resolvingPaths(
                against: (file as NSString).deletingLastPathComponent)
        } catch {
            throw ToolError("\(error)")
        }
    }

    public static func run(url: String, httpConfigFile: String?, console: ToolConsole) async throws {
        var config = try clientConfig(url: url, file: httpConfigFile)
        var base = url
        if var components = URLComponents(string: url), let user = components.user {
            config.basicAuth = .init(username: user, password: components.password ?? "")
            components.user = nil
            components.password = nil
            base = components.string ?? url
        }
        while base.hasSuffix("/") { base.removeLast() }
        let client = try ConfiguredHTTPClient(config: config, retryConnections: false)
        let result: HTTPClientResult
        do {
            result = try await client.execute(url: base + "/health", timeout: .seconds(10))
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw ToolError("check failed: URL=\(url), error=\(error)")
        }
        guard result.status == 200 else { throw ToolError("check failed: URL=\(url), status=\(result.status)") }
        console.say("  SUCCESS:  \(result.text)")
    }
}
