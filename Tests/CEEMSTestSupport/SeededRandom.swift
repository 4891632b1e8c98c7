/// A deterministic random generator (SplitMix64) for property tests: a failure reproduces with its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Random bytes (half drawn from `alphabet`, which makes plausible-looking text).
    public mutating func bytes(maximumLength: Int, alphabet: [UInt8]) -> [UInt8] {
        let length = Int.random(in: 0...maximumLength, using: &self)
        if Bool.random(using: &self) {
            return (0..<length).map { _ in UInt8.random(in: 0...255, using: &self) }
        }
        return (0..<length).map { _ in alphabet.randomElement(using: &self)! }
    }

    /// `valid` with a few random edits: bytes flipped, inserted, deleted, or the text cut short.
    public mutating func mutate(_ valid: [UInt8]) -> [UInt8] {
        var bytes = valid
        for _ in 0..<Int.random(in: 1...4, using: &self) {
            switch Int.random(in: 0..<4, using: &self) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
            case 1:
                bytes.insert(UInt8.random(in: 0...255, using: &self), at: Int.random(in: 0...bytes.count, using: &self))
            case 2 where !bytes.isEmpty:
                bytes.remove(at: Int.random(in: 0..<bytes.count, using: &self))
            default:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &self)))
            }
        }
        return bytes
    }
}
