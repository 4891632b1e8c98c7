import CEEMSCore
/// A compute unit (SLURM job, OpenStack VM, Kubernetes pod) as stored in `units` and served by `/units`.
public struct ComputeUnit: Sendable, Equatable {
    public var clusterID = ""
    public var resourceManager = ""
    public var uuid = ""
    public var name = ""
    public var project = ""
    public var group = ""
    public var user = ""
    public var createdAt = ""
    public var startedAt = ""
    public var endedAt = ""
    public var createdAtTS: Int64 = 0
    public var startedAtTS: Int64 = 0
    public var endedAtTS: Int64 = 0
    public var elapsed = ""
    public var state = ""
    /// A JSON object (`{"cpus":8,"mem":…}`), or `nil` when empty.
    public var allocation: JSONValue?
    /// A JSON object (`{"partition":…}`), or `nil` when empty.
    public var tags: JSONValue?
    /// The metric maps; a missing field is SQL `null` (no updater produced it).
    public var metrics: [MetricField: MetricMap] = [:]
    /// JSON text of the metric columns as read from the database, by `MetricField.index` (empty when the unit
    /// was not read from it): served as is when already canonical.
    var storedMetrics: [String?] = []
    var storedAllocation: String?
    var storedTags: String?
    public var ignore = false
    public var numUpdates: Int64 = 0
    public var lastUpdatedAt = ""

    public init() {}

    public init(clusterID: String, resourceManager: String, uuid: String) {
        self.clusterID = clusterID
        self.resourceManager = resourceManager
        self.uuid = uuid
    }

    public var totalTime: MetricMap {
        get { metrics[.totalTimeSeconds] ?? MetricMap() }
        set { metrics[.totalTimeSeconds] = newValue }
    }

    /// Whether the unit has ended (its end time is known).
    public var hasEnded: Bool { endedAtTS > 0 }

    /// The JSON object of the API (`omitempty` on everything but `uuid`).
    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("cluster_id", clusterID, omitEmpty: true)
        object.string("resource_manager", resourceManager, omitEmpty: true)
        object.string("uuid", uuid, omitEmpty: false)
        object.string("name", name, omitEmpty: true)
        object.string("project", project, omitEmpty: true)
        object.string("groupname", group, omitEmpty: true)
        object.string("username", user, omitEmpty: true)
        object.string("created_at", createdAt, omitEmpty: true)
        object.string("started_at", startedAt, omitEmpty: true)
        object.string("ended_at", endedAt, omitEmpty: true)
        object.integer("created_at_ts", createdAtTS, omitZero: true)
        object.integer("started_at_ts", startedAtTS, omitZero: true)
        object.integer("ended_at_ts", endedAtTS, omitZero: true)
        object.string("elapsed", elapsed, omitEmpty: true)
        object.string("state", state, omitEmpty: true)
        if let storedAllocation {
            object.storedGeneric("allocation", storedAllocation)
        } else {
            object.value("allocation", allocation)
        }
        if storedMetrics.isEmpty {
            object.metrics(metrics)
        } else {
            for field in MetricField.allCases {
                if let text = storedMetrics[field.index] {
                    object.storedMetric(field.rawValue, text)
                } else if let map = metrics[field], !map.isEmpty {
                    object.key(field.rawValue)
                    map.write(to: &object.writer)
                }
            }
        }
        if let storedTags {
            object.storedGeneric("tags", storedTags)
        } else {
            object.value("tags", tags)
        }
        writer = object.finish()
    }
}

/// Writes `"key":value` members of one JSON object, handling commas and Go's `omitempty`.
///
/// It takes the caller's writer over (leaving an empty one behind) and hands it back in `finish()`, so the text
/// buffer stays uniquely referenced and every append is in place: a copy would make each append copy the whole
/// document (quadratic on a `/units` page).
struct JSONObjectWriter {
    var writer: JSONWriter
    var first = true

    init(taking writer: inout JSONWriter) {
        self.writer = writer
        writer = JSONWriter(capacity: 0)
        self.writer.raw("{")
    }

    mutating func key(_ name: String) {
        if !first { writer.raw(",") }
        first = false
        writer.raw("\"" + name + "\":")
    }

    mutating func string(_ name: String, _ value: String, omitEmpty: Bool) {
        if omitEmpty && value.isEmpty { return }
        key(name)
        writer.string(value)
    }

    mutating func integer(_ name: String, _ value: Int64, omitZero: Bool) {
        if omitZero && value == 0 { return }
        key(name)
        writer.integer(value)
    }

    /// A generic map or list, omitted when absent or empty.
    mutating func value(_ name: String, _ value: JSONValue?) {
        guard let value else { return }
        switch value {
        case .null: return
        case .object(let members) where members.isEmpty: return
        case .array(let items) where items.isEmpty: return
        default: break
        }
        key(name)
        writer.value(value)
    }

    mutating func stringList(_ name: String, _ values: [String]?, omitEmpty: Bool) {
        if omitEmpty && (values ?? []).isEmpty { return }
        key(name)
        writer.stringArray(values)
    }

    /// The metric maps in column order, each omitted when absent or empty.
    mutating func metrics(_ metrics: [MetricField: MetricMap], including fields: [MetricField] = MetricField.allCases)
    {
        for field in fields {
            guard let map = metrics[field], !map.isEmpty else { continue }
            key(field.rawValue)
            map.write(to: &writer)
        }
    }

    /// A stored metric map: copied when canonical, else parsed and re-encoded; omitted when empty or null.
    mutating func storedMetric(_ name: String, _ text: String) {
        if text.isEmpty || text == "{}" || text == "null" { return }
        var text = text
        let canonical = text.withUTF8 { StoredJSON.isCanonicalMetricMap($0) }
        if canonical {
            key(name)
            writer.raw(text)
        } else if let map = MetricMap.parse(text), !map.isEmpty {
            key(name)
            map.write(to: &writer)
        }
    }

    /// A stored generic map (`allocation`, `tags`): copied when canonical, else parsed and re-encoded.
    mutating func storedGeneric(_ name: String, _ text: String) {
        if text.isEmpty || text == "{}" || text == "null" { return }
        var text = text
        let canonical = text.withUTF8 { StoredJSON.isCanonicalGenericMap($0) }
        if canonical {
            key(name)
            writer.raw(text)
        } else {
            value(name, JSONValue.parse(text))
        }
    }

    mutating func finish() -> JSONWriter {
        writer.raw("}")
        let result = writer
        writer = JSONWriter(capacity: 0)
        return result
    }
}
