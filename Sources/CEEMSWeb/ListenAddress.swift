#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A `--web.listen-address` value: `:9010`, `0.0.0.0:9010`, `[::1]:9010`, `localhost:9010`.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// Host to bind; empty means every interface (IPv6 and IPv4 when the kernel allows, like Go).
    public var host: String
    public var port: Int

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let text): "invalid listen address \"\(text)\": expected [host]:port"
            }
        }
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(ParseError) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalid(text) }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw .invalid(text) }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalid(text) }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw .invalid(text) }
        }
        guard let port = Int(portPart), (0...65535).contains(port) else { throw .invalid(text) }
        self.host = String(hostPart)
        self.port = port
    }

    /// The host given to the socket layer.
    public var bindHost: String {
        if !host.isEmpty { return host }
        return Self.ipv6Available ? "::" : "0.0.0.0"
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static let ipv6Available: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }()
}
