import CEEMSCore
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("admin:s3cr:et", "YWRtaW46czNjcjpldA=="),
    ])
    func roundTrips(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: ["Zg=a", "Z", "!!!!", "Zm9v===", "Zm 9v"])
    func rejectsInvalid(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
