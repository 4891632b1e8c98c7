/// Path manipulation with the exact semantics of Go's `path/filepath` (`Clean`, `Join`), because label values
/// such as RAPL's `path` must print the paths the way CEEMS does.
public enum FilePathSyntax {
    /// Lexically cleans a path like Go's `filepath.Clean`: collapses `//`, drops `.` elements and resolves `..`
    /// against the preceding element. An empty result is `.`.
    public static func clean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for element in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch element {
            case ".":
                continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(element)
                }
            default:
                parts.append(element)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Joins non-empty elements with `/` and cleans the result, like Go's `filepath.Join`.
    public static func join(_ elements: String...) -> String {
        join(elements)
    }

    /// Joins non-empty elements with `/` and cleans the result, like Go's `filepath.Join`.
    public static func join(_ elements: [String]) -> String {
        let nonEmpty = elements.filter { !$0.isEmpty }
        if nonEmpty.isEmpty { return "" }
        return clean(nonEmpty.joined(separator: "/"))
    }

    /// The last element of a path (`base("/a/b/") == "b"`), like Go's `filepath.Base`.
    public static func base(_ path: String) -> String {
        if path.isEmpty { return "." }
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed == "/" { return "/" }
        if let slash = trimmed.lastIndex(of: "/") {
            return String(trimmed[trimmed.index(after: slash)...])
        }
        return String(trimmed)
    }
}
