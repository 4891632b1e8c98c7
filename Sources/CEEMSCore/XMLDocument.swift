/// A parsed XML element: name, attributes, child elements and the concatenated text directly inside it.
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var attributes: [String: String]
    public var children: [XMLElement]
    public var text: String

    public init(name: String, attributes: [String: String] = [:], children: [XMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child element with this name.
    public func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    /// All child elements with this name.
    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// The element at a `/`-separated path of child names (`devices/hostdev`), first match at each step.
    public func element(at path: String) -> XMLElement? {
        var current: XMLElement? = self
        for part in path.split(separator: "/") {
            current = current?.child(String(part))
        }
        return current
    }

    /// The trimmed text of the element at `path`.
    public func value(at path: String) -> String? {
        element(at: path).map { $0.text.trimmingSpaces() }
    }

    /// All descendants with this name, depth first.
    public func descendants(_ name: String) -> [XMLElement] {
        var found: [XMLElement] = []
        var stack = Array(children.reversed())
        while let element = stack.popLast() {
            if element.name == name { found.append(element) }
            stack.append(contentsOf: element.children.reversed())
        }
        return found
    }
}

/// A small, forgiving XML parser for the documents the exporter reads (nvidia-smi's XML, libvirt domain XML).
///
/// It skips the XML declaration, processing instructions, comments and the DOCTYPE without validating them
/// (nvidia-smi prints `<?xml version=1.0 ?>` and an unquoted DOCTYPE, which strict parsers reject), decodes the
/// predefined and numeric entities and CDATA, and rejects documents whose tags do not nest. It is iterative, so a
/// deeply nested document cannot overflow the stack.
public enum XMLDocument {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var message: String
        public var offset: Int

        public var description: String { "XML: \(message) at byte \(offset)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> XMLElement {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8], maximumDepth: Int = 256) throws(ParseError) -> XMLElement {
        var index = 0
        var stack: [XMLElement] = []
        var root: XMLElement?

        func fail(_ message: String) -> ParseError { ParseError(message: message, offset: index) }
        func starts(with literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            return literal.withUTF8Buffer { buffer in
                for offset in 0..<count where bytes[index + offset] != buffer[offset] { return false }
                return true
            }
        }
        func skip(until literal: StaticString) throws(ParseError) {
            while index < bytes.count {
                if starts(with: literal) {
                    index += literal.utf8CodeUnitCount
                    return
                }
                index += 1
            }
            throw fail("unterminated construct")
        }
        func isNameByte(_ byte: UInt8) -> Bool {
            !(ByteParsing_isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
                || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "<"))
        }

        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                if !stack.isEmpty {
                    stack[stack.count - 1].text += decodeEntities(bytes[start..<index])
                } else if bytes[start..<index].contains(where: { !ByteParsing_isSpace($0) }) {
                    throw ParseError(message: "text outside the root element", offset: start)
                }
                continue
            }
            if starts(with: "<?") {
                try skip(until: "?>")
            } else if starts(with: "<!--") {
                try skip(until: "-->")
            } else if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                try skip(until: "]]>")
                guard !stack.isEmpty else { throw fail("CDATA outside the root element") }
                stack[stack.count - 1].text += String(decoding: bytes[start..<(index - 3)], as: UTF8.self)
            } else if starts(with: "<!") {
                // DOCTYPE (possibly with an internal subset in brackets).
                var depth = 0
                while index < bytes.count {
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "[") { depth += 1 }
                    if byte == UInt8(ascii: "]") { depth -= 1 }
                    if byte == UInt8(ascii: ">") && depth <= 0 { break }
                }
            } else if starts(with: "</") {
                index += 2
                let start = index
                while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
                let name = String(decoding: bytes[start..<index], as: UTF8.self)
                while index < bytes.count, bytes[index] != UInt8(ascii: ">") { index += 1 }
                guard index < bytes.count else { throw fail("unterminated closing tag") }
                index += 1
                guard let element = stack.popLast(), element.name == name else {
                    throw fail("unexpected closing tag </\(name)>")
                }
                if stack.isEmpty {
                    root = element
                } else {
                    stack[stack.count - 1].children.append(element)
                }
            } else {
                index += 1
                let start = index
                while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
                guard index > start else { throw fail("empty tag name") }
                var element = XMLElement(name: String(decoding: bytes[start..<index], as: UTF8.self))
                var selfClosing = false
                while true {
                    while index < bytes.count, ByteParsing_isSpace(bytes[index]) { index += 1 }
                    guard index < bytes.count else { throw fail("unterminated tag <\(element.name)>") }
                    if bytes[index] == UInt8(ascii: ">") {
                        index += 1
                        break
                    }
                    if bytes[index] == UInt8(ascii: "/") {
                        guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else {
                            throw fail("malformed tag <\(element.name)>")
                        }
                        index += 2
                        selfClosing = true
                        break
                    }
                    let nameStart = index
                    while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
                    let attribute = String(decoding: bytes[nameStart..<index], as: UTF8.self)
                    guard !attribute.isEmpty else { throw fail("malformed attribute in <\(element.name)>") }
                    while index < bytes.count, ByteParsing_isSpace(bytes[index]) { index += 1 }
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                        element.attributes[attribute] = ""
                        continue
                    }
                    index += 1
                    while index < bytes.count, ByteParsing_isSpace(bytes[index]) { index += 1 }
                    guard index < bytes.count else { throw fail("unterminated attribute") }
                    let quote = bytes[index]
                    if quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") {
                        index += 1
                        let valueStart = index
                        while index < bytes.count, bytes[index] != quote { index += 1 }
                        guard index < bytes.count else { throw fail("unterminated attribute value") }
                        element.attributes[attribute] = decodeEntities(bytes[valueStart..<index])
                        index += 1
                    } else {
                        let valueStart = index
                        while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
                        element.attributes[attribute] = decodeEntities(bytes[valueStart..<index])
                    }
                }
                if selfClosing {
                    if stack.isEmpty {
                        root = element
                    } else {
                        stack[stack.count - 1].children.append(element)
                    }
                } else {
                    guard stack.count < maximumDepth else { throw fail("document nested too deeply") }
                    stack.append(element)
                }
            }
            if root != nil && stack.isEmpty {
                break
            }
        }
        guard stack.isEmpty else { throw fail("unclosed element <\(stack.last!.name)>") }
        guard let root else { throw fail("no root element") }
        return root
    }

    static func decodeEntities(_ bytes: ArraySlice<UInt8>) -> String {
        guard bytes.contains(UInt8(ascii: "&")) else { return String(decoding: bytes, as: UTF8.self) }
        var out = ""
        var index = bytes.startIndex
        while index < bytes.endIndex {
            guard bytes[index] == UInt8(ascii: "&"),
                let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";"))
            else {
                let next = bytes[index...].dropFirst().firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
                out += String(decoding: bytes[index..<next], as: UTF8.self)
                index = next
                continue
            }
            let entity = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
            var replacement: String?
            switch entity {
            case "lt": replacement = "<"
            case "gt": replacement = ">"
            case "amp": replacement = "&"
            case "quot": replacement = "\""
            case "apos": replacement = "'"
            default:
                if entity.hasPrefix("#x"), let code = UInt32(entity.dropFirst(2), radix: 16),
                    let scalar = Unicode.Scalar(code)
                {
                    replacement = String(Character(scalar))
                } else if entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()),
                    let scalar = Unicode.Scalar(code)
                {
                    replacement = String(Character(scalar))
                }
            }
            if let replacement {
                out += replacement
                index = semicolon + 1
            } else {
                out += "&"
                index += 1
            }
        }
        return out
    }
}

@inline(__always) func ByteParsing_isSpace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}
