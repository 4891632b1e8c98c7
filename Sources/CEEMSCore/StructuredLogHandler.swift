import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A `LogHandler` that writes one line per event to standard error, in the `logfmt` or `json` shape of
/// Prometheus' `promslog` (`time=… level=INFO source=file.swift:12 msg="…" key=value`), so that log shippers
/// configured for CEEMS keep parsing our lines.
public struct StructuredLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?

    private let format: LogFormat
    private let sink: @Sendable (String) -> Void

    public init(
        format: LogFormat,
        level: Logger.Level,
        sink: @escaping @Sendable (String) -> Void = StructuredLogHandler.writeToStandardError
    ) {
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get() {
            merged.merge(provided) { _, new in new }
        }
        if let extra = event.metadata {
            merged.merge(extra) { _, new in new }
        }
        let source = "\(Self.basename(event.file)):\(event.line)"
        let line: String
        switch self.format {
        case .logfmt:
            line = Self.logfmtLine(
                time: Self.timestamp(), level: event.level, source: source, message: event.message.description,
                metadata: merged
            )
        case .json:
            line = Self.jsonLine(
                time: Self.timestamp(), level: event.level, source: source, message: event.message.description,
                metadata: merged
            )
        }
        self.sink(line)
    }

    /// Writes a whole line with one `write(2)` so that lines of concurrent tasks never interleave.
    @Sendable public static func writeToStandardError(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    static func logfmtLine(
        time: String, level: Logger.Level, source: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var out = "time=\(time) level=\(level.promslogName) source=\(Self.logfmtValue(source)) msg="
        out += Self.logfmtValue(message)
        for key in metadata.keys.sorted() {
            out += " \(Self.logfmtKey(key))=\(Self.logfmtValue(metadata[key]!.description))"
        }
        return out
    }

    static func jsonLine(
        time: String, level: Logger.Level, source: String, message: String, metadata: Logger.Metadata
    ) -> String {
        var out = "{\"time\":\(JSONString.quote(time)),\"level\":\"\(level.promslogName)\","
        out += "\"source\":\(JSONString.quote(source)),\"msg\":\(JSONString.quote(message))"
        for key in metadata.keys.sorted() {
            out += ",\(JSONString.quote(key)):\(JSONString.quote(metadata[key]!.description))"
        }
        out += "}"
        return out
    }

    static func logfmtKey(_ key: String) -> String {
        var out = ""
        for scalar in key.unicodeScalars {
            if scalar == " " || scalar == "=" || scalar == "\"" || scalar.value < 0x20 {
                out.append("_")
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out.isEmpty ? "_" : out
    }

    static func logfmtValue(_ value: String) -> String {
        var needsQuotes = value.isEmpty
        for scalar in value.unicodeScalars
        where scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || scalar.value < 0x20 {
            needsQuotes = true
            break
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func basename(_ path: String) -> Substring {
        if let slash = path.lastIndex(of: "/") {
            return path[path.index(after: slash)...]
        }
        return path[...]
    }

    static func timestamp() -> String {
        RFC3339.now()
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
