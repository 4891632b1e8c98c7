#if canImport(Glibc)
import Glibc
#endif

/// The read-only reference beside the clone (`../shared`): the exporter conformance suite's recorded outputs
/// and fixtures. Tests read the files where they are; they are never copied into the repository.
public enum SharedReference {
    /// `<repo>/../shared`.
    public static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/../shared"
    }()

    public static let conformance = root + "/conformance/exporter"
    public static let expected = conformance + "/expected"
    public static let fixtures = conformance + "/fixtures"

    public static var available: Bool { access(conformance, R_OK) == 0 }

    /// The names of the files of a directory.
    public static func files(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The content of a file of the reference (nil when absent).
    public static func read(_ relative: String) -> String? {
        Golden.read(relative.hasPrefix("/") ? relative : conformance + "/" + relative)
    }

    /// Unpacks one of the fixture tarballs (`sys.tar.gz`, `proc.tar.gz`) into `tree`.
    public static func unpack(_ tarball: String, into tree: FixtureTree) throws {
        let command = "tar -xzf '\(fixtures)/\(tarball)' -C '\(tree.root)' 2>/dev/null"
        guard system(command) == 0 else { throw FixtureTree.Failure("cannot unpack \(tarball)") }
    }
}
