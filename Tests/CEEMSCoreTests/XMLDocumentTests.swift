import CEEMSCore
import Testing

@Suite struct XMLDocumentTests {
    @Test func acceptsNvidiaSMIsUnquotedPrologue() throws {
        let text = """
            <?xml version=1.0 ?>
            <!DOCTYPE nvidia_smi_log SYSTEM nvsmi_device_v12.dtd>
            <nvidia_smi_log>
              <!-- a comment -->
              <gpu id="00000000:10:00.0">
                <product_name>NVIDIA A100 &amp; co &#65;&#x42;</product_name>
                <uuid><![CDATA[GPU-1<2>]]></uuid>
              </gpu>
              <gpu id='00000000:15:00.0'/>
            </nvidia_smi_log>
            """
        let root = try XMLDocument.parse(text)
        #expect(root.name == "nvidia_smi_log")
        let gpus = root.children("gpu")
        #expect(gpus.count == 2)
        #expect(gpus[0].attributes["id"] == "00000000:10:00.0")
        #expect(gpus[1].attributes["id"] == "00000000:15:00.0")
        #expect(gpus[0].value(at: "product_name") == "NVIDIA A100 & co AB")
        #expect(gpus[0].value(at: "uuid") == "GPU-1<2>")
        #expect(root.descendants("uuid").count == 1)
        #expect(root.value(at: "gpu/missing") == nil)
    }

    @Test(arguments: [
        "<a><b></a></b>", "<a>", "", "   ", "<a attr=\"unterminated></a>", "<a></b>", "text only", "<a><b>",
    ])
    func malformedDocumentsAreRejected(text: String) {
        #expect(throws: XMLDocument.ParseError.self) { try XMLDocument.parse(text) }
    }

    @Test func deepNestingIsRejectedWithoutExhaustingTheStack() {
        let deep = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        #expect(throws: XMLDocument.ParseError.self) { try XMLDocument.parse(deep) }
        let fine = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect((try? XMLDocument.parse(fine)) != nil)
    }
}
