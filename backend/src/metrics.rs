//! Prometheus metrics and the health endpoints: `/healthz`, `/readyz`, `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Deliveries by how their latest attempt ended.
#[derive(Default)]
pub(crate) struct Deliveries {
    /// Attempts that delivered.
    pub succeeded: Counter,
    /// Attempts that failed with a retry scheduled.
    pub retrying: Counter,
    /// Deliveries that died.
    pub dead: Counter,
    /// Deliveries put off by a rate or in-flight limit (no attempt spent).
    pub deferred: Counter,
    /// Deliveries whose template failed to render (sent to dead letters, nothing sent).
    pub template_failed: Counter,
}

/// Everything `/metrics` reports.
pub(crate) struct Metrics {
    registry: Registry,
    /// Deliveries by outcome.
    pub deliveries: Deliveries,
    /// Attempt latency in seconds.
    pub attempt_latency: Histogram,
    /// Attempts in flight.
    pub in_flight: Gauge,
    /// Events fanned out.
    pub events_accepted: Counter,
    /// Events rejected (not JSON, too large, bad id).
    pub events_rejected: Counter,
    /// Tasks dropped because their endpoint was deleted.
    pub tasks_dropped: Counter,
    /// Tasks not sent again because the index has their delivery (an event or task handed
    /// out again after its acknowledgement was lost).
    pub tasks_already_delivered: Counter,
    /// First attempts made straight from fan-out, without a task.
    pub attempts_direct: Counter,
    /// Attempt outcomes (records, retries, dead letters) published again after JetStream
    /// did not acknowledge them (a stream electing a leader).
    pub outcomes_published_again: Counter,
    /// Messages that carried attempt records to the attempts stream (several records each
    /// while attempts settle together).
    pub attempt_record_messages: Counter,
    /// Tasks waiting for a worker.
    pub queue_depth: Gauge,
    /// Tasks waiting in retry tiers.
    pub retries_waiting: Gauge,
    /// Dead letters kept.
    pub dead_letters: Gauge,
    /// Deliveries held for paused or unverified endpoints.
    pub held: Gauge,
    /// Incoming-webhook requests by outcome.
    ingress_requests: Family<Vec<(String, String)>, Counter>,
    /// Per endpoint with an objective: compliance over its window, 0-1.
    slo_compliance: Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>,
    /// Per endpoint with an objective: the error budget left, 0-1.
    slo_budget_remaining: Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>,
    ready: AtomicBool,
}

impl Metrics {
    /// Registers every metric.
    #[must_use]
    pub(crate) fn new() -> Self {
        let metrics = Self {
            registry: Registry::with_prefix("hookwire"),
            deliveries: Deliveries::default(),
            attempt_latency: Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
            ]),
            in_flight: Gauge::default(),
            events_accepted: Counter::default(),
            events_rejected: Counter::default(),
            tasks_dropped: Counter::default(),
            tasks_already_delivered: Counter::default(),
            attempts_direct: Counter::default(),
            outcomes_published_again: Counter::default(),
            attempt_record_messages: Counter::default(),
            queue_depth: Gauge::default(),
            retries_waiting: Gauge::default(),
            dead_letters: Gauge::default(),
            held: Gauge::default(),
            ingress_requests: Family::default(),
            slo_compliance: Family::default(),
            slo_budget_remaining: Family::default(),
            ready: AtomicBool::new(false),
        };
        let mut registry = Registry::with_prefix("hookwire");
        let d = &metrics.deliveries;
        registry.register(
            "deliveries_succeeded",
            "Attempts that delivered (2xx)",
            d.succeeded.clone(),
        );
        registry.register(
            "deliveries_retrying",
            "Failed attempts with a retry scheduled",
            d.retrying.clone(),
        );
        registry.register("deliveries_dead", "Deliveries that died", d.dead.clone());
        registry.register(
            "deliveries_deferred",
            "Deliveries put off by an endpoint's rate or in-flight limit",
            d.deferred.clone(),
        );
        registry.register(
            "deliveries_template_failed",
            "Deliveries whose template failed to render (dead-lettered, nothing sent)",
            d.template_failed.clone(),
        );
        registry.register(
            "attempt_duration_seconds",
            "Attempt latency",
            metrics.attempt_latency.clone(),
        );
        registry.register(
            "attempts_in_flight",
            "Attempts in flight",
            metrics.in_flight.clone(),
        );
        metrics.register_counts(&mut registry);
        registry.register(
            "ingress_requests",
            "Incoming-webhook requests to sources, by outcome",
            metrics.ingress_requests.clone(),
        );
        registry.register(
            "endpoint_slo_compliance_ratio",
            "Share of an endpoint's settled deliveries that met its objective over its window (endpoints with an objective)",
            metrics.slo_compliance.clone(),
        );
        registry.register(
            "endpoint_slo_budget_remaining_ratio",
            "Share of an endpoint's error budget left over its objective's window",
            metrics.slo_budget_remaining.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// Registers the plain counters and gauges.
    fn register_counts(&self, registry: &mut Registry) {
        let counters = [
            (
                "events_accepted",
                "Events fanned out",
                &self.events_accepted,
            ),
            ("events_rejected", "Events rejected", &self.events_rejected),
            (
                "tasks_dropped",
                "Tasks dropped for deleted endpoints",
                &self.tasks_dropped,
            ),
            (
                "tasks_already_delivered",
                "Tasks not sent again because the index has their delivery (an event or task handed out again after its acknowledgement was lost)",
                &self.tasks_already_delivered,
            ),
            (
                "attempts_direct",
                "First attempts made straight from fan-out, without a task (the endpoint could take them at once)",
                &self.attempts_direct,
            ),
            (
                "outcomes_published_again",
                "Attempt outcomes published again after JetStream did not acknowledge them (a stream electing a leader)",
                &self.outcomes_published_again,
            ),
            (
                "attempt_record_messages",
                "Messages that carried attempt records to the attempts stream (several records each while attempts settle together)",
                &self.attempt_record_messages,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        let gauges = [
            (
                "queue_depth",
                "Tasks waiting for a worker",
                &self.queue_depth,
            ),
            (
                "retries_waiting",
                "Tasks waiting in retry tiers",
                &self.retries_waiting,
            ),
            ("dead_letters", "Dead letters kept", &self.dead_letters),
            (
                "deliveries_held",
                "Deliveries held for paused or unverified endpoints",
                &self.held,
            ),
        ];
        for (name, help, gauge) in gauges {
            registry.register(name, help, gauge.clone());
        }
    }

    /// Reports an endpoint's standing against its objective.
    pub(crate) fn set_slo(
        &self,
        tenant: &hookwire_protocol::Tenant,
        endpoint_id: &str,
        report: &hookwire_protocol::slo::SloReport,
    ) {
        let labels = vec![
            ("tenant".to_owned(), tenant.to_string()),
            ("endpoint".to_owned(), endpoint_id.to_owned()),
        ];
        self.slo_compliance
            .get_or_create(&labels)
            .set(report.compliance_percent.unwrap_or(100.0) / 100.0);
        self.slo_budget_remaining
            .get_or_create(&labels)
            .set(report.budget_remaining_percent / 100.0);
    }

    /// Counts one request to a source.
    pub(crate) fn ingress_request(&self, outcome: hookwire_protocol::source::RequestOutcome) {
        self.ingress_requests
            .get_or_create(&vec![("outcome".to_owned(), outcome.as_str().to_owned())])
            .inc();
    }

    /// Marks the instance ready (connected and provisioned) or not.
    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves the health and metrics endpoints on `addr` until the process ends.
/// `GET /keys/<tenant>` ([`crate::keys`]) is served there too, from `registry` once set.
pub(crate) async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    registry: crate::keys::RegistrySlot,
) -> std::io::Result<()> {
    let keys = axum::Router::new()
        .route("/keys/{tenant}", get(crate::keys::serve_jwks))
        .with_state(registry);
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render))
        .with_state(metrics)
        .merge(keys);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

async fn readyz(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    if metrics.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: connecting to NATS or provisioning streams\n",
        )
    }
}

async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.render(),
    )
}

/// Refreshes the stream-depth gauges every few seconds.
pub(crate) async fn poll_depths(
    js: jetstream::Context,
    streams: [String; 4],
    metrics: Arc<Metrics>,
) {
    let gauges = [
        &metrics.queue_depth,
        &metrics.retries_waiting,
        &metrics.dead_letters,
        &metrics.held,
    ];
    loop {
        for (name, gauge) in streams.iter().zip(gauges) {
            if let Ok(mut stream) = js.get_stream(name).await
                && let Ok(info) = stream.info().await
            {
                gauge.set(i64::try_from(info.state.messages).unwrap_or(i64::MAX));
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
