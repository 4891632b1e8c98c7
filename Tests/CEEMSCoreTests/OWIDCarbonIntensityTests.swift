import CEEMSCore
import Testing

@Suite struct OWIDCarbonIntensityTests {
    @Test func holdsTheLatestYearPerCountry() throws {
        let france = try #require(OWIDCarbonIntensity.entry(countryCode: "fr"))
        #expect(france.country == "France")
        #expect(france.year == 2024)
        #expect(france.gramsPerKilowattHour == 44.179085)
    }

    @Test func coversTheWorldWithUniqueCodes() {
        let codes = OWIDCarbonIntensity.entries.map(\.countryCode)
        #expect(codes.count > 200)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.count == 2 })
        #expect(OWIDCarbonIntensity.entries.allSatisfy { $0.gramsPerKilowattHour >= 0 && $0.year >= 2000 })
    }
}
