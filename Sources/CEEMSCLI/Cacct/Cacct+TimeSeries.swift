import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import Foundation

extension Cacct {
    /// `--ts` (§6): every configured query for every unit over its lifetime (now for running units, §10 #8), step
    /// 10 s, in parallel; one CSV per series named by its Prometheus fingerprint and `metadata.json`.
    func dumpTimeSeries(units: [JSONValue], into result: inout CacctResult) async {
        guard !config.queries.isEmpty, !config.tsdbURL.isEmpty else {
            result.standardError += "time series data not available\n"
            return
        }
        let directory = options.outDirectory
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            result.standardError += "cacct: error: cannot create \(directory): \(error)\n"
            result.exitCode = 1
            return
        }
        let client: ConfiguredHTTPClient
        do {
            client = try ConfiguredHTTPClient(config: config.tsdbClient, connectTimeout: .seconds(10), retryConnections: false)
        } catch {
            result.standardError += "cacct: error: \(error)\n"
            result.exitCode = 1
            return
        }
        var base = config.tsdbURL
        while base.hasSuffix("/") { base.removeLast() }
        let nowSeconds = Int(now.timeIntervalSince1970)
        var jobs: [(query: String, url: String)] = []
        for unit in units {
            guard let uuid = unit["uuid"]?.stringValue else { continue }
            let start = Int(unit["started_at_ts"]?.doubleValue ?? 0) / 1000
            var end = Int(unit["ended_at_ts"]?.doubleValue ?? 0) / 1000
            if end <= 0 { end = nowSeconds }
            for name in config.queries.keys.sorted() {
                let query = config.queries[name]!.replacingOccurrences(of: "%s", with: uuid)
                let url = base + "/api/v1/query_range?query=" + Self.escape(query) + "&start=\(start)&end=\(end)&step=10"
                jobs.append((query, url))
            }
        }
        let outcomes = await withTaskGroup(of: (String, Result<JSONValue, any Error>).self) { group in
            for job in jobs {
                group.addTask {
                    do {
                        let response = try await client.execute(url: job.url, timeout: .seconds(60))
                        guard let document = JSONValue.parse(response.text), response.status == 200 else {
                            throw HTTPClientError.transport(url: job.url, reason: "HTTP \(response.status)")
                        }
                        return (job.query, .success(document))
                    } catch {
                        return (job.query, .failure(error))
                    }
                }
            }
            var outcomes: [(String, Result<JSONValue, any Error>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        await client.shutdown()
        var metadata: [(String, [(String, JSONValue)])] = []
        for (query, outcome) in outcomes.sorted(by: { $0.0 < $1.0 }) {
            switch outcome {
            case .failure(let error):
                result.standardError += "failed to fetch time series for query \(query) err: \(error)\n"
            case .success(let document):
                guard case .array(let series)? = document["data"]?["result"] else { continue }
                for item in series {
                    guard case .object(let labels)? = item["metric"], labels.contains(where: { $0.0 == "uuid" }) else {
                        continue
                    }
                    let sorted = labels.sorted { $0.0 < $1.0 }
                    let fingerprint = Self.fingerprint(sorted.map { ($0.0, $0.1.stringValue ?? "") })
                    var csv = "timestamp,value\n"
                    if case .array(let values)? = item["values"] {
                        for sample in values {
                            guard case .array(let pair) = sample, pair.count == 2,
                                let time = pair[0].doubleValue, let value = pair[1].stringValue.flatMap(Double.init)
                            else { continue }
                            csv += Self.decimal(time) + "," + Self.decimal(value) + "\n"
                        }
                    }
                    let path = directory + "/" + fingerprint + ".csv"
                    if !FileManager.default.createFile(
                        atPath: path, contents: Data(csv.utf8), attributes: [.posixPermissions: 0o600])
                    {
                        result.standardError += "cacct: error: cannot write \(path)\n"
                        result.exitCode = 1
                    }
                    metadata.append((fingerprint, sorted))
                }
            }
        }
        var writer = JSONWriter()
        if metadata.isEmpty {
            writer.raw("null")
        } else {
            writer.raw("[\n")
            for (index, (fingerprint, labels)) in metadata.sorted(by: { $0.0 < $1.0 }).enumerated() {
                writer.raw("\t{\n\t\t\"fingerprint\": ")
                writer.string(fingerprint)
                writer.raw(",\n\t\t\"labels\": {\n")
                for (number, (name, value)) in labels.enumerated() {
                    writer.raw("\t\t\t")
                    writer.string(name)
                    writer.raw(": ")
                    writer.string(value.stringValue ?? "")
                    writer.raw(number == labels.count - 1 ? "\n" : ",\n")
                }
                writer.raw("\t\t}\n\t}" + (index == metadata.count - 1 ? "\n" : ",\n"))
            }
            writer.raw("]")
        }
        writer.raw("\n")
        // Created afresh (truncated), so a rewrite leaves no stale tail (§10 #4).
        guard
            FileManager.default.createFile(
                atPath: directory + "/metadata.json", contents: Data(writer.bytes), attributes: [.posixPermissions: 0o600])
        else {
            result.standardError += "cacct: error: cannot write \(directory)/metadata.json\n"
            result.exitCode = 1
            return
        }
        result.standardError += "time series data saved to directory \(directory)\n"
    }

    /// Prometheus' label-set fingerprint: FNV-1a 64 over the pairs sorted by name, each name and value followed
    /// by 0xFF; 16 lowercase hex digits.
    public static func fingerprint(_ labels: [(String, String)]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        for (name, value) in labels.sorted(by: { $0.0 < $1.0 }) {
            for byte in name.utf8 { add(byte) }
            add(0xFF)
            for byte in value.utf8 { add(byte) }
            add(0xFF)
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Shortest decimal without exponent (`12345`, `29.38529014`).
    static func decimal(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        var text = GoFloatFormatter.format(value)
        if text.contains("e") {
            text = String(format: "%.17f", value)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }
}
