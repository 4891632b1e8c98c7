/// One sample: a value and its label values, in the order of the descriptor's `labelNames`.
public struct Sample: Sendable {
    public var labelValues: [String]
    public var value: Double

    public init(labelValues: [String], value: Double) {
        self.labelValues = labelValues
        self.value = value
    }
}

/// The samples of one family gathered during a scrape.
public struct MetricFamily: Sendable {
    public let descriptor: MetricDescriptor
    public var samples: [Sample]
}

/// Where a collector puts the samples it builds at scrape time.
///
/// Each collector fills its own sink, so collectors of one scrape never contend; the writer merges the sinks.
public struct MetricSink: Sendable {
    private(set) var families: [ObjectIdentifier: MetricFamily] = [:]

    public init() {}

    /// Adds a sample. `labelValues` follow the order of `descriptor.labelNames`.
    public mutating func add(_ descriptor: MetricDescriptor, _ value: Double, _ labelValues: [String]) {
        precondition(
            labelValues.count == descriptor.labelNames.count,
            "\(descriptor.name): \(labelValues.count) label values for \(descriptor.labelNames.count) labels")
        let key = ObjectIdentifier(descriptor)
        let sample = Sample(labelValues: labelValues, value: value)
        if families[key] != nil {
            families[key]!.samples.append(sample)
        } else {
            families[key] = MetricFamily(descriptor: descriptor, samples: [sample])
        }
    }

    /// Adds a sample with the label values given as arguments.
    public mutating func add(_ descriptor: MetricDescriptor, _ value: Double, labels labelValues: String...) {
        add(descriptor, value, labelValues)
    }

    /// Merges the samples of another sink into this one.
    public mutating func merge(_ other: MetricSink) {
        for (key, family) in other.families {
            if families[key] != nil {
                families[key]!.samples.append(contentsOf: family.samples)
            } else {
                families[key] = family
            }
        }
    }

    /// The number of samples held.
    public var sampleCount: Int {
        families.values.reduce(0) { $0 + $1.samples.count }
    }

    /// All families, unordered.
    public var allFamilies: [MetricFamily] {
        Array(families.values)
    }

    /// The samples of one family (for tests and sub-collectors).
    public func samples(of descriptor: MetricDescriptor) -> [Sample] {
        families[ObjectIdentifier(descriptor)]?.samples ?? []
    }

    /// The samples of the family named `name`, whatever descriptor instance produced them.
    public func samples(named name: String) -> [Sample] {
        families.values.filter { $0.descriptor.name == name }.flatMap(\.samples)
    }
}
