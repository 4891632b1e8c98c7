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

    init(row: Row, columns: [String]) {
        self.init()
        for (index, column) in columns.enumerated() {
            switch column {
            case "cluster_id": clusterID = row[index] ?? ""
            case "resource_manager": resourceManager = row[index] ?? ""
            case "uuid": uuid = row[index] ?? ""
            case "name": name = row[index] ?? ""
            case "project": project = row[index] ?? ""
            case "groupname": group = row[index] ?? ""
            case "username": user = row[index] ?? ""
            case "created_at": createdAt = row[index] ?? ""
            case "started_at": startedAt = row[index] ?? ""
            case "ended_at": endedAt = row[index] ?? ""
            case "created_at_ts": createdAtTS = row[index] ?? 0
            case "started_at_ts": startedAtTS = row[index] ?? 0
            case "ended_at_ts": endedAtTS = row[index] ?? 0
            case "elapsed": elapsed = row[index] ?? ""
            case "state": state = row[index] ?? ""
            case "allocation": allocation = (row[index] as String?).flatMap(JSONValue.parse)
            case "tags": tags = (row[index] as String?).flatMap(JSONValue.parse)
            default:
                if let field = MetricField(rawValue: column), let map = MetricMap.parse(row[index]) {
                    metrics[field] = map
                }
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
