/// Writes the Prometheus text format 0.0.4 byte for byte as Go's `expfmt` does.
///
/// Families are sorted by name in byte order, samples by their label values taken in the order of the sorted
/// label names (byte comparison), labels are printed sorted by name, families without samples are skipped, and
/// a series seen twice is printed once (the first one wins, as in Go's registry).
public enum ExpositionWriter {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders the samples of all sinks.
    public static func write(_ sinks: [MetricSink], into out: inout [UInt8]) {
        var byName: [String: MetricFamily] = [:]
        for sink in sinks {
            for family in sink.families.values where !family.samples.isEmpty {
                if byName[family.descriptor.name] != nil {
                    byName[family.descriptor.name]!.samples.append(contentsOf: family.samples)
                } else {
                    byName[family.descriptor.name] = family
                }
            }
        }
        let names = byName.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            write(byName[name]!, into: &out)
        }
    }

    /// Renders the samples of all sinks as a string (tests, tools).
    public static func render(_ sinks: [MetricSink]) -> String {
        var out: [UInt8] = []
        write(sinks, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func write(_ family: MetricFamily, into out: inout [UInt8]) {
        let descriptor = family.descriptor
        let order = descriptor.sortedLabelOrder
        var samples = family.samples
        // Collectors mostly add samples in order already (units come sorted): check before sorting.
        if samples.count > 1 && !isSorted(samples, order: order) {
            samples.sort { compareLabels($0, $1, order: order) < 0 }
        }
        let nameBytes = Array(descriptor.name.utf8)
        out.append(contentsOf: "# HELP ".utf8)
        out.append(contentsOf: nameBytes)
        out.append(UInt8(ascii: " "))
        appendEscaped(descriptor.help, escapeQuotes: false, to: &out)
        out.append(contentsOf: "\n# TYPE ".utf8)
        out.append(contentsOf: nameBytes)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: descriptor.type.rawValue.utf8)
        out.append(UInt8(ascii: "\n"))
        var previous: Sample?
        for sample in samples {
            if let previous, sameLabels(previous, sample) { continue }
            previous = sample
            out.append(contentsOf: nameBytes)
            if !order.isEmpty {
                out.append(UInt8(ascii: "{"))
                for (position, index) in order.enumerated() {
                    out.append(contentsOf: descriptor.labelPrefixes[position])
                    appendEscaped(sample.labelValues[index], escapeQuotes: true, to: &out)
                    out.append(UInt8(ascii: "\""))
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: " "))
            GoFloatFormatter.append(sample.value, to: &out)
            out.append(UInt8(ascii: "\n"))
        }
    }

    static func sameLabels(_ a: Sample, _ b: Sample) -> Bool {
        for index in a.labelValues.indices where compareBytes(a.labelValues[index], b.labelValues[index]) != 0 {
            return false
        }
        return true
    }

    static func isSorted(_ samples: [Sample], order: [Int]) -> Bool {
        for position in samples.indices.dropFirst()
        where compareLabels(samples[position - 1], samples[position], order: order) > 0 {
            return false
        }
        return true
    }

    /// Orders samples by their label values in `order`, bytewise.
    static func compareLabels(_ lhs: Sample, _ rhs: Sample, order: [Int]) -> Int {
        for index in order {
            let result = compareBytes(lhs.labelValues[index], rhs.labelValues[index])
            if result != 0 { return result }
        }
        return 0
    }

    /// Byte order of two strings (negative, zero, positive), on their contiguous UTF-8 storage.
    static func compareBytes(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let common = min(x.count, y.count)
                var index = 0
                while index < common {
                    if x[index] != y[index] { return Int(x[index]) - Int(y[index]) }
                    index += 1
                }
                return x.count - y.count
            }
        }
    }

    /// HELP escapes `\` and newline; label values also escape `"`.
    static func appendEscaped(_ text: String, escapeQuotes: Bool, to out: inout [UInt8]) {
        let plain = text.utf8.allSatisfy {
            $0 != UInt8(ascii: "\\") && $0 != UInt8(ascii: "\n") && !(escapeQuotes && $0 == UInt8(ascii: "\""))
        }
        if plain {
            out.append(contentsOf: text.utf8)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"):
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\"") where escapeQuotes:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "\""))
            default:
                out.append(byte)
            }
        }
    }
}
