import CEEMSCore
import Testing

@Suite struct GoDurationTests {
    @Test(arguments: [
        ("1s", Duration.seconds(1)), ("500ms", .milliseconds(500)), ("1h30m", .seconds(5400)),
        ("2d", .seconds(172_800)),
        ("1.5s", .milliseconds(1500)), ("0", .zero), ("100us", .microseconds(100)), ("-2m", .seconds(-120)),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try GoDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "s", "10", "1x", "1.2.3s", "abc"])
    func rejects(text: String) {
        #expect(throws: GoDuration.ParseError.invalid(text)) { try GoDuration.parse(text) }
    }
}
