extension StringProtocol {
    /// The string without leading and trailing ASCII whitespace (no Foundation needed).
    public func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = self.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = self.lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}

extension StringProtocol {
    /// Whether the UTF-8 bytes contain `needle`'s: a plain byte search, much cheaper than the Character-based
    /// `contains(_:)` on hot paths (cgroup path matching runs for every directory of every scrape).
    public func containsBytes(_ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard count > 0 else { return true }
        return needle.withUTF8Buffer { wanted in
            if let found = utf8.withContiguousStorageIfAvailable({ Self.search($0, for: wanted) }) { return found }
            return Array(utf8).withUnsafeBufferPointer { Self.search($0, for: wanted) }
        }
    }

    private static func search(_ bytes: UnsafeBufferPointer<UInt8>, for wanted: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= wanted.count else { return false }
        var start = 0
        let last = bytes.count - wanted.count
        while start <= last {
            if bytes[start] == wanted[0] {
                var matched = 1
                while matched < wanted.count && bytes[start + matched] == wanted[matched] { matched += 1 }
                if matched == wanted.count { return true }
            }
            start += 1
        }
        return false
    }
}
