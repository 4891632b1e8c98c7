/// The type line of a metric family.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case untyped
}

/// The fixed part of a metric family: name, HELP, TYPE and label names.
///
/// Descriptors are made once (usually as constants of a collector) and shared by every scrape; samples refer to
/// them by reference. Label values are passed in the order of `labelNames`; the writer prints them sorted by
/// label name, as Go's client does.
public final class MetricDescriptor: Sendable {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labelNames: [String]
    /// Indices into `labelNames`, in alphabetical order of the names.
    let sortedLabelOrder: [Int]
    /// `name{` … prebuilt pieces: for each printed label, the bytes `label="` (with `,` before all but the first).
    let labelPrefixes: [[UInt8]]

    public init(_ name: String, help: String, type: MetricType, labels: [String] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.labelNames = labels
        let order = labels.indices.sorted { labels[$0].utf8.lexicographicallyPrecedes(labels[$1].utf8) }
        self.sortedLabelOrder = order
        self.labelPrefixes = order.enumerated().map { position, index in
            Array(((position == 0 ? "" : ",") + labels[index] + "=\"").utf8)
        }
    }
}
