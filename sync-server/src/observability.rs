//! Metric names, the Prometheus recorder, and the tracing set-up shared by binary and tests.

use std::sync::OnceLock;

use axum::extract::MatchedPath;
use axum::http::Request;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Span;

/// Gauge: open WebSocket connections.
pub const CONNECTIONS: &str = "sync_connections";
/// Gauge: documents loaded in memory.
pub const ROOMS: &str = "sync_rooms";
/// Counter: document updates committed (rate() of it is updates/s).
pub const UPDATES: &str = "sync_updates_total";
/// Histogram: seconds to commit one batch of updates.
pub const PERSIST_SECONDS: &str = "sync_persist_seconds";
/// Counter: connections closed because their send queue was full.
pub const SLOW_CLIENTS_CLOSED: &str = "sync_slow_clients_closed_total";
/// Counter: connections closed because of a bad frame, labelled by close code.
pub const BAD_FRAMES: &str = "sync_bad_frames_total";

/// The process-wide Prometheus recorder. `metrics` has one global recorder per process, so
/// several servers in one test process share it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
        ];
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(PERSIST_SECONDS.to_owned()), &buckets)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if something else installed a recorder first; then /metrics is empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}

/// The span of one HTTP request: method and matched route, never the raw URI (WebSocket
/// URIs carry tokens in their query string).
pub fn http_span<B>(request: &Request<B>) -> Span {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("http", method = %request.method(), path)
}

/// Installs the global tracing subscriber: `RUST_LOG`-style filtering, text or JSON lines.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
