import CEEMSCore
import Foundation
import Testing

@testable import CEEMSAPI

@Suite struct MetricMapFormatTests {
    @Test(arguments: [
        (970588160.0, "970588160"), (21.221493941, "21.22149394"), (133.0442607, "133.04426070"), (0, "0"),
        (-3, "-3"), (.nan, "0"), (.infinity, "0"), (-.infinity, "0"), (0.000270621426980, "0.00027062"),
        (9.3e18, "9300000000000000000.00000000"), (1e-9, "0.00000000"),
    ])
    func formatsNumbersLikeTheReference(value: Double, expected: String) {
        #expect(MetricMap.format(value) == expected)
    }

    @Test func canonicalTextSortsKeys() {
        let map = MetricMap(["walltime": 2962, "alloc_cputime": 23696, "b-key": 0.5])
        #expect(map.json == #"{"alloc_cputime":23696,"b-key":0.50000000,"walltime":2962}"#)
    }

    @Test func parsesStoredMaps() {
        #expect(MetricMap.parse(#"{"total":14.79}"#) == MetricMap(["total": 14.79]))
        #expect(MetricMap.parse("null") == nil)
        #expect(MetricMap.parse(nil) == nil)
        #expect(MetricMap.parse("{not json") == nil)
        #expect(MetricMap.parse(#"{"a":"text","b":1}"#) == MetricMap(["b": 1]))
    }

    @Test func addsAndAveragesLikeTheSQLFunctions() {
        let sum = MetricMap.adding(MetricMap(["a": 1, "b": 2]), MetricMap(["b": 3, "c": 4]))
        #expect(sum == MetricMap(["a": 1, "b": 5, "c": 4]))
        #expect(MetricMap.adding(nil, MetricMap(["a": 1])) == MetricMap(["a": 1]))
        let average = MetricMap.weightedAverage(
            MetricMap(["global": 0.5]), MetricMap(["global": 1.0]), weights: (100, 300))
        #expect(average == MetricMap(["global": 0.875]))
        // A key only in one map averages over that map's weight.
        let partial = MetricMap.weightedAverage(MetricMap(["x": 2]), MetricMap(["y": 4]), weights: (1, 3))
        #expect(partial == MetricMap(["x": 2, "y": 4]))
        // Zero weights keep the undivided Σ(v·w) = 0; a missing weight counts as 0 (§15 #33).
        #expect(
            MetricMap.weightedAverage(MetricMap(["g": 5]), MetricMap(["g": 7]), weights: (0, nil))
                == MetricMap(["g": 0]))
    }
}

@Suite struct JSONTests {
    @Test func escapesLikeGo() {
        var writer = JSONWriter()
        writer.string("<a href=\"x\">&\u{2028}\n\u{01}é")
        #expect(writer.text == #""\u003ca href=\"x\"\u003e\u0026\u2028\n\u0001é""#)
    }

    @Test func parsesAndRewritesGenericMapsSorted() throws {
        let value = try #require(JSONValue.parse(#"{"z":1,"a":{"y":[1,2.50,"s"],"b":null},"m":true}"#))
        var writer = JSONWriter()
        writer.value(value)
        #expect(writer.text == #"{"a":{"b":null,"y":[1,2.50,"s"]},"m":true,"z":1}"#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "\"\\u12\"", "tru", String(repeating: "[", count: 200)])
    func rejectsMalformedJSON(text: String) {
        #expect(JSONValue.parse(text) == nil)
    }

    @Test func decodesEscapesAndSurrogates() {
        #expect(JSONValue.parse(#""a\u00e9\ud83d\ude00\t""#) == .string("aé😀\t"))
    }
}

@Suite struct WallClockTests {
    let paris = TimeZone(identifier: "Europe/Paris")!

    @Test func formatsAndParsesOffsets() throws {
        let milliseconds = try #require(WallClock.parse("2023-02-21T15:48:20+0100"))
        #expect(milliseconds == 1_676_990_900_000)
        #expect(WallClock.format(milliseconds: milliseconds, zone: paris) == "2023-02-21T15:48:20+0100")
        #expect(
            WallClock.format(milliseconds: milliseconds, zone: TimeZone(identifier: "UTC")!)
                == "2023-02-21T14:48:20+0000")
        #expect(WallClock.parse("2024-07-02T14:49:39Z") == 1_719_931_779_000)
        #expect(WallClock.parse("2024-07-02T14:49:39.123456+02:00") == 1_719_924_579_000)
        #expect(WallClock.parse("Unknown") == nil)
        #expect(WallClock.parse("2024-13-02T14:49:39+0000") == nil)
    }

    @Test func wallTimeAcrossDaylightSaving() {
        // 2024-03-31: Paris moves from +0100 to +0200.
        #expect(WallClock.parseWallTime("2024-03-31T01:00:00", zone: paris) == 1_711_843_200_000)
        #expect(WallClock.parseWallTime("2024-03-31T04:00:00", zone: paris) == 1_711_850_400_000)
        #expect(WallClock.format(milliseconds: 1_711_850_400_000, zone: paris) == "2024-03-31T04:00:00+0200")
        #expect(WallClock.midnight(milliseconds: 1_711_850_400_000, zone: paris) == "2024-03-31T00:00:00")
        #expect(WallClock.parseWallTime("2024-03-31", zone: paris) == 1_711_839_600_000)
    }

    @Test(arguments: [
        (Int64(0), "00:00:00"), (59, "00:00:59"), (3600, "01:00:00"), (86399, "23:59:59"), (86400, "00:00:00"),
        (86401, "1-00:00:01"), (93600, "1-02:00:00"), (-5, "00:00:00"),
    ])
    func elapsed(seconds: Int64, expected: String) {
        #expect(WallClock.elapsed(seconds: seconds) == expected)
    }

    @Test func httpDatesAreGMT() {
        #expect(HTTPDate.format(milliseconds: 1_676_990_900_000) == "Tue, 21 Feb 2023 14:48:20 GMT")
    }
}

@Suite struct QueryParametersTests {
    @Test func decodesRepeatsAndReencodesSorted() {
        var query = QueryParameters("uuid=1&b=x+y&uuid=2&a=%3Cz%3E&flag")
        #expect(query.values("uuid") == ["1", "2"])
        #expect(query.first("b") == "x y")
        #expect(query.has("flag"))
        query.set("logged_user", ["usr 1"])
        #expect(query.encoded == "a=%3Cz%3E&b=x+y&flag=&logged_user=usr+1&uuid=1&uuid=2")
    }

    @Test func malformedEscapesDropTheKey() {
        let query = QueryParameters("a=%zz&b=1&%=2")
        #expect(query.first("a") == nil)
        #expect(query.first("b") == "1")
    }
}

@Suite struct TemplateTests {
    @Test(arguments: [
        (Duration.zero, "0s"), (.milliseconds(500), "500ms"), (.seconds(15), "15s"), (.seconds(60), "1m0s"),
        (.seconds(900), "15m0s"), (.seconds(86399), "23h59m59s"), (.seconds(3600), "1h0m0s"),
        (.milliseconds(1500), "1.5s"), (.microseconds(1), "1µs"),
    ])
    func goDurationStrings(duration: Duration, expected: String) {
        #expect(GoDurationFormat.string(duration) == expected)
    }

    @Test func rendersPlaceholdersWithWhitespace() {
        let values = QueryTemplateValues(
            uuids: ["1", "2"], range: .milliseconds(3_600_900), scrapeInterval: .seconds(15),
            evaluationInterval: .seconds(60))
        let text = values.render(
            #"x{uuid=~"{{.UUIDs}}"}[{{ .Range }}:{{.ScrapeInterval}}] * {{.ScrapeIntervalMilli}} {{.RateInterval}} {{.EvaluationIntervalMilli}} {{.Other}}"#
        )
        #expect(text == #"x{uuid=~"1|2"}[1h0m0s:15s] * 15000 1m0s 60000 {{.Other}}"#)
    }

    @Test func batchSizeFollowsMaxSamples() {
        var settings = TSDBClient.Settings()
        settings.scrapeInterval = .seconds(10)
        settings.maxSamples = 50_000_000
        let options = TSDBUpdater.Options()
        // 1 day at 10 s = 8640 samples per series; 50M / (50 × 8640) = 115 labels; × 0.5 = 57.
        #expect(
            TSDBUpdater.batchSize(windowSeconds: 86400, settings: settings, options: options, unitCount: 1000) == 57)
        #expect(TSDBUpdater.batchSize(windowSeconds: 86400, settings: settings, options: options, unitCount: 20) == 20)
        settings.maxSamples = 1000
        #expect(
            TSDBUpdater.batchSize(windowSeconds: 86400, settings: settings, options: options, unitCount: 1000) == 10)
    }
}

@Suite struct StoredJSONTests {
    func metric(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { StoredJSON.isCanonicalMetricMap($0) }
    }

    func generic(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { StoredJSON.isCanonicalGenericMap($0) }
    }

    @Test func canonicalMetricMapsAreRecognised() {
        #expect(metric("{}"))
        #expect(metric(#"{"alloc_cputime":23696,"walltime":2962}"#))
        #expect(metric(#"{"a":-3,"b":0.50000000,"c":9300000000000000000.00000000}"#))
        // Everything the canonical writer would print differently is re-encoded.
        for text in [
            #"{"total":14.79}"#, #"{"b":1,"a":2}"#, #"{"a":1,"a":2}"#, #"{"a":1.00000000}"#, #"{"a":01}"#,
            #"{"a":1e3}"#, #"{ "a":1}"#, #"{"a\"b":1}"#, #"{"<":1}"#, #"{"a":1,}"#, #"{"a":}"#, "{", "null", "",
            #"{"a":1}x"#, #"{"a":"1"}"#, #"{"é":1}"#,
        ] {
            #expect(!metric(text), "\(text)")
        }
    }

    @Test func canonicalGenericMapsAreRecognised() {
        #expect(generic(#"{"billing":80,"cpus":8,"mem":343597383680}"#))
        #expect(generic(#"{"exit_code":"0:0","metadata":{"z":1,"a":[1.5,"x",null,true]},"nodelist":"n[1-2]"}"#))
        #expect(generic(#"{"vcpus":0.5}"#) == false)  // top-level numbers are re-encoded unless integers
        for text in [
            #"{"b":1,"a":2}"#, #"{"a":"<b>"}"#, #"{"a":"\u0041"}"#, #"{"a":[1,]}"#, #"{"a": 1}"#, #"{"a":tru}"#,
            #"{"a":{"b":}}"#, "[1]", #"{"a":1}}"#, #"{"a":"x\u2028"}"#,
        ] {
            #expect(!generic(text), "\(text)")
        }
    }

    /// Whatever the stored text, a served unit is valid JSON equal in value to the stored maps.
    @Test(arguments: [
        #"{"total":14.79}"#, #"{"global":0.50000000}"#, #"{"b":1,"a":2.5}"#, "null", "{}", "garbage", #"{"a":"x"}"#,
    ])
    func servedMapsAreValidJSON(stored: String) throws {
        var unit = ComputeUnit(clusterID: "c", resourceManager: "slurm", uuid: "1")
        unit.storedMetrics = Array(repeating: stored, count: MetricField.allCases.count)
        unit.storedAllocation = stored
        unit.storedTags = stored
        var writer = JSONWriter()
        unit.write(to: &writer)
        let parsed = try #require(JSONValue.parse(writer.text), "\(writer.text)")
        if let map = MetricMap.parse(stored), !map.isEmpty {
            #expect(
                MetricMap.parse(
                    writer.text.isEmpty
                        ? nil
                        : {
                            var w = JSONWriter()
                            w.value(parsed["avg_cpu_usage"] ?? .null)
                            return w.text
                        }()) == map)
        } else {
            #expect(parsed["avg_cpu_usage"] == nil)
        }
    }
}
