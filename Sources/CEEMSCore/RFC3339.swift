#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 3339 UTC timestamps without Foundation.
public enum RFC3339 {
    /// `2025-03-15T10:00:00Z` (seconds precision) or with milliseconds when asked.
    public static func string(epochSeconds: Int, milliseconds: Int? = nil) -> String {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text =
            String(parts.tm_year + 1900) + "-" + String(parts.tm_mon + 1).leftPadded(to: 2) + "-"
            + String(parts.tm_mday).leftPadded(to: 2) + "T" + String(parts.tm_hour).leftPadded(to: 2) + ":"
            + String(parts.tm_min).leftPadded(to: 2) + ":" + String(parts.tm_sec).leftPadded(to: 2)
        if let milliseconds { text += "." + String(milliseconds).leftPadded(to: 3) }
        return text + "Z"
    }

    /// The current wall-clock time in seconds since the epoch.
    public static func nowEpochSeconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec)
    }

    /// The current time with milliseconds (log lines).
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return string(epochSeconds: Int(spec.tv_sec), milliseconds: Int(spec.tv_nsec) / 1_000_000)
    }
}
