import Synchronization

/// Requests per client per minute with a sliding-window estimate (the previous minute's count weighted by the
/// part of it still inside the window), like Go's httprate.
public final class RateLimiter: Sendable {
    struct Window {
        var minute: Int64
        var current: Int
        var previous: Int
    }

    public let limit: Int
    private let windows = Mutex<[String: Window]>([:])

    public init(limit: Int) { self.limit = limit }

    public struct Decision: Sendable {
        public var allowed: Bool
        public var remaining: Int
        /// Epoch seconds when the current window ends.
        public var reset: Int64
    }

    public func check(key: String, nowMilliseconds: Int64) -> Decision {
        let minute = nowMilliseconds / 60_000
        let elapsedFraction = Double(nowMilliseconds % 60_000) / 60_000
        return windows.withLock { windows in
            if windows.count > 100_000 {
                windows = windows.filter { $0.value.minute >= minute - 1 }
            }
            var window = windows[key] ?? Window(minute: minute, current: 0, previous: 0)
            if window.minute != minute {
                window.previous = window.minute == minute - 1 ? window.current : 0
                window.current = 0
                window.minute = minute
            }
            let estimate = Double(window.previous) * (1 - elapsedFraction) + Double(window.current)
            let reset = (minute + 1) * 60
            guard estimate < Double(limit) else {
                windows[key] = window
                return Decision(allowed: false, remaining: 0, reset: reset)
            }
            window.current += 1
            windows[key] = window
            let remaining = max(0, limit - Int((estimate + 1).rounded(.up)))
            return Decision(allowed: true, remaining: remaining, reset: reset)
        }
    }
}

/// An IPv4/IPv6 network (`10.0.0.0/8`, `::1/128`) or a single address.
public struct IPNetwork: Sendable, Equatable {
    let bytes: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPNetwork.parseAddress(String(first)) else { return nil }
        bytes = address
        if parts.count == 2 {
            guard let bits = Int(parts[1]), bits >= 0, bits <= address.count * 8 else { return nil }
            prefix = bits
        } else {
            prefix = address.count * 8
        }
    }

    public func contains(_ text: String) -> Bool {
        guard var address = IPNetwork.parseAddress(text) else { return false }
        if address.count == 16, bytes.count == 4, address[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        var remaining = prefix
        for index in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address[index] & mask != bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    static func parseAddress(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parseIPv6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard let value = UInt8(part) else { return nil }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let percent = text.firstIndex(of: "%") { text = String(text[..<percent]) }
        let halves = text.components(separatedByString: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for piece in part.split(separator: ":", omittingEmptySubsequences: false) {
                if piece.contains("."), let v4 = parseAddress(String(piece)) {
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                } else {
                    guard piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                    out.append(value)
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension String {
    func components(separatedByString separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
