/// Errors of the protobuf wire-format reader.
public enum ProtobufError: Error, Equatable, CustomStringConvertible {
    case truncated
    case malformedVarint
    case unsupportedWireType(Int)

    public var description: String {
        switch self {
        case .truncated: "protobuf message truncated"
        case .malformedVarint: "protobuf varint longer than 10 bytes"
        case .unsupportedWireType(let type): "protobuf wire type \(type) not supported"
        }
    }
}

/// A field of a protobuf message as it is on the wire: its number and its payload.
public enum ProtobufField<Bytes: RandomAccessCollection<UInt8>> {
    case varint(field: Int, value: UInt64)
    case fixed64(field: Int, value: UInt64)
    case lengthDelimited(field: Int, bytes: Bytes.SubSequence)
    case fixed32(field: Int, value: UInt32)
}

/// Reads the fields of one protobuf message, in wire order (enough for the few small messages the stack
/// decodes by hand, without generated code). Unknown fields are the caller's to skip: every field is returned.
public struct ProtobufReader<Bytes: RandomAccessCollection<UInt8>> {
    private let bytes: Bytes
    private var position: Bytes.Index

    public init(_ bytes: Bytes) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    /// The next field, or nil at the end of the message.
    public mutating func next() throws(ProtobufError) -> ProtobufField<Bytes>? {
        guard position < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(truncatingIfNeeded: key >> 3)
        switch key & 7 {
        case 0:
            return .varint(field: field, value: try varint())
        case 1:
            return .fixed64(field: field, value: try fixed(8))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.distance(from: position, to: bytes.endIndex)) else { throw .truncated }
            let end = bytes.index(position, offsetBy: Int(length))
            defer { position = end }
            return .lengthDelimited(field: field, bytes: bytes[position..<end])
        case 5:
            return .fixed32(field: field, value: UInt32(truncatingIfNeeded: try fixed(4)))
        case let type:
            throw .unsupportedWireType(Int(type))
        }
    }

    private mutating func varint() throws(ProtobufError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.endIndex {
            let byte = bytes[position]
            bytes.formIndex(after: &position)
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift >= 70 { throw .malformedVarint }
        }
        throw .truncated
    }

    private mutating func fixed(_ count: Int) throws(ProtobufError) -> UInt64 {
        guard bytes.distance(from: position, to: bytes.endIndex) >= count else { throw .truncated }
        var value: UInt64 = 0
        for shift in 0..<count {
            value |= UInt64(bytes[position]) << (8 * UInt64(shift))
            bytes.formIndex(after: &position)
        }
        return value
    }
}

extension ProtobufReader {
    /// The payload of a string field, as text.
    public static func string(_ bytes: Bytes.SubSequence) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
