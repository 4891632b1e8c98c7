import CEEMSMetrics
import CEEMSTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct GoFloatFormatterTests {
    /// Values and their Go `strconv.FormatFloat(v, 'g', -1, 64)` rendering (checked with Go's rules: exponent form
    /// below 1e-4 and from 1e6; shortest round-trip digits).
    static let cases: [(Double, String)] = [
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (-1.0, "-1"), (732147, "732147"), (1_036_395, "1.036395e+06"),
        (30_206_976, "3.0206976e+07"), (4_294_967_296, "4.294967296e+09"),
        (9_223_372_036_854_771_712, "9.223372036854772e+18"),
        (1.25e10, "1.25e+10"), (5e9, "5e+09"), (0.75, "0.75"), (60375.292848, "60375.292848"), (1141, "1141"),
        (0.001, "0.001"), (0.0001, "0.0001"), (0.00001, "1e-05"), (123456.7, "123456.7"), (999999, "999999"),
        (1e6, "1e+06"), (1e21, "1e+21"), (1e100, "1e+100"), (Double.leastNonzeroMagnitude, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1 + 0.2, "0.30000000000000004"), (-2.5e-7, "-2.5e-07"), (100, "100"),
        (2.01362030592e11, "2.01362030592e+11"),
        (89790.04, "89790.04"), (1e-4 * 3, "0.00030000000000000003"), (9_007_199_254_740_992, "9.007199254740992e+15"),
    ]

    @Test(arguments: cases)
    func formatsLikeGo(value: Double, expected: String) {
        #expect(GoFloatFormatter.format(value) == expected)
    }

    @Test func formatsSpecialValues() {
        #expect(GoFloatFormatter.format(.nan) == "NaN")
        #expect(GoFloatFormatter.format(.infinity) == "+Inf")
        #expect(GoFloatFormatter.format(-.infinity) == "-Inf")
    }

    /// Every rendering must read back as the same double, and use the exponent form exactly when Go does.
    @Test func roundTripsRandomValues() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let bits = UInt64.random(in: 0...UInt64.max, using: &generator)
            let value = Double(bitPattern: bits)
            guard value.isFinite, value != 0 else { continue }
            let text = GoFloatFormatter.format(value)
            #expect(Double(text) == value, "\(text) does not read back as \(value)")
            let magnitude = value.magnitude
            let exponentForm = text.contains("e")
            #expect(exponentForm == (magnitude < 1e-4 || magnitude >= 1e6), "\(text)")
        }
    }

    /// The values of CEEMS' recorded outputs (the conformance suite, read where it is) format to the same text.
    @Test(.enabled(if: ConformanceFiles.available)) func formatsEveryConformanceValueIdentically() throws {
        var checked = 0
        for file in ConformanceFiles.expectedOutputs() {
            for line in file.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " ") else { continue }
                let text = String(line[line.index(after: space)...])
                guard let value = Double(text) else { continue }
                #expect(GoFloatFormatter.format(value) == text)
                checked += 1
            }
        }
        #expect(checked > 1000)
    }
}

/// The recorded outputs of the exporter conformance suite in ../shared (present in CI, beside the clone).
enum ConformanceFiles {
    static var available: Bool { SharedReference.available }

    static func expectedOutputs() -> [String] {
        SharedReference.files(in: SharedReference.expected).filter { $0.hasSuffix(".txt") }
            .compactMap { SharedReference.read(SharedReference.expected + "/" + $0) }
    }
}
