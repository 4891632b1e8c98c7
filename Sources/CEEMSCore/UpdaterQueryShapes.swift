/// The shapes of the API server's TSDB updater queries (api-server.md §9.2), shared by the server's defaults and
/// the queries `ceems_tool` generates, so both filter samples the same way (0 ≤ v < +Inf).
public enum UpdaterQueryShapes {
    /// Time mean of a ratio series.
    public static func average(_ series: String) -> String {
        "avg_over_time(avg by (uuid) (\(series){uuid=~\"{{.UUIDs}}\"} >= 0 < +Inf)[{{.Range}}:])"
    }

    /// Sum of a rate series sampled at the scrape interval, times the interval in ms, over `divisor`.
    public static func integral(_ series: String, divisor: String, provider: String? = nil) -> String {
        let selector = provider.map { "uuid=~\"{{.UUIDs}}\",provider=\"\($0)\"" } ?? "uuid=~\"{{.UUIDs}}\""
        return
            "sum_over_time(sum by (uuid) (\(series){\(selector)} >= 0 < +Inf)[{{.Range}}:{{.ScrapeInterval}}]) * {{.ScrapeIntervalMilli}} / \(divisor)"
    }

    /// Increase of a counter over the window.
    public static func increase(_ series: String) -> String {
        "sum by (uuid) (increase(\(series){uuid=~\"{{.UUIDs}}\"}[{{.Range}}]))"
    }
}
