import Yams

/// Errors of loading a YAML configuration file; each names the file and, where it can, the key.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case invalidYAML(file: String, reason: String)
    case unknownKey(file: String, key: String)
    case invalidValue(file: String, key: String, reason: String)
    case invalid(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): "cannot read config file \(file): \(reason)"
        case .invalidYAML(let file, let reason): "invalid YAML in \(file): \(reason)"
        case .unknownKey(let file, let key): "\(file): unknown key \"\(key)\""
        case .invalidValue(let file, let key, let reason): "\(file): invalid value for \"\(key)\": \(reason)"
        case .invalid(let file, let reason): file.isEmpty ? reason : "\(file): \(reason)"
        }
    }
}

/// The keys a YAML document may hold, to reject typos with their path (like Go's `yaml.UnmarshalStrict`).
public indirect enum KeySchema: Sendable {
    /// Anything is accepted below this point.
    case any
    /// A mapping with exactly these keys (each optional).
    case object([String: KeySchema])
    /// A mapping with arbitrary keys whose values follow the schema.
    case map(KeySchema)
    /// A sequence whose items follow the schema.
    case list(KeySchema)
}

/// Loads Codable configuration structs from YAML files (Yams), with optional `$VAR` expansion and strict keys.
public enum YAMLConfig {
    public static func load<T: Decodable>(
        _ type: T.Type, file: String, expandEnvironment: Bool = false, schema: KeySchema? = nil
    ) throws(ConfigError) -> T {
        let text: String
        do {
            text = try SystemFile.readString(file, limit: 16 << 20)
        } catch {
            throw .unreadable(file: file, reason: error.description)
        }
        return try decode(type, from: text, file: file, expandEnvironment: expandEnvironment, schema: schema)
    }

    public static func decode<T: Decodable>(
        _ type: T.Type, from text: String, file: String = "<inline>", expandEnvironment: Bool = false,
        schema: KeySchema? = nil
    ) throws(ConfigError) -> T {
        let source = expandEnvironment ? EnvironmentExpansion.expand(text) : text
        let node: Node?
        do {
            node = try Yams.compose(yaml: source)
        } catch {
            throw .invalidYAML(file: file, reason: "\(error)")
        }
        let root = node ?? Node.mapping([:])
        if let schema {
            try validate(root, against: schema, path: "", file: file)
        }
        do {
            return try YAMLDecoder().decode(type, from: root)
        } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch let error as ConfigError {
            throw error
        } catch {
            throw .invalid(file: file, reason: "\(error)")
        }
    }

    static func validate(_ node: Node, against schema: KeySchema, path: String, file: String) throws(ConfigError) {
        switch (schema, node) {
        case (.any, _):
            return
        case (.object(let keys), .mapping(let mapping)):
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                let keyPath = path.isEmpty ? name : "\(path).\(name)"
                guard let child = keys[name] else { throw .unknownKey(file: file, key: keyPath) }
                try validate(value, against: child, path: keyPath, file: file)
            }
        case (.map(let child), .mapping(let mapping)):
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                try validate(value, against: child, path: path.isEmpty ? name : "\(path).\(name)", file: file)
            }
        case (.list(let child), .sequence(let sequence)):
            for (index, value) in sequence.enumerated() {
                try validate(value, against: child, path: "\(path)[\(index)]", file: file)
            }
        default:
            // Type mismatches (a scalar where a mapping is expected, null sections) are reported by the decoder.
            return
        }
    }

    static func describe(_ error: DecodingError, file: String) -> ConfigError {
        func keyPath(_ path: [any CodingKey]) -> String {
            path.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }.joined(separator: ".")
                .replacingDotBrackets()
        }
        switch error {
        case .typeMismatch(let type, let context):
            return .invalidValue(
                file: file, key: keyPath(context.codingPath), reason: "expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return .invalidValue(file: file, key: keyPath(context.codingPath), reason: "missing \(type)")
        case .keyNotFound(let key, let context):
            return .invalidValue(
                file: file, key: keyPath(context.codingPath + [key]), reason: "required key is missing")
        case .dataCorrupted(let context):
            return .invalidValue(file: file, key: keyPath(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .invalid(file: file, reason: "\(error)")
        }
    }
}

extension String {
    fileprivate func replacingDotBrackets() -> String {
        var out = ""
        var previous: Character?
        for character in self {
            if character == "[" && previous == "." { out.removeLast() }
            out.append(character)
            previous = character
        }
        return out
    }
}
