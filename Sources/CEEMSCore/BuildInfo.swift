/// Version information printed by `--version` and exported as `*_build_info`.
public enum BuildInfo {
    public static let version = "0.1.0"
    public static let revision = "unknown"
    public static let branch = "main"
    public static let tags = "swift"
    #if compiler(>=6.3)
    public static let toolchain = "swift6.3"
    #else
    public static let toolchain = "swift6"
    #endif
    #if arch(x86_64)
    public static let architecture = "amd64"
    #elseif arch(arm64)
    public static let architecture = "arm64"
    #else
    public static let architecture = "unknown"
    #endif
    #if os(Linux)
    public static let operatingSystem = "linux"
    #else
    public static let operatingSystem = "darwin"
    #endif

    /// The text of `--version`, in the shape of Prometheus' `version.Print`.
    public static func versionText(program: String) -> String {
        """
        \(program), version \(version) (branch: \(branch), revision: \(revision))
          build user:       unknown
          build date:       unknown
          go version:       \(toolchain)
          platform:         \(operatingSystem)/\(architecture)
          tags:             \(tags)
        """
    }
}
