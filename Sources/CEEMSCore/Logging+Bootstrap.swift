import Logging

extension Logger {
    /// Makes the root logger of a binary from `--log.level` and `--log.format`.
    ///
    /// The logging system is never bootstrapped globally: the logger is made here once and passed down, so that
    /// tests can make their own.
    public static func makeRoot(label: String, level: Logger.Level, format: LogFormat) -> Logger {
        Logger(label: label) { _ in StructuredLogHandler(format: format, level: level) }
    }
}
