import CEEMSCore
import Testing

@Suite struct EnvironmentExpansionTests {
    let variables = ["HOST": "bmc1", "PORT": "443", "EMPTY": ""]

    func expand(_ text: String) -> String {
        EnvironmentExpansion.expand(text) { variables[$0] }
    }

    @Test(arguments: [
        ("$HOST:$PORT", "bmc1:443"),
        ("${HOST}-x", "bmc1-x"),
        ("cost: $$5", "cost: $5"),
        ("$UNKNOWN/x", "/x"),
        ("trailing $", "trailing $"),
        ("$ alone", "$ alone"),
        ("${HOST", "HOST"),
        ("${}", ""),
        ("no variables", "no variables"),
        ("$HOST_NAME", ""),
        ("${EMPTY}end", "end"),
    ])
    func expandsLikeGo(input: String, expected: String) {
        #expect(expand(input) == expected)
    }
}
