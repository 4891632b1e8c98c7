import Logging

/// Output format of the project's log lines, as selected by `--log.format`.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt
    case json
}

extension Logger.Level {
    /// Parses the values accepted by `--log.level` (`debug`, `info`, `warn`, `error`).
    public init?(flagValue: String) {
        switch flagValue.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warn", "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    /// The level name as Prometheus' `promslog` prints it.
    var promslogName: String {
        switch self {
        case .trace, .debug: "DEBUG"
        case .info, .notice: "INFO"
        case .warning: "WARN"
        case .error, .critical: "ERROR"
        }
    }
}
