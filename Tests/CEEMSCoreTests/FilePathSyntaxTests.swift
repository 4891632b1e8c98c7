import CEEMSCore
import Testing

@Suite struct FilePathSyntaxTests {
    @Test(arguments: [
        ("", "."), ("/", "/"), ("a//b", "a/b"), ("./a/./b/", "a/b"), ("a/../b", "b"), ("/../a", "/a"),
        ("../a/..", ".."), ("pkg/collector/testdata/sys/", "pkg/collector/testdata/sys"), ("a/b/../../..", ".."),
    ])
    func cleansLikeGo(path: String, expected: String) {
        #expect(FilePathSyntax.clean(path) == expected)
    }

    @Test func joinsAndCleans() {
        #expect(FilePathSyntax.join("sys/", "class", "powercap/intel-rapl:0") == "sys/class/powercap/intel-rapl:0")
        #expect(FilePathSyntax.join("", "a") == "a")
        #expect(FilePathSyntax.join("/sys", "../proc") == "/proc")
    }

    @Test func basename() {
        #expect(FilePathSyntax.base("/usr/sbin/capmc") == "capmc")
        #expect(FilePathSyntax.base("dir/") == "dir")
        #expect(FilePathSyntax.base("") == ".")
    }
}
