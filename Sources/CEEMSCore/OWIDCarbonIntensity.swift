/// Static grid carbon intensity per country from Our World in Data, embedded in the binaries (the exporter's
/// `owid` emission provider and `ceems_tool`'s fallback factor).
public enum OWIDCarbonIntensity {
    public struct Entry: Sendable, Equatable {
        /// ISO 3166-1 alpha-2 code.
        public var countryCode: String
        public var country: String
        public var year: Int
        public var gramsPerKilowattHour: Double
    }

    /// Every country, sorted by code.
    public static var entries: [Entry] { table }

    /// The entry of a country by its alpha-2 code (case-insensitive).
    public static func entry(countryCode: String) -> Entry? {
        let code = countryCode.uppercased()
        return table.first { $0.countryCode == code }
    }
}
