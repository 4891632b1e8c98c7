import CEEMSCore
import CEEMSTestSupport
import Testing

@Suite struct YAMLConfigTests {
    struct Sample: Decodable, Equatable {
        struct Inner: Decodable, Equatable {
            var port: Int
        }
        var name: String
        var inner: Inner?
    }

    let schema: KeySchema = .object(["name": .any, "inner": .object(["port": .any])])

    @Test func decodesKnownKeys() throws {
        let value = try YAMLConfig.decode(Sample.self, from: "name: a\ninner:\n  port: 9\n", schema: schema)
        #expect(value == Sample(name: "a", inner: .init(port: 9)))
    }

    @Test func rejectsUnknownKeysWithTheirPath() {
        #expect(throws: ConfigError.unknownKey(file: "<inline>", key: "inner.prot")) {
            try YAMLConfig.decode(Sample.self, from: "name: a\ninner:\n  prot: 9\n", schema: schema)
        }
    }

    @Test func reportsTypeErrorsWithTheKey() {
        do {
            _ = try YAMLConfig.decode(Sample.self, from: "name: a\ninner:\n  port: nine\n", schema: schema)
            Issue.record("expected an error")
        } catch {
            guard case .invalidValue(_, let key, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(key == "inner.port")
        }
    }

    @Test func reportsMalformedYAML() {
        #expect(throws: ConfigError.self) {
            try YAMLConfig.decode(Sample.self, from: "name: [unclosed\n", schema: schema)
        }
    }

    @Test func expandsEnvironmentOnlyWhenAsked() throws {
        let tree = try FixtureTree()
        try tree.file("config.yml", "name: $HOME\n")
        let path = tree.path("config.yml")
        let raw = try YAMLConfig.load(Sample.self, file: path)
        #expect(raw.name == "$HOME")
        let expanded = try YAMLConfig.load(Sample.self, file: path, expandEnvironment: true)
        #expect(expanded.name == EnvironmentExpansion.processValue("HOME"))
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: ConfigError.self) { try YAMLConfig.load(Sample.self, file: "/nonexistent/config.yml") }
    }
}
