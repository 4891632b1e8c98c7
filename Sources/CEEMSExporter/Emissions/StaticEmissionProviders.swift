import CEEMSCore

/// Our World in Data's yearly averages, embedded in the binary.
struct OWIDProvider: EmissionProvider {
    let id = "owid"
    let displayName = "OWID"

    func currentFactors() async -> [EmissionFactor]? {
        OWIDCarbonIntensity.entries.map {
            EmissionFactor(
                countryCode: $0.countryCode, country: $0.country, gramsPerKilowattHour: $0.gramsPerKilowattHour)
        }
    }
}

/// The world average, exported when no provider is chosen explicitly.
struct GlobalAverageProvider: EmissionProvider {
    let id = "global"
    let displayName = "World Average"

    func currentFactors() async -> [EmissionFactor]? {
        [EmissionFactor(countryCode: "ZZ", country: "World", gramsPerKilowattHour: 475)]
    }
}
