import CEEMSCore
import CEEMSMetrics
import CEEMSWeb
import Logging

/// Grid emission factors (gCO2eq/kWh) per country from several providers, read from caches that the
/// providers refresh in the background (a scrape never waits on a web API).
final class EmissionsCollector: Collector {
    let name = CollectorName.emissions.rawValue

    static let providerIDs: Set<String> = ["owid", "emaps", "rte", "wt"]

    static let factor = MetricDescriptor(
        "ceems_emissions_gCo2_kWh", help: "Current emission factor in CO2eq grams per kWh", type: .gauge,
        labels: ["provider", "provider_name", "country_code", "country"])

    let providers: [any EmissionProvider]

    /// Builds the providers asked for; without `--collector.emissions.provider` every provider that has its
    /// credentials runs (CEEMS aborted when one lacked credentials), plus the world average.
    init(
        options: ExporterConfiguration.EmissionsOptions, logger: Logger,
        environment: (String) -> String? = EnvironmentExpansion.processValue
    ) throws {
        let explicit = !options.providers.isEmpty
        let wanted = explicit ? Set(options.providers) : Self.providerIDs
        var providers: [any EmissionProvider] = []
        func missing(_ id: String, _ what: String) throws {
            if explicit { throw EmissionAPIError.missingCredentials("\(what) for the \(id) provider") }
            logger.warning(
                "Emission provider skipped: no credentials", metadata: ["provider": "\(id)", "missing": "\(what)"])
        }
        if wanted.contains("owid") { providers.append(OWIDProvider()) }
        if wanted.contains("emaps") {
            if let token = environment("EMAPS_API_TOKEN"), !token.isEmpty {
                let base = environment("__EMAPS_BASE_URL") ?? "https://api.electricitymap.org/v3"
                providers.append(
                    RemoteEmissionProvider(
                        id: "emaps", displayName: "Electricity Maps", period: .seconds(1800),
                        http: try ConfiguredHTTPClient(config: HTTPClientConfig()),
                        fetch: EmissionAPIs.electricityMaps(token: token, baseURL: base, logger: logger)))
            } else {
                try missing("emaps", "EMAPS_API_TOKEN")
            }
        }
        if wanted.contains("rte") {
            let base = environment("__RTE_BASE_URL") ?? "https://odre.opendatasoft.com"
            providers.append(
                RemoteEmissionProvider(
                    id: "rte", displayName: "RTE eCO2 Mix", period: .seconds(1800),
                    http: try ConfiguredHTTPClient(config: HTTPClientConfig()), fetch: EmissionAPIs.rte(baseURL: base)))
        }
        if wanted.contains("wt") {
            if let user = environment("WT_USERNAME"), let password = environment("WT_PASSWORD"),
                let region = environment("WT_REGION"), !user.isEmpty, !password.isEmpty, !region.isEmpty
            {
                let base = environment("__WT_BASE_URL") ?? "https://api.watttime.org"
                providers.append(
                    RemoteEmissionProvider(
                        id: "wt", displayName: "Watt Time", period: .seconds(120),
                        http: try ConfiguredHTTPClient(config: HTTPClientConfig()),
                        fetch: EmissionAPIs.wattTime(username: user, password: password, region: region, baseURL: base))
                )
            } else {
                try missing("wt", "WT_USERNAME, WT_PASSWORD and WT_REGION")
            }
        }
        if !explicit { providers.append(GlobalAverageProvider()) }
        self.providers = providers
        for provider in providers { provider.start() }
    }

    func collect(into sink: inout MetricSink, context: ScrapeContext) async throws {
        var any = false
        for provider in providers {
            guard let factors = await provider.currentFactors() else {
                if let remote = provider as? RemoteEmissionProvider, let error = remote.lastError {
                    context.logger.debug(
                        "Emission factors unavailable", metadata: ["provider": "\(provider.id)", "err": "\(error)"])
                }
                continue
            }
            for factor in factors where factor.gramsPerKilowattHour > 0 {
                any = true
                sink.add(
                    Self.factor, factor.gramsPerKilowattHour,
                    [provider.id, provider.displayName, factor.countryCode, factor.country])
            }
        }
        if !any { throw CollectorError.noData("no emission factor available yet") }
    }

    func shutdown() async {
        for provider in providers { await provider.shutdown() }
    }
}
