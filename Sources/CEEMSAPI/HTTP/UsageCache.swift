import Synchronization

/// Current-usage answers by rewritten URL, for 15 minutes (§4.5.6 step 3). Bounded: expired entries go first,
/// then the oldest.
final class UsageCache: Sendable {
    struct Entry {
        var body: String
        var expiry: Int64
    }

    let ttlMilliseconds: Int64
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(ttlMilliseconds: Int64 = 15 * 60_000, capacity: Int = 4096) {
        self.ttlMilliseconds = ttlMilliseconds
        self.capacity = capacity
    }

    func get(_ key: String, now: Int64) -> Entry? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            if entry.expiry <= now {
                entries[key] = nil
                return nil
            }
            return entry
        }
    }

    func set(_ key: String, body: String, now: Int64) {
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expiry > now }
                if entries.count >= capacity, let oldest = entries.min(by: { $0.value.expiry < $1.value.expiry }) {
                    entries[oldest.key] = nil
                }
            }
            entries[key] = Entry(body: body, expiry: now + ttlMilliseconds)
        }
    }
}
