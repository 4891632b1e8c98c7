import GRDB

extension ComputeUnit {
    /// The JSON (and column) names of a unit, in model order.
    public static let jsonFields: [String] =
        [
            "cluster_id", "resource_manager", "uuid", "name", "project", "groupname", "username", "created_at",
            "started_at", "ended_at", "created_at_ts", "started_at_ts", "ended_at_ts", "elapsed", "state",
            "allocation",
        ] + MetricField.allCases.map(\.rawValue) + ["tags"]

    static let jsonFieldSet = Set(jsonFields)

    /// The columns to read for the selected JSON fields, in model order.
    static func columns(forFields fields: [String]) -> [String] {
        let wanted = Set(fields)
        return jsonFields.filter { wanted.contains($0) }
    }

    /// The columns of a unit query, resolved once per query rather than per cell.
    enum Column {
        case clusterID, resourceManager, uuid, name, project, group, user, createdAt, startedAt, endedAt
        case createdAtTS, startedAtTS, endedAtTS, elapsed, state, allocation, tags
        case metric(MetricField)

        init?(_ name: String) {
            switch name {
            case "cluster_id": self = .clusterID
            case "resource_manager": self = .resourceManager
            case "uuid": self = .uuid
            case "name": self = .name
            case "project": self = .project
            case "groupname": self = .group
            case "username": self = .user
            case "created_at": self = .createdAt
            case "started_at": self = .startedAt
            case "ended_at": self = .endedAt
            case "created_at_ts": self = .createdAtTS
            case "started_at_ts": self = .startedAtTS
            case "ended_at_ts": self = .endedAtTS
            case "elapsed": self = .elapsed
            case "state": self = .state
            case "allocation": self = .allocation
            case "tags": self = .tags
            default:
                guard let field = MetricField(rawValue: name) else { return nil }
                self = .metric(field)
            }
        }
    }

    /// A unit from a row; JSON columns are kept as text (served as is when canonical). NULL cells stay empty
    /// (§15 #10: every row starts from a fresh value).
    init(row: Row, columns: [Column]) {
        self.init()
        for (index, column) in columns.enumerated() {
            switch column {
            case .clusterID: clusterID = row[index] ?? ""
            case .resourceManager: resourceManager = row[index] ?? ""
            case .uuid: uuid = row[index] ?? ""
            case .name: name = row[index] ?? ""
            case .project: project = row[index] ?? ""
            case .group: group = row[index] ?? ""
            case .user: user = row[index] ?? ""
            case .createdAt: createdAt = row[index] ?? ""
            case .startedAt: startedAt = row[index] ?? ""
            case .endedAt: endedAt = row[index] ?? ""
            case .createdAtTS: createdAtTS = row[index] ?? 0
            case .startedAtTS: startedAtTS = row[index] ?? 0
            case .endedAtTS: endedAtTS = row[index] ?? 0
            case .elapsed: elapsed = row[index] ?? ""
            case .state: state = row[index] ?? ""
            case .allocation: storedAllocation = row[index]
            case .tags: storedTags = row[index]
            case .metric(let field):
                if storedMetrics.isEmpty { storedMetrics = Array(repeating: nil, count: MetricField.allCases.count) }
                storedMetrics[field.index] = row[index]
            }
        }
    }
}

extension Usage {
    public static let jsonFields: [String] =
        ["cluster_id", "resource_manager", "num_units", "project", "groupname", "username"]
        + MetricField.allCases.map(\.rawValue)

    static let jsonFieldSet = Set(jsonFields)

    /// Columns of `usage` a `groupby` may name.
    static let groupableColumns = Set(jsonFields + ["last_updated_at", "num_updates"])

    static func columns(forFields fields: [String]) -> [String] {
        let wanted = Set(fields)
        return jsonFields.filter { wanted.contains($0) }
    }

    init(row: Row, columns: [String]) {
        self.init()
        for (index, column) in columns.enumerated() {
            switch column {
            case "cluster_id": clusterID = row[index] ?? ""
            case "resource_manager": resourceManager = row[index] ?? ""
            case "num_units": numUnits = row[index] ?? 0
            case "project": project = row[index] ?? ""
            case "groupname": group = row[index] ?? ""
            case "username": user = row[index] ?? ""
            default:
                if let field = MetricField(rawValue: column), let map = MetricMap.parse(row[index]) {
                    metrics[field] = map
                }
            }
        }
    }
}

extension User {
    init(row: Row) {
        self.init(
            uid: row[0] ?? "", clusterID: row[1] ?? "", resourceManager: row[2] ?? "", name: row[3] ?? "",
            projects: [String].parseStoredList(row[4]), tags: [String].parseStoredList(row[5]))
    }
}

extension Project {
    init(row: Row) {
        self.init(
            uid: row[0] ?? "", clusterID: row[1] ?? "", resourceManager: row[2] ?? "", name: row[3] ?? "",
            users: [String].parseStoredList(row[4]), tags: [String].parseStoredList(row[5]))
    }
}
