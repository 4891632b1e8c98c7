import CEEMSCore
import Testing

@Suite struct ProtobufReaderTests {
    @Test func readsEveryWireType() throws {
        // field 1 varint 300; field 2 "hi"; field 3 fixed32 1; field 4 fixed64 2
        let bytes: [UInt8] = [
            0x08, 0xAC, 0x02, 0x12, 0x02, 0x68, 0x69, 0x1D, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0,
        ]
        var reader = ProtobufReader(bytes[...])
        guard case .varint(1, 300) = try reader.next() else { Issue.record("varint"); return }
        guard case .lengthDelimited(2, let text) = try reader.next() else { Issue.record("string"); return }
        #expect(ProtobufReader<ArraySlice<UInt8>>.string(text) == "hi")
        guard case .fixed32(3, 1) = try reader.next() else { Issue.record("fixed32"); return }
        guard case .fixed64(4, 2) = try reader.next() else { Issue.record("fixed64"); return }
        #expect(try reader.next() == nil)
    }

    @Test func truncatedAndMalformedMessagesThrow() {
        let cases: [([UInt8], ProtobufError)] = [
            ([0x12, 0x05, 0x61], .truncated),  // length beyond the end
            ([0x08], .truncated),  // varint missing
            ([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .malformedVarint),
            ([0x0B], .unsupportedWireType(3)),  // start group
            ([0x1D, 1, 2], .truncated),
        ]
        for (bytes, expected) in cases {
            var reader = ProtobufReader(bytes[...])
            #expect(throws: expected) {
                while try reader.next() != nil {}
            }
        }
    }
}
