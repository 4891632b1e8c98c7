import HummingbirdBcrypt
import Synchronization

/// Checks HTTP basic credentials against the bcrypt hashes of the web config.
///
/// bcrypt is slow on purpose (tens of milliseconds), so outcomes are cached under a keyed 64-bit digest of
/// (user, hash, password) — the password itself is never kept — and computations are serialised so that a
/// flood of wrong passwords costs one core at most. Unknown users are checked against a fixed hash so that
/// timing does not reveal which users exist.
public final class BasicAuthVerifier: Sendable {
    private struct CacheKey: Hashable {
        var digest: Int
    }

    private let cache = Mutex<[CacheKey: Bool]>([:])
    private let bcryptLock = Mutex(())
    private let maximumCacheEntries: Int

    /// A valid bcrypt hash of a random password, used for unknown users.
    static let decoyHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

    public init(maximumCacheEntries: Int = 1024) {
        self.maximumCacheEntries = maximumCacheEntries
    }

    /// Whether `password` is the password of `user` in `users` (user → bcrypt hash).
    public func verify(user: String, password: String, users: [String: String]) -> Bool {
        let knownHash = users[user]
        let hash = knownHash ?? Self.decoyHash
        var hasher = Hasher()
        hasher.combine(user)
        hasher.combine(hash)
        hasher.combine(password)
        let key = CacheKey(digest: hasher.finalize())
        if let cached = cache.withLock({ $0[key] }) {
            return cached && knownHash != nil
        }
        let matches = bcryptLock.withLock { _ in Bcrypt.verify(password, hash: Self.normalised(hash)) }
        let outcome = matches && knownHash != nil
        cache.withLock { cache in
            if cache.count >= maximumCacheEntries { cache.removeAll(keepingCapacity: true) }
            cache[key] = outcome
        }
        return outcome
    }

    /// `$2y$` (htpasswd) is the same algorithm as `$2b$`; the C implementation only knows the latter.
    static func normalised(_ hash: String) -> String {
        hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
    }

    /// Whether a string has the shape of a bcrypt hash (`$2a$`, `$2b$` or `$2y$`, two-digit cost, 53 characters).
    public static func isBcryptHash(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"),
            bytes[6] == UInt8(ascii: "$")
        else { return false }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost) else {
            return false
        }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return bytes[7...].allSatisfy { alphabet.contains($0) }
    }
}
