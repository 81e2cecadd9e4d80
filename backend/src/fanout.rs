//! Fan-out: each event's first attempt to every matching endpoint, made here when the
//! endpoint can take it at once and queued as a task when it cannot, then the event is acked.
//!
//! Until the ack, a crash hands the event out again; endpoints the index already has a
//! delivery of it for are left out then (their attempt was recorded, with its retry or dead
//! letter). A task's `Nats-Msg-Id` is unique per (event, endpoint, attempt), so a task
//! published again within the tasks stream's duplicate window is not doubled either.

use std::sync::Arc;

use async_nats::jetstream::{self, consumer::PullConsumer};
use futures_util::StreamExt as _;
use hookwire_nats::streams::FANOUT_CONSUMER;
use hookwire_protocol::Tenant;
use hookwire_protocol::content_filter::ContentFilter;
use hookwire_protocol::headers::{CORRELATION_ID, NATS_MSG_ID, TRACEPARENT};
use hookwire_protocol::trace::TraceParent;
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::delivery::http::Sender;
use crate::delivery::{progress, worker};
use crate::engine::Engine;
use crate::registry::LiveEndpoint;
use crate::store::{Store, indexer};
use crate::task::Task;
use hookwire_protocol::endpoint::{DeliveryMode, Endpoint};

/// Events fanned out concurrently besides those waiting for their first attempts (at most
/// one an attempt slot), so endpoints slow to answer never hold up fan-out for the others.
const CONCURRENT_EVENTS: usize = 256;
const MAX_EVENT_ID_LEN: usize = 128;

/// Consumes the events stream until `stop` turns true; then lets the attempts in flight
/// finish. `attempt_slots` is the instance's `delivery.concurrency`.
pub(crate) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    attempt_slots: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let consumer: PullConsumer = engine
        .js
        .get_consumer_from_stream(FANOUT_CONSUMER, &engine.topology.events)
        .await?;
    let messages = consumer
        .stream()
        .max_messages_per_batch(500)
        .messages()
        .await?;
    messages
        .take_until(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .for_each_concurrent(CONCURRENT_EVENTS + attempt_slots, |message| {
            let engine = Arc::clone(&engine);
            let sender = sender.clone();
            let store = store.clone();
            async move {
                match message {
                    Ok(message) => fan_out(&engine, &sender, &store, message).await,
                    Err(e) => tracing::warn!(error = %e, "events consumer"),
                }
            }
        })
        .await;
    Ok(())
}

/// An event that will not be delivered, and why.
pub(crate) struct Rejection {
    tenant: Option<Tenant>,
    reason: String,
}

async fn fan_out(engine: &Engine, sender: &Sender, store: &Store, message: jetstream::Message) {
    let (seq, published_ns, again) = match message.info() {
        Ok(info) => (
            info.stream_sequence,
            info.published.unix_timestamp_nanos(),
            info.delivered > 1,
        ),
        Err(e) => {
            tracing::error!(error = %e, "event without JetStream metadata");
            return;
        }
    };
    let outcome = match tasks_for(engine, &message, seq, published_ns, Lanes::Skip) {
        Ok(tasks) => {
            let tasks = if again {
                not_delivered_yet(engine, store, tasks).await
            } else {
                tasks
            };
            let count = tasks.len();
            let trace_id = traceparent(message.headers.as_ref())
                .and_then(|value| TraceParent::parse(&value))
                .map(|parent| parent.trace_id());
            let span = tracing::debug_span!("fan_out", seq, endpoints = count, trace_id);
            progress::in_progress(&message, first_attempts(engine, sender, tasks))
                .instrument(span)
                .await
                .map(|()| {
                    engine.metrics.events_accepted.inc();
                    tracing::debug!(seq, endpoints = count, "event fanned out");
                })
        }
        Err(rejection) => reject(engine, &message.subject, seq, rejection).await,
    };
    match outcome {
        Ok(()) => {
            if let Err(e) = message.ack().await {
                tracing::warn!(seq, error = %e, "cannot ack an event; it will be fanned out again (without what the index has)");
            }
        }
        Err(e) => {
            // Not acked: JetStream redelivers the event after the ack wait.
            tracing::warn!(seq, error = %e, "cannot fan out an event; it will be retried");
        }
    }
}

/// Makes each task's attempt at once where its endpoint can take it and queues the rest;
/// `Ok` once every attempt is recorded (with what follows it) and every task is queued.
async fn first_attempts(
    engine: &Engine,
    sender: &Sender,
    tasks: Vec<Task>,
) -> Result<(), async_nats::Error> {
    let results = futures_util::future::join_all(tasks.into_iter().map(|task| async move {
        match worker::attempt_at_once(engine, sender, task).await? {
            Some(task) => engine.enqueue(&task).await,
            None => Ok(()),
        }
    }))
    .await;
    results.into_iter().collect()
}

/// `tasks` but those whose endpoint the index already has a delivery of the event for,
/// once the index has every attempt made so far (best effort: when it does not catch up
/// within 15 s, what it lacks goes again).
async fn not_delivered_yet(engine: &Engine, store: &Store, tasks: Vec<Task>) -> Vec<Task> {
    indexer::caught_up(engine, store).await;
    let mut kept = Vec::with_capacity(tasks.len());
    for task in tasks {
        let indexed = store
            .indexed_delivery(&task.tenant, &task.endpoint_id, &task.event_id)
            .await;
        if indexed.is_some() {
            engine.metrics.tasks_already_delivered.inc();
        } else {
            kept.push(task);
        }
    }
    kept
}

/// Which endpoints' tasks an event makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lanes {
    /// Every endpoint's but the ordered ones' (fan-out).
    Skip,
    /// Only the ordered endpoints', each with its key, and only of endpoints that existed
    /// when the event was published (the ordered feeder, which may read old events).
    Only,
}

/// The tasks `message` (event `seq`) makes for `lanes`, or why it is not delivered.
pub(crate) fn tasks_for(
    engine: &Engine,
    message: &jetstream::Message,
    seq: u64,
    published_ns: i128,
    lanes: Lanes,
) -> Result<Vec<Task>, Rejection> {
    let (tenant, event_type) = engine
        .topology
        .subjects
        .parse_event(&message.subject)
        .map_err(|e| Rejection {
            tenant: None,
            reason: e.to_string(),
        })?;
    let reject = |reason: String| Rejection {
        tenant: Some(tenant.clone()),
        reason,
    };
    let header = |name| header(message.headers.as_ref(), name);
    let event_id = event_id(header(NATS_MSG_ID), published_ns, seq).map_err(reject)?;
    if message.payload.len() > engine.max_event_bytes {
        return Err(reject(format!(
            "payload is {} bytes; the limit is {} (streams.max_event_bytes)",
            message.payload.len(),
            engine.max_event_bytes
        )));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&message.payload) {
        return Err(reject(format!("payload is not JSON: {e}")));
    }
    engine
        .catalog
        .check_event(&tenant, &event_type, &message.payload)
        .map_err(reject)?;
    let correlation_id = correlation_id(message.headers.as_ref());
    let traceparent = traceparent(message.headers.as_ref());
    let event_time_ms = i64::try_from(published_ns / 1_000_000).unwrap_or(i64::MAX);
    // The data is parsed only for an endpoint with a content filter, once per event.
    let mut data: Option<serde_json::Value> = None;
    let mut passes = |filter: &ContentFilter| {
        let data = data.get_or_insert_with(|| {
            serde_json::from_slice(&message.payload).unwrap_or(serde_json::Value::Null)
        });
        filter.matches(data)
    };
    let wanted = |endpoint: &&Arc<LiveEndpoint>| match lanes {
        Lanes::Skip => !endpoint.endpoint.delivery.is_ordered(),
        Lanes::Only => {
            endpoint.endpoint.delivery.is_ordered()
                && endpoint.endpoint.created_at.timestamp_millis() <= event_time_ms
        }
    };
    Ok(engine
        .registry
        .matching(&tenant, &event_type)
        .iter()
        .filter(wanted)
        .filter(|endpoint| endpoint.endpoint.filter.as_ref().is_none_or(&mut passes))
        .map(|endpoint| Task {
            tenant: tenant.clone(),
            endpoint_id: endpoint.endpoint.id.clone(),
            event_id: event_id.clone(),
            event_seq: seq,
            event_type: event_type.clone(),
            event_time_ms,
            attempt: 1,
            series_start: 1,
            correlation_id: correlation_id.clone(),
            traceparent: traceparent.clone(),
            due_ms: None,
            paced: false,
            batch: None,
            order_key: order_key(
                &endpoint.endpoint,
                message.headers.as_ref(),
                &message.payload,
            ),
            data: message.payload.clone(),
        })
        .collect())
}

/// An event's key for `endpoint`, when the endpoint is ordered.
pub(crate) fn order_key(
    endpoint: &Endpoint,
    headers: Option<&async_nats::HeaderMap>,
    payload: &[u8],
) -> Option<String> {
    match &endpoint.delivery {
        DeliveryMode::Ordered(settings) => {
            Some(settings.key.of(|name| self::header(headers, name), payload))
        }
        _ => None,
    }
}

/// A header's value as text.
pub(crate) fn header(headers: Option<&async_nats::HeaderMap>, name: &str) -> Option<String> {
    headers
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_owned())
}

/// An event's correlation id: its `Hookwire-Correlation-Id`, else its `traceparent`.
pub(crate) fn correlation_id(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    header(headers, CORRELATION_ID).or_else(|| header(headers, TRACEPARENT))
}

/// An event's W3C `traceparent`, when it carries a valid one (an invalid one is ignored).
pub(crate) fn traceparent(headers: Option<&async_nats::HeaderMap>) -> Option<String> {
    header(headers, TRACEPARENT).filter(|value| TraceParent::parse(value).is_some())
}

/// An event's id: its `Nats-Msg-Id` (`msg_id`) when it has one, else one derived from its
/// publish time and stream sequence (the same every time the event is read).
pub(crate) fn event_id(
    msg_id: Option<String>,
    published_ns: i128,
    seq: u64,
) -> Result<String, String> {
    match msg_id {
        Some(id) if is_valid_event_id(&id) => Ok(id),
        Some(_) => Err(format!(
            "{NATS_MSG_ID} must be 1-{MAX_EVENT_ID_LEN} visible ASCII characters"
        )),
        None => Ok(format!("evt_{published_ns:x}{seq:x}")),
    }
}

fn is_valid_event_id(id: &str) -> bool {
    (1..=MAX_EVENT_ID_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Publishes every task, pipelined, and waits for all acknowledgements.
pub(crate) async fn publish_tasks(
    engine: &Engine,
    tasks: Vec<Task>,
) -> Result<usize, async_nats::Error> {
    let count = tasks.len();
    let mut acks = Vec::with_capacity(count);
    for task in tasks {
        let subject = engine.task_subject(&task);
        acks.push(
            engine
                .js
                .publish_with_headers(subject, task.headers(), task.data)
                .await?,
        );
    }
    for ack in acks {
        ack.await?;
    }
    Ok(count)
}

async fn reject(
    engine: &Engine,
    subject: &str,
    seq: u64,
    rejection: Rejection,
) -> Result<(), async_nats::Error> {
    engine.metrics.events_rejected.inc();
    tracing::warn!(subject, seq, reason = rejection.reason, "event rejected");
    let Some(tenant) = rejection.tenant else {
        // No valid tenant to report to: the log and the metric are the record.
        return Ok(());
    };
    let data =
        serde_json::json!({"subject": subject, "stream_sequence": seq, "reason": rejection.reason});
    engine
        .publish_operational(&tenant, "event.rejected", &data)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_visible_ascii_and_bounded() {
        assert!(is_valid_event_id("evt_123"));
        assert!(is_valid_event_id("order:42/paid"));
        assert!(!is_valid_event_id(""));
        assert!(!is_valid_event_id("has space"));
        assert!(!is_valid_event_id("tab\there"));
        assert!(!is_valid_event_id("ünicode"));
        assert!(!is_valid_event_id(&"x".repeat(129)));
        assert!(is_valid_event_id(&"x".repeat(128)));
    }
}
