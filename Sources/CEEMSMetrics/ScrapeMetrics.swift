/// The descriptors of the scrape's own metrics, shared by the scrape runner and by collectors that time their
/// sub-collectors.
public enum ScrapeMetrics {
    public static let duration = MetricDescriptor(
        "ceems_scrape_collector_duration_seconds",
        help: "ceems_exporter: Duration of a collector scrape.",
        type: .gauge,
        labels: ["collector", "subcollector"]
    )

    public static let success = MetricDescriptor(
        "ceems_scrape_collector_success",
        help: "ceems_exporter: Whether a collector succeeded.",
        type: .gauge,
        labels: ["collector"]
    )
}
