import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Golden files in a test target's `Golden` folder: `UPDATE_GOLDEN=1 swift test` rewrites them; a mismatch
/// records a line diff.
public enum Golden {

    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String { "golden file \(path) is missing; run with UPDATE_GOLDEN=1" }
    }

    /// Compares `actual` with `Golden/<name>` next to the calling test file.
    public static func check(
        _ actual: String, name: String, filePath: String = #filePath, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let path = String(filePath[..<filePath.lastIndex(of: "/")!]) + "/Golden/" + name
        if getenv("UPDATE_GOLDEN") != nil {
            let file = fopen(path, "w")
            fputs(actual, file)
            fclose(file)
            return
        }
        guard let expected = read(path) else { throw Missing(path: path) }
        if expected != actual {
            let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
            var report = "differs from \(name):\n"
            for index in 0..<max(expectedLines.count, actualLines.count) {
                let e = index < expectedLines.count ? String(expectedLines[index]) : "<none>"
                let a = index < actualLines.count ? String(actualLines[index]) : "<none>"
                if e != a { report += "line \(index + 1):\n- \(e)\n+ \(a)\n" }
            }
            Issue.record(Comment(rawValue: report), sourceLocation: sourceLocation)
        }
    }

    /// The content of a file, or nil.
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
