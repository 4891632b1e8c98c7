#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The node name used in `hostname` labels.
public enum Hostname {
    /// `NODE_NAME` when set (Kubernetes downward API), else the kernel's host name.
    public static func current() -> String {
        if let nodeName = EnvironmentExpansion.processValue("NODE_NAME"), !nodeName.isEmpty {
            return nodeName
        }
        return system()
    }

    /// The kernel's host name (`gethostname(2)`).
    public static func system() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
