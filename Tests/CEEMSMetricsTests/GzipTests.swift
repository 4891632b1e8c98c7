import CEEMSMetrics
import Testing

@Suite struct GzipTests {
    @Test func roundTrips() throws {
        let text = Array(
            String(repeating: "ceems_cpu_seconds_total{hostname=\"n1\",mode=\"idle\"} 89790.04\n", count: 500).utf8)
        let compressed = try Gzip.compress(text)
        #expect(compressed.count < text.count / 10)
        #expect(compressed.prefix(2) == [0x1F, 0x8B])
        #expect(try Gzip.decompress(compressed) == text)
    }

    @Test func compressesEmptyBodies() throws {
        #expect(try Gzip.decompress(try Gzip.compress([])) == [])
    }

    @Test func rejectsGarbage() {
        #expect(throws: Gzip.Error.self) { try Gzip.decompress([1, 2, 3, 4]) }
    }
}
