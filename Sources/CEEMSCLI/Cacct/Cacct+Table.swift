import CEEMSCore
import Foundation

extension Cacct {
    /// The table of §5: all 18 fields in order (fields not asked for stay empty and are suppressed), metric
    /// fields split into one column per key found in the units, cells aligned to those keys (§10 #7), then the
    /// `Summary` footer with the usage rows.
    /// `compact`: every number with two decimals (for a narrow terminal).
    static func table(fields: [CacctField], units: [JSONValue], summary: [JSONValue], compact: Bool = false)
        -> TextTable
    {
        let requested = Set(fields.map(\.key))
        var columns: [TextTable.Column] = []
        var titles: [String] = []
        var subkeys: [String] = []
        // For each field: the keys of its columns (nil for a text field or an unrequested one).
        var layout: [(CacctField, [String]?)] = []
        for field in CacctField.all {
            let keys: [String]?
            if field.isMetric && requested.contains(field.key) {
                var found = Set<String>()
                for unit in units {
                    if case .object(let members)? = unit[field.apiField] { found.formUnion(members.map(\.0)) }
                }
                keys = found.sorted()
            } else {
                keys = nil
            }
            let count = max(keys?.count ?? 1, 1)
            for index in 0..<count {
                columns.append(.init(minWidth: field.minWidth, maxWidth: field.maxWidth, mayWrapValues: field.isMetric))
                titles.append(field.title)
                subkeys.append((keys?.count ?? 0) > 1 ? keys![index] : "")
            }
            layout.append((field, keys))
        }
        var table = TextTable(columns: columns)
        table.headers = subkeys.contains { !$0.isEmpty } ? [titles, subkeys] : [titles]
        for unit in units {
            var row: [String] = []
            for (field, keys) in layout {
                row += cells(
                    field: field, keys: keys, value: requested.contains(field.key) ? unit[field.apiField] : nil,
                    compact: compact)
            }
            table.rows.append(row)
        }
        table.footerTitle = "Summary"
        for usage in summary {
            var row: [String] = []
            for (field, keys) in layout {
                let value: String
                switch field.key {
                case "jobid": value = usage["num_units"].map(Self.plain) ?? ""
                case "account": value = usage["project"]?.stringValue ?? ""
                case "group": value = usage["groupname"]?.stringValue ?? ""
                case "user": value = usage["username"]?.stringValue ?? ""
                case "elapsed":
                    value = Self.duration(usage["total_time_seconds"]?["walltime"]?.doubleValue ?? 0)
                default:
                    if field.isMetric {
                        row += cells(
                            field: field, keys: keys, value: requested.contains(field.key) ? usage[field.apiField] : nil,
                            compact: compact)
                        continue
                    }
                    value = ""
                }
                row.append(requested.contains(field.key) || field.key == "jobid" ? value : "")
            }
            table.footerRows.append(row)
        }
        return table
    }

    static func cells(field: CacctField, keys: [String]?, value: JSONValue?, compact: Bool) -> [String] {
        guard let keys else { return [value.map(Self.plain) ?? ""] }
        guard !keys.isEmpty else { return [""] }
        return keys.map { key in
            guard let number = value?[key]?.doubleValue else { return "" }
            return String(format: field.isUsage || compact ? "%.2f" : "%f", number)
        }
    }

    static func plain(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(_, let text): text
        case .bool(let flag): flag ? "true" : "false"
        default: ""
        }
    }

    /// `HH:MM:SS`, or `D-HH:MM:SS` beyond a day; empty for zero.
    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        guard total > 0 else { return "" }
        let days = total / 86400
        let clock = String(format: "%02d:%02d:%02d", (total % 86400) / 3600, (total % 3600) / 60, total % 60)
        return days > 0 ? "\(days)-\(clock)" : clock
    }
}
