import GRDB

/// A `WHERE` clause built from parameterised conditions: request values only ever travel as arguments.
struct SQLFilter {
    var conditions: [String] = []
    var arguments: StatementArguments = []

    mutating func add(_ condition: String, _ values: [(any DatabaseValueConvertible)?] = []) {
        conditions.append(condition)
        for value in values { arguments += [value] }
    }

    /// `column IN (?, ?, …)`; nothing when `values` is empty (no restriction).
    mutating func any(_ column: String, _ values: [String]) {
        guard !values.isEmpty else { return }
        add("\(column) IN (\(UpdateWriter.placeholders(values.count)))", values)
    }

    var clause: String { conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ") }
}

/// SQL testing that `user` belongs to the project of the row (same cluster), on tables with `cluster_id` and
/// `project` columns. Takes one argument: the user.
func membershipCondition(table: String) -> String {
    """
    EXISTS (SELECT 1 FROM projects p, json_each(CASE WHEN json_valid(p.users) THEN p.users ELSE '[]' END) j
      WHERE p.cluster_id = \(table).cluster_id AND p.name = \(table).project AND j.value = ?)
    """
}
