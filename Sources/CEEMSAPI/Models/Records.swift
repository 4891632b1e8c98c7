import CEEMSCore
/// One row of `usage` or `daily_usage`, or a group of current usage.
public struct Usage: Sendable, Equatable {
    public var clusterID = ""
    public var resourceManager = ""
    public var numUnits: Int64 = 0
    public var project = ""
    public var group = ""
    public var user = ""
    public var metrics: [MetricField: MetricMap] = [:]
    public var numUpdates: Int64 = 0
    public var lastUpdatedAt = ""
    /// Values of the extra `groupby` columns (current usage).
    var groupKey: [String] = []

    public init() {}

    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("cluster_id", clusterID, omitEmpty: false)
        object.string("resource_manager", resourceManager, omitEmpty: false)
        object.integer("num_units", numUnits, omitZero: false)
        object.string("project", project, omitEmpty: false)
        object.string("groupname", group, omitEmpty: false)
        object.string("username", user, omitEmpty: false)
        object.metrics(metrics)
        writer = object.finish()
    }
}

/// A row of `users` (and of `admin_users`).
public struct User: Sendable, Equatable {
    public var uid = ""
    public var clusterID = ""
    public var resourceManager = ""
    public var name = ""
    public var projects: [String]? = []
    public var tags: [String]? = []
    public var lastUpdatedAt = ""

    public init(uid: String = "", clusterID: String, resourceManager: String, name: String, projects: [String]? = [],
        tags: [String]? = [], lastUpdatedAt: String = "")
    {
        self.uid = uid
        self.clusterID = clusterID
        self.resourceManager = resourceManager
        self.name = name
        self.projects = projects
        self.tags = tags
        self.lastUpdatedAt = lastUpdatedAt
    }

    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("uid", uid, omitEmpty: true)
        object.string("cluster_id", clusterID, omitEmpty: false)
        object.string("resource_manager", resourceManager, omitEmpty: true)
        object.string("name", name, omitEmpty: false)
        object.stringList("projects", projects, omitEmpty: true)
        object.stringList("tags", tags, omitEmpty: true)
        writer = object.finish()
    }
}

/// A row of `projects`.
public struct Project: Sendable, Equatable {
    public var uid = ""
    public var clusterID = ""
    public var resourceManager = ""
    public var name = ""
    /// `nil` when stored as JSON `null` (served as `null`, not `[]`).
    public var users: [String]? = []
    public var tags: [String]? = []
    public var lastUpdatedAt = ""

    public init(uid: String = "", clusterID: String, resourceManager: String, name: String, users: [String]? = [],
        tags: [String]? = [], lastUpdatedAt: String = "")
    {
        self.uid = uid
        self.clusterID = clusterID
        self.resourceManager = resourceManager
        self.name = name
        self.users = users
        self.tags = tags
        self.lastUpdatedAt = lastUpdatedAt
    }

    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("uid", uid, omitEmpty: true)
        object.string("cluster_id", clusterID, omitEmpty: false)
        object.string("resource_manager", resourceManager, omitEmpty: false)
        object.string("name", name, omitEmpty: false)
        object.stringList("users", users, omitEmpty: false)
        object.stringList("tags", tags, omitEmpty: true)
        writer = object.finish()
    }
}

/// A (cluster, manager) pair of `/clusters/admin`.
public struct ClusterSummary: Sendable, Equatable {
    public var id: String
    public var manager: String

    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("id", id, omitEmpty: false)
        object.string("manager", manager, omitEmpty: false)
        writer = object.finish()
    }
}

/// A row of `/stats/…/admin`.
public struct Stat: Sendable, Equatable {
    public var clusterID = ""
    public var resourceManager = ""
    public var numUnits: Int64 = 0
    public var numInactiveUnits: Int64 = 0
    public var numActiveUnits: Int64 = 0
    public var numProjects: Int64 = 0
    public var numUsers: Int64 = 0

    public func write(to writer: inout JSONWriter) {
        var object = JSONObjectWriter(taking: &writer)
        object.string("cluster_id", clusterID, omitEmpty: false)
        object.string("resource_manager", resourceManager, omitEmpty: false)
        object.integer("num_units", numUnits, omitZero: false)
        object.integer("num_inactive_units", numInactiveUnits, omitZero: false)
        object.integer("num_active_units", numActiveUnits, omitZero: false)
        object.integer("num_projects", numProjects, omitZero: false)
        object.integer("num_users", numUsers, omitZero: false)
        writer = object.finish()
    }
}

extension Array where Element == String {
    /// Parses a stored JSON list of strings; `nil` for `null`. Nested arrays (written by the reference for
    /// Kubernetes, §15 #6) are flattened.
    static func parseStoredList(_ text: String?) -> [String]? {
        guard let text, let value = JSONValue.parse(text) else { return text == nil ? [] : nil }
        func flatten(_ value: JSONValue) -> [String] {
            switch value {
            case .string(let string): [string]
            case .array(let items): items.flatMap(flatten)
            default: []
            }
        }
        if case .null = value { return nil }
        return flatten(value)
    }

    /// The JSON text of a list of strings (`null` for nil).
    static func storedText(_ list: [String]?) -> String {
        var writer = JSONWriter()
        writer.stringArray(list)
        return writer.text
    }
}
