/// `/proc/<pid>/environ`: NUL-separated `NAME=value` entries.
public enum ProcessEnvironment {
    public static func entries(_ bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 0, omittingEmptySubsequences: true)
    }

    /// Whether an entry starts with one of `prefixes` (a variable name prefix; the value is ignored).
    public static func hasEntry(startingWithOneOf prefixes: [String], in bytes: ArraySlice<UInt8>) -> Bool {
        for entry in entries(bytes) {
            for prefix in prefixes where entry.starts(with: prefix.utf8) { return true }
        }
        return false
    }

    /// The value of `name` (exact name), or nil.
    public static func value(of name: String, in bytes: ArraySlice<UInt8>) -> String? {
        let prefix = Array(name.utf8) + [UInt8(ascii: "=")]
        for entry in entries(bytes) where entry.starts(with: prefix) {
            return ByteParsing.string(entry.dropFirst(prefix.count))
        }
        return nil
    }
}

/// `/proc/diskstats`: block device names by `major:minor`.
public enum DiskStats {
    /// Later lines win when a `major:minor` repeats (as a map built line by line does).
    public static func deviceNames(_ bytes: ArraySlice<UInt8>) -> [String: String] {
        var names: [String: String] = [:]
        for line in ByteParsing.lines(bytes) {
            let fields = ByteParsing.fields(line)
            guard fields.count >= 3, let major = ByteParsing.uint64(fields[0]),
                let minor = ByteParsing.uint64(fields[1])
            else { continue }
            names["\(major):\(minor)"] = ByteParsing.string(fields[2])
        }
        return names
    }
}
