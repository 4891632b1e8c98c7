import CEEMSLinux
import CEEMSTestSupport
import Testing

/// Every byte parser must survive arbitrary input: no trap, only nil, an error or partial values.
@Suite struct GarbageInputTests {
    static func randomInputs(count: Int) -> [ArraySlice<UInt8>] {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789 :\n\t()-.abcdefkBWattsActive\u{0}".utf8)
        return (0..<count).map { index in
            let length = Int.random(in: 0...400, using: &generator)
            if index % 2 == 0 {
                return ArraySlice((0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            return ArraySlice((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
        }
    }

    @Test func parsersNeverTrap() {
        for input in Self.randomInputs(count: 3000) {
            _ = try? ProcStat.parse(input)
            _ = CPUInfo.parse(input)
            _ = Meminfo.parse(input)
            _ = NetDev.parse(input)
            _ = ProcessSelfStat.parse(input)
            _ = ProcessLimits.softLimit("Max open files", in: input)
            let text = String(decoding: input, as: UTF8.self)
            _ = IPMIOutputParser.parseText(text)
            _ = IPMIOutputParser.parseCapmc(text)
            _ = IPMIOutputParser.parseDCMIResponse(Array(input))
            _ = ByteParsing.double(input)
            _ = ByteParsing.int64(input)
        }
    }

    @Test func integerParsingRejectsOverflowAndNonDigits() {
        #expect(ByteParsing.uint64("18446744073709551615".bytes) == UInt64.max)
        #expect(ByteParsing.uint64("18446744073709551616".bytes) == nil)
        #expect(ByteParsing.uint64("12a".bytes) == nil)
        #expect(ByteParsing.uint64("".bytes) == nil)
        #expect(ByteParsing.int64("-42".bytes) == -42)
        #expect(ByteParsing.double("3e9".bytes) == 3e9)
        #expect(ByteParsing.double("1.2.3".bytes) == nil)
    }
}
