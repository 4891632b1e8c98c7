import CEEMSWeb
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import CEEMSExporter

@Suite(.serialized) struct EmissionsCollectorTests {
    @Test func owidAndTheWorldAverageNeedNoNetwork() async throws {
        let collector = try EmissionsCollector(
            options: .init(), logger: quietLogger, environment: { _ in nil })
        #expect(collector.providers.map(\.id) == ["owid", "rte", "global"])
        let text = await scrape([collector])
        await collector.shutdown()
        #expect(
            text.contains(
                #"ceems_emissions_gCo2_kWh{country="France",country_code="FR",provider="owid",provider_name="OWID"} 44.179085"#
            ))
        #expect(
            text.contains(
                #"ceems_emissions_gCo2_kWh{country="World",country_code="ZZ",provider="global",provider_name="World Average"} 475"#
            ))
    }

    @Test func providersWithoutCredentialsAreSkippedUnlessAskedFor() throws {
        var options = ExporterConfiguration.EmissionsOptions()
        options.providers = ["emaps"]
        #expect(throws: (any Error).self) {
            try EmissionsCollector(options: options, logger: quietLogger, environment: { _ in nil })
        }
        options.providers = ["owid"]
        let collector = try EmissionsCollector(options: options, logger: quietLogger, environment: { _ in nil })
        #expect(collector.providers.map(\.id) == ["owid"])
    }

    @Test func electricityMapsFactorsComeFromTheAPIInTheBackground() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("/v3/zones") { request, _ -> Response in
            guard request.headers[HTTPField.Name("auth-token")!] == "t0ken" else {
                return Response(status: .unauthorized)
            }
            return Response(
                status: .ok,
                body: .init(
                    byteBuffer: ByteBuffer(string: #"{"FR":{"zoneName":"France"},"DE":{"zoneName":"Germany"}}"#)))
        }
        router.get("/v3/carbon-intensity/latest") { request, _ -> Response in
            let zone = request.uri.queryParameters.get("zone") ?? ""
            guard zone == "FR" else { return Response(status: .forbidden) }
            return Response(
                status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"zone":"FR","carbonIntensity":32}"#)))
        }
        try await withTestServer(router) { port in
            var options = ExporterConfiguration.EmissionsOptions()
            options.providers = ["emaps"]
            let environment = ["EMAPS_API_TOKEN": "t0ken", "__EMAPS_BASE_URL": "http://127.0.0.1:\(port)/v3"]
            let collector = try EmissionsCollector(
                options: options, logger: quietLogger, environment: { environment[$0] })
            var text = ""
            for _ in 0..<50 {
                text = await scrape([collector])
                if text.contains("Electricity Maps") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            await collector.shutdown()
            #expect(
                text.contains(
                    #"ceems_emissions_gCo2_kWh{country="France",country_code="FR",provider="emaps",provider_name="Electricity Maps"} 32"#
                ))
            #expect(!text.contains("Germany"))
        }
    }
}
