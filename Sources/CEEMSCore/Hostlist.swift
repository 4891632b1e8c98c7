/// SLURM hostlist syntax (`node[1-3,5]`, `gpu[01-02]-ib`, comma lists), as used in `gres.conf`.
public enum Hostlist {
    /// More names than any node list of a gres.conf holds: a bigger expansion is cut (and cannot exhaust memory).
    public static let maximumNames = 65536
    /// Longer than any host name: such names are dropped (which also bounds the memory an expansion takes).
    public static let maximumNameLength = 255

    public static func expand(_ text: String) -> [String] {
        var result: [String] = []
        for item in splitTopLevel(text) {
            result += expandOne(item[...], budget: maximumNames - result.count)
            if result.count >= maximumNames { break }
        }
        return result
    }

    /// Splits on commas outside brackets.
    static func splitTopLevel(_ text: String) -> [String] {
        var items: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "[" { depth += 1 }
            if character == "]" { depth -= 1 }
            if character == "," && depth == 0 {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { items.append(current) }
        return items
    }

    /// Expands one item into at most `budget` names. The budget is shared down the brackets (a level with n
    /// values leaves budget/n to each suffix), so the work is bounded whatever the input.
    static func expandOne(_ item: Substring, budget: Int) -> [String] {
        guard budget > 0 else { return [] }
        guard let open = item.firstIndex(of: "["), let close = item[open...].firstIndex(of: "]") else {
            return item.utf8.count <= maximumNameLength ? [String(item)] : []
        }
        let prefix = item[..<open]
        guard prefix.utf8.count <= maximumNameLength else { return [] }
        var values: [String] = []
        ranges: for range in item[item.index(after: open)..<close].split(separator: ",") {
            let bounds = range.split(separator: "-")
            if bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]), low <= high {
                let width = bounds[0].count
                for value in low...high {
                    guard values.count < budget else { break ranges }
                    var text = String(value)
                    if text.count < width { text = String(repeating: "0", count: width - text.count) + text }
                    values.append(text)
                }
            } else {
                guard values.count < budget else { break }
                values.append(String(range))
            }
        }
        guard !values.isEmpty else { return [] }
        let suffixes = expandOne(item[item.index(after: close)...], budget: max(1, budget / values.count))
        var names: [String] = []
        for value in values {
            for suffix in suffixes where prefix.utf8.count + value.utf8.count + suffix.utf8.count <= maximumNameLength {
                guard names.count < budget else { return names }
                names.append(prefix + value + suffix)
            }
        }
        return names
    }
}
