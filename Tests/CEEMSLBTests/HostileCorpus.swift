import CEEMSLB
import Foundation

/// One request a non-admin (usr1, who owns 1479763 and 1479765 through project acc1) might send.
struct CorpusRequest: Sendable, CustomStringConvertible {
    var kind: BackendKind = .tsdb
    var method: String = "GET"
    var path: String
    var query: String = ""
    var body: [UInt8] = []
    var contentType: String?
    var headers: [(String, String)] = []
    var cluster = "slurm-0"

    var description: String {
        "\(method) \(path)\(query.isEmpty ? "" : "?" + query) body=\(String(decoding: body, as: UTF8.self).prefix(200))"
    }
}

/// Hostile requests: each reads data of a unit usr1 does not own, series of no unit, or a path a user may not
/// use. None may reach a backend.
enum HostileCorpus {
    static let mine = #"uuid="1479763""#
    static let foreign = #"uuid="1481510""#

    /// PromQL expressions that must be refused.
    static let expressions: [String] = {
        let m = mine
        let f = foreign
        var list = [
            // Several selectors, one foreign or unconstrained (the reference's first-uuid leak).
            "a{\(m)} + b{\(f)}", "a{\(m)} + b", "a{\(m)} or b{\(f)}", "a{\(m)} unless b{\(f)}", "a{\(m)} and b{\(f)}",
            "a{\(m)} * on(uuid) group_left b{\(f)}", "a{\(m)} / ignoring(uuid) b", "b{\(f)} + a{\(m)}",
            "a{\(m)} or up", "a{\(m)} or {__name__=~\".+\"}", "a{\(m)} + on() group_right() b{job=\"x\"}",
            "sum(a{\(m)}) + sum(b{\(f)})", "max(a{\(m)}, b{\(f)})", "a{\(m)} > bool b{\(f)}", "a{\(m)} atan2 b{\(f)}",
            "(a{\(m)} + (b{\(f)}))", "a{\(m)} + -b{\(f)}", "-(-(b{\(f)}))",
            // No or bad uuid matcher.
            "b", "up", "{__name__=~\".+\"}", "{__name__=\"a\"}", "{job=\"x\"}", "sum(rate(b[5m]))", "b{uuid=~\".*\"}",
            "b{uuid=~\".+\"}", "b{uuid=~\"1479763|.*\"}", "b{uuid=~\"1479763.*\"}", "b{uuid!=\"1479763\"}",
            "b{uuid!~\"1479763\"}", "b{uuid=~\"(?i)1479763\"}", "b{uuid=~\"1479763|\"}", "b{uuid=~\"|1479763\"}",
            "b{uuid=\"\"}", "b{uuid=~\"\"}", "b{uuid=~\"147976[3]\"}", "b{uuid=~\"^1479763$\"}", "b{uuid=~\"1479763\\\\d\"}",
            "b{uuid=~\"1479763||1481510\"}", "b{uuid=~\"1479763|1481510\"}", "b{uuid=\"1479763|1481510\"}",
            "b{UUID=\"1479763\"}", "b{gpuuuid=\"1479763\"}", "b{uuid_x=\"1479763\"}", "b{uuid=\"1479763 \"}",
            "b{uuid=\"1479763\\n\"}", "b{uuid=\"1479763\\u0000\"}", "b{uuid=\"\\x31481510\"}", "b{uuid=\"\\u0031481510\"}",
            "b{uuid=\"\\061481510\"}", "b{uuid=`1481510`}", "b{uuid='1481510'}",
            "b{uuid=\"1479763\", uuid!=\"x\", job=~\".*\"} or c", "b{\(f), \(m)}", "b{\(m), \(f)}",
            // Quoted names and `or` inside braces.
            "{\"uuid\"=\"1481510\"}", "{\"b\", \(f)}", "{\"b\"}", "b{\(m) or job=\"x\"}", "b{job=\"x\" or \(m)}",
            "b{\(m) or \(f)}", "{\"uuid\"=~\".*\"}",
            // Subqueries, offsets, @.
            "max_over_time(b{\(f)}[5m:1m])", "rate(a{\(m)}[5m]) + rate(b{\(f)}[5m])", "(a{\(m)})[5m:] offset 1h + b{\(f)}",
            "b{\(f)} offset 1d", "b{\(f)} @ end()", "avg_over_time((a{\(m)} + b)[1h:])", "b[5m] @ 100 offset -1m",
            "sum_over_time(rate(b{uuid=~\".+\"}[5m])[1h:5m])",
            // Functions and label tricks.
            "label_replace(b{\(f)}, \"uuid\", \"1479763\", \"\", \"\")",
            "label_replace(a{\(m)}, \"x\", \"$1\", \"uuid\", \"(.*)\") or b{uuid=~\".+\"}",
            "label_join(b, \"uuid\", \",\", \"job\")", "count_values(\"uuid\", b)", "absent(b{\(f)})",
            "vector(1) * on() group_left b{\(f)}", "scalar(b{\(f)}) * a{\(m)}", "sort_desc(b)", "timestamp(b{\(f)})",
            "histogram_quantile(0.9, sum by (le) (rate(b_bucket[5m])))", "topk(1, b{\(f)})",
            "quantile(0.5, b{\(f)})", "count by (uuid) (b)", "group(b{\(f)})", "limitk(1, b)",
            "info(a{\(m)}, {k8s_cluster_name=~\".+\"})", "a{\(m)} + foo(b{\(f)})", "sum by (uuid) (b{\(f)}) by (uuid)",
            "sum without (uuid) (b)", "b{\(f)} == bool a{\(m)}",
            // uuids hidden in strings and comments.
            "b{\(f)} # {\(m)}", "b # a{\(m)}", "label_replace(b, \"a\", \"\(m)\", \"\", \"\")",
            "b{job=\"{\(m)}\"}", "count_values(\"uuid=\\\"1479763\\\"\", b)", "b{\(f)} #\n + a{\(m)}",
            "# only a comment\nb", "b{job=\"x\", comment=\"uuid=\\\"1479763\\\"\"}",
            // Keywords and names that look like operators.
            "sum", "by", "offset", "bool", "on", "ignoring{\(f)}", "group_left", "and{\(f)}", "inf_b",
            "a{\(m)} + nan_metric", "a{\(m)} + sum_metric{job=\"x\"}", "a{\(m)} OR b", "a{\(m)} Unless b{\(f)}",
            "SUM BY (uuid) (b)", "a{\(m)} AND ON() b", "a{\(m)} + b{\(m) OR job=\"x\"}", "Offset{\(f)}",
            // Syntax Prometheus rejects (must not be forwarded either).
            "a{\(m)} +", "a{\(m)}[5m", "a{\(m)} b{\(f)}", "a{\(m)}}", "(a{\(m)}", "a{\(m)} ) + (b{\(f)}",
            "a{\(m),,}", "a{\(m)} @", "a{\(m)} offset", "a{\(m)} or on", "a{\(m)}\u{0}+b{\(f)}",
        ]
        // ceems_id tricks: another cluster's unit, or series of two clusters under one check.
        list += [
            "b{\(f), ceems_id=\"slurm-1\"}", "a{\(m), ceems_id=~\"slurm-0|slurm-1\"}",
            "a{\(m), ceems_id=\"slurm-0\"} + b{\(m), ceems_id=\"slurm-1\"}", "a{\(m), ceems_id=~\"slurm-1|slurm-0\"}",
            "a{\(m)} + b{\(f), ceems_id=\"slurm-1\"}",
        ]
        return list
    }()

    /// Match selectors (`match[]`, Pyroscope label selectors) that must be refused, written with `label` as the
    /// unit label.
    static func selectors(label: String) -> [String] {
        [
            "{\(label)=\"1481510\"}", "{\(label)=~\".*\"}", "{\(label)=~\".+\"}", "{\(label)!=\"1479763\"}",
            "{\(label)=~\"1479763|1481510\"}", "{}", "{job=\"x\"}", "up", "{\(label)=\"1479763\"} or b",
            "{\(label)=\"1479763\"}[5m]", "rate({\(label)=\"1479763\"}[5m])", "{\(label)=\"\"}",
            "{\(label)=\"1479763\" or job=\"x\"}", "{\(label)=~\"1479763|\"}", "{\"\(label)\"=\"1481510\"}",
            "{\(label)=\"1479763\", ceems_id=~\"slurm-0|slurm-1\"}",
        ]
    }

    static func form(_ pairs: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
        return pairs.map {
            ($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0) + "="
                + ($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)
        }.joined(separator: "&")
    }

    static let formType = "application/x-www-form-urlencoded"

    /// Every hostile request.
    static var requests: [CorpusRequest] {
        var requests: [CorpusRequest] = []
        let legit = "a{\(mine)}"
        for expression in expressions {
            let paths = ["/api/v1/query", "/api/v1/query_range"]
            for (index, path) in paths.enumerated() {
                // Alternate GET and POST so both parameter sources see every expression.
                if index == 0 {
                    requests.append(CorpusRequest(path: path, query: form([("query", expression)])))
                } else {
                    requests.append(
                        CorpusRequest(
                            method: "POST", path: path, body: Array(form([("query", expression), ("step", "60")]).utf8),
                            contentType: formType))
                }
            }
        }
        let f = "b{\(foreign)}"
        // Parameter tricks: duplicates, both sources, encodings.
        requests += [
            CorpusRequest(path: "/api/v1/query", query: form([("query", legit), ("query", f)])),
            CorpusRequest(path: "/api/v1/query", query: form([("query", f), ("query", legit)])),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]), body: Array(form([("query", f)]).utf8),
                contentType: formType),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", f)]), body: Array(form([("query", legit)]).utf8),
                contentType: formType),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]), body: Array(form([("query", f)]).utf8),
                contentType: "Application/X-WWW-Form-Urlencoded; charset=utf-8"),
            CorpusRequest(path: "/api/v1/query", query: "quer%79=" + form([("", f)]).dropFirst()),
            CorpusRequest(path: "/api/v1/query", query: form([("query", legit)]) + "&query=b%7B" + "uuid%3D%221481510%22%7D"),
            CorpusRequest(path: "/api/v1/query", query: form([("query", legit)]) + ";query=" + form([("", f)]).dropFirst()),
            CorpusRequest(path: "/api/v1/query", query: "query=%zz&" + form([("query", f)])),
            CorpusRequest(path: "/api/v1/query", query: form([("query", legit)]) + "&query=b+or+" + form([("", f)]).dropFirst()),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]),
                body: Array("--x\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n\(f)\r\n--x--\r\n".utf8),
                contentType: "multipart/form-data; boundary=x"),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]),
                body: Array("{\"query\":\"\(f)\"}".utf8), contentType: "application/json"),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]), body: Array(form([("query", f)]).utf8),
                contentType: nil),
            CorpusRequest(
                method: "POST", path: "/api/v1/query", query: form([("query", legit)]), body: Array(form([("query", f)]).utf8),
                contentType: formType, headers: [("Content-Encoding", "gzip")]),
            CorpusRequest(method: "PUT", path: "/api/v1/query", body: Array(form([("query", f)]).utf8), contentType: formType),
            CorpusRequest(path: "/api/v1/query", query: form([("query", legit), ("query", "")])),
            CorpusRequest(path: "/api/v1/query"),
            CorpusRequest(path: "/api/v1/query", query: form([("query", f)]), cluster: "slurm-1"),
        ]
        // match[] on the metadata paths.
        for selector in selectors(label: "uuid") {
            for path in ["/api/v1/series", "/api/v1/labels", "/api/v1/label/uuid/values"] {
                requests.append(CorpusRequest(path: path, query: form([("match[]", selector)])))
            }
            requests.append(
                CorpusRequest(
                    method: "POST", path: "/api/v1/series", body: Array(form([("match[]", selector)]).utf8),
                    contentType: formType))
        }
        requests += [
            CorpusRequest(path: "/api/v1/series", query: form([("match[]", "{\(mine)}"), ("match[]", "{\(foreign)}")])),
            CorpusRequest(path: "/api/v1/series", query: "match%5B%5D=" + form([("", "{\(foreign)}")]).dropFirst()),
            CorpusRequest(path: "/api/v1/labels"), CorpusRequest(path: "/api/v1/label/uuid/values"),
            CorpusRequest(path: "/api/v1/label/__name__/values", query: form([("match", "{\(mine)}")])),
        ]
        // Paths outside the allowlist, with an owned query so only the path decides.
        let owned = form([("query", legit), ("match[]", "{\(mine)}")])
        for path in [
            "/api/v1/status/config", "/api/v1/status/config/", "/api/v1/query/", "/api/v1//query", "/api/v1/./query",
            "/api/v1/../v1/query", "/foo/api/v1/query", "/api/v1/admin/tsdb/delete_series", "/api/v1/query_exemplars",
            "/federate", "/api/v1/targets", "/api/v1/rules", "/api/v1/alerts", "/api/v1/metadata", "/graph", "/",
            "/metrics", "/api/v1/write", "/api/v1/read", "/api/v1/query_range;x", "/api/v1/status/flags",
            "/api/v1/status/tsdb", "/api/v1/admin/tsdb/snapshot", "/-/reload", "/-/quit", "/api/v1/label/x/y/values",
            "/api/v1/label//values", "/api/v1/label/../values", "/api/v1/labels/", "/api/v1/series/x", "/API/V1/QUERY",
            "/api/v1/query%2F", "/api/v1%2Fquery", "/api/v1/status/config%00", "/api/v1/otlp/v1/metrics",
            "/api/v1/status/runtimeinfo", "/api/v1/status/buildinfo", "/api/v1/format_query", "/api/v1/parse_query",
            "/api/v1/query_range/../../status/config", "//api/v1/query",
        ] {
            requests.append(CorpusRequest(path: path, query: owned))
        }
        requests.append(
            CorpusRequest(method: "POST", path: "/api/v1/admin/tsdb/delete_series", query: form([("match[]", "{\(mine)}")])))
        // A percent-encoded allowed path still has its query checked.
        requests.append(CorpusRequest(path: "/api/v1/%71uery", query: form([("query", f)])))
        // Pyroscope.
        for selector in selectors(label: "service_name") {
            requests.append(pyroscope("SelectMergeStacktraces", fields: [(2, selector)]))
            requests.append(pyroscope("LabelNames", fields: [(1, selector)]))
            requests.append(pyroscope("LabelValues", fields: [(1, "service_name"), (2, selector)]))
        }
        let ownedService = "{service_name=\"1479763\"}"
        let foreignService = "{service_name=\"1481510\"}"
        requests += [
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService), (2, foreignService)]),
            pyroscope("SelectMergeStacktraces", fields: [(2, foreignService), (2, ownedService)]),
            pyroscope("LabelNames", fields: [(1, ownedService), (1, foreignService)]),
            pyroscope("LabelNames", fields: []),
            pyroscope("SelectMergeStacktraces", fields: [(1, "process_cpu:cpu:nanoseconds:cpu:nanoseconds")]),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], contentType: "application/json"),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], headers: [("Content-Encoding", "gzip")]),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], path: "/querier.v1.QuerierService/SelectSeries"),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], path: "/querier.v1.QuerierService/ProfileTypes"),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], path: "/ingest"),
            pyroscope("SelectMergeStacktraces", fields: [(2, ownedService)], path: "/querier.v1.QuerierService/SelectMergeStacktraces/"),
            CorpusRequest(
                kind: .pyroscope, method: "POST", path: "/querier.v1.QuerierService/SelectMergeStacktraces",
                body: Array("{\"labelSelector\":\"\(ownedService)\"}".utf8), contentType: "application/json"),
            CorpusRequest(
                kind: .pyroscope, method: "POST", path: "/querier.v1.QuerierService/SelectMergeStacktraces",
                body: [0x12, 0x40, 0x7B], contentType: "application/proto"),
            CorpusRequest(
                kind: .pyroscope, method: "POST", path: "/querier.v1.QuerierService/SelectMergeStacktraces",
                body: [0x10, 0x05] + encode([(2, foreignService)]), contentType: "application/proto"),
            CorpusRequest(
                kind: .pyroscope, method: "POST", path: "/querier.v1.QuerierService/SelectMergeStacktraces",
                body: [0x00, 0x00, 0x00, 0x00, 0x50] + encode([(2, foreignService)]), contentType: "application/grpc"),
            CorpusRequest(
                kind: .pyroscope, method: "GET", path: "/querier.v1.QuerierService/SelectMergeStacktraces",
                query: "message=" + form([("", foreignService)]).dropFirst() + "&encoding=json"),
        ]
        return requests
    }

    static func pyroscope(
        _ method: String, fields: [(Int, String)], contentType: String = "application/proto",
        headers: [(String, String)] = [], path: String? = nil
    ) -> CorpusRequest {
        CorpusRequest(
            kind: .pyroscope, method: "POST", path: path ?? "/querier.v1.QuerierService/\(method)", body: encode(fields),
            contentType: contentType, headers: headers)
    }

    /// Length-delimited string fields of a protobuf message.
    static func encode(_ fields: [(Int, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (number, text) in fields {
            bytes.append(UInt8(number << 3 | 2))
            var length = text.utf8.count
            while length >= 0x80 {
                bytes.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            bytes.append(UInt8(length))
            bytes += Array(text.utf8)
        }
        return bytes
    }
}
