import CEEMSLB
import CEEMSTestSupport
import Foundation
import Testing

@Suite struct PromQLParserTests {
    func uuids(_ query: String) throws -> [[String]] {
        try PromQL.selectors(in: query).map { selector in
            selector.groups.flatMap { $0.filter { $0.name == "uuid" }.map(\.value) }
        }
    }

    @Test func findsEverySelector() throws {
        #expect(try uuids(#"a{uuid="1"}"#) == [["1"]])
        #expect(try uuids(#"a{uuid="1"} + b{uuid="2"}"#) == [["1"], ["2"]])
        #expect(try uuids(#"a{uuid="1"} + b"#) == [["1"], []])
        #expect(try uuids(#"sum by (uuid) (rate(a{uuid="1"}[5m])) / on(uuid) group_left(x) b{uuid="2"}"#) == [["1"], ["2"]])
        #expect(try uuids(#"sum(rate(a{uuid="1"}[5m])) without (instance) > bool 3"#) == [["1"]])
        #expect(try uuids(#"max_over_time((a{uuid="1"} * 2)[1h:5m] offset -5m @ start())"#) == [["1"]])
        #expect(try uuids(#"topk(3, a{uuid="1"}) or vector(1) unless b @ 1700000000.5"#) == [["1"], []])
        #expect(try uuids(#"label_replace(a{uuid="1"}, "uuid", "$1", "x", "(.*)")"#) == [["1"]])
        #expect(try uuids("a{uuid=\"1\"} # + b{uuid=\"2\"}\n - c") == [["1"], []])
        #expect(try uuids(#"-a{uuid='1'} ^ +b{uuid=`2`} atan2 c{uuid="\x33"}"#) == [["1"], ["2"], ["3"]])
        #expect(try uuids(#"{"a", "uuid"="1"}"#) == [["1"]])
        #expect(try uuids(#"count_values("uuid", a{uuid="1"})"#) == [["1"]])
        #expect(try uuids(#"sum without() (a{uuid="1",}) + Inf - NaN * 0x1F / 1e-3 % .5"#) == [["1"]])
        // Keywords are case-insensitive in PromQL.
        #expect(try uuids(#"SUM BY (x) (a{uuid="1"}) OR b Offset 5m UNLESS on(x) c{uuid="2" OR job="y"}"#) == [["1"], [], ["2"]])
    }

    @Test func keepsOrGroupsAndMetricNames() throws {
        let selectors = try PromQL.selectors(in: #"cpu{uuid="1" or job="x"}"#)
        #expect(selectors.count == 1)
        #expect(selectors[0].groups.count == 2)
        #expect(selectors[0].groups[1] == [
            LabelMatcher(name: "__name__", op: .equal, value: "cpu"), LabelMatcher(name: "job", op: .equal, value: "x"),
        ])
        let sumSelector = try PromQL.selectors(in: "sum")
        #expect(sumSelector.count == 1)
    }

    @Test(arguments: [
        "", "a{", "a{uuid=}", #"a{uuid="1"}[5m"#, "sum(", #"a{uuid="1"}}"#, "a + ", "a b", #"a{uuid!"1"}"#,
        #"sum by (a{uuid="1"}) (b)"#, #""unterminated"#, #"a{uuid="\q"}"#, "1x", "a[5x]", #"a{uuid="1"} offset"#,
        "a )", "a{b=~\"1\" c=\"2\"}", String(repeating: "(", count: 500) + "a" + String(repeating: ")", count: 500),
    ])
    func rejectsInvalid(_ query: String) {
        #expect(throws: PromQLError.self) { try PromQL.selectors(in: query) }
    }

    @Test func metricSelectorIsExactlyOneSelector() throws {
        #expect(try PromQL.metricSelector(#"{service_name="1"}"#).groups.count == 1)
        #expect(throws: PromQLError.self) { try PromQL.metricSelector(#"{service_name="1"} or b"#) }
        #expect(throws: PromQLError.self) { try PromQL.metricSelector(#"rate(a{uuid="1"}[5m])"#) }
    }

    /// Every panel and variable query of the CEEMS dashboards parses once Grafana has substituted its variables.
    @Test func parsesTheCEEMSDashboards() throws {
        let directory = SharedReference.root + "/fixtures/dashboards"
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            Issue.record("no dashboards at \(directory)")
            return
        }
        var expressions = Set<String>()
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                for (key, child) in object {
                    if key == "expr", let text = child as? String { expressions.insert(text) }
                    walk(child)
                }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        for case let file as String in enumerator where file.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            walk(try JSONSerialization.jsonObject(with: data))
        }
        let substitutions = [
            ("${job:pipe}", "1|2"), ("$__rate_interval", "5m"), ("$__interval_ms", "300000"), ("$__interval", "1m"),
            ("$__range", "1h"), ("${uuid}", "1479763"), ("${jobid}", "1479763"), ("$jobid", "1479763"),
            ("${gpu}", "GPU-1"), ("${host}", "node.*"), ("${provider}", "owid"), ("${country_code}", "FR"),
        ]
        var parsed = 0
        for expression in expressions {
            guard !expression.isEmpty, !expression.hasPrefix("label_values("), !expression.hasPrefix("query_result(")
            else { continue }
            var text = expression
            for (variable, value) in substitutions { text = text.replacingOccurrences(of: variable, with: value) }
            #expect(throws: Never.self, "\(text)") { try PromQL.selectors(in: text) }
            parsed += 1
        }
        #expect(parsed > 150)
    }
}
