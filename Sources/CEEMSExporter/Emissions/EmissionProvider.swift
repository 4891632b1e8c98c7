/// One grid emission factor.
struct EmissionFactor: Sendable, Equatable {
    var countryCode: String
    var country: String
    var gramsPerKilowattHour: Double
}

/// A source of emission factors (`provider` label) for the emissions collector.
protocol EmissionProvider: Sendable {
    /// `owid`, `emaps`, `rte`, `wt` or `global`.
    var id: String { get }
    /// The `provider_name` label.
    var displayName: String { get }
    /// Starts fetching (network providers); returns at once.
    func start()
    /// The current factors, from a cache that a scrape never waits for; nil when none is known yet.
    func currentFactors() async -> [EmissionFactor]?
    func shutdown() async
}

extension EmissionProvider {
    func start() {}
    func shutdown() async {}
}
