/// Where `ceems_tool` talks to the operator: every message on stderr (ceems-tool.md §1), answers from stdin.
public struct ToolConsole: Sendable {
    public var write: @Sendable (String) -> Void
    public var readLine: @Sendable () -> String?

    public init(write: @escaping @Sendable (String) -> Void, readLine: @escaping @Sendable () -> String?) {
        self.write = write
        self.readLine = readLine
    }

    public func say(_ line: String) { write(line + "\n") }
}

/// A failure the tool reports as `<message>` and exit 1.
public struct ToolError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
