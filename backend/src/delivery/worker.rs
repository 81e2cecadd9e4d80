//! The delivery worker: pulls tasks, makes the attempt, records it, and schedules what
//! comes next (a retry tier, the dead-letter stream) before acking the task. Nothing is
//! acked before what must survive is acknowledged by JetStream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::{DateTime, TimeZone as _, Utc};
use futures_util::StreamExt as _;
use hookwire_nats::streams::DELIVER_CONSUMER;
use hookwire_protocol::attempt::{AttemptRecord, ErrorKind, ErrorRecord, Outcome};
use hookwire_protocol::endpoint::{DeliveryMode, Endpoint, EndpointStatus};
use hookwire_protocol::headers::TRACEPARENT;
use hookwire_protocol::trace::TraceParent;
use rand::Rng as _;
use reqwest::header::HeaderValue;
use tokio::sync::watch;
use tracing::Instrument as _;

use super::batch;
use super::circuit::Change;
use super::durable::{Outgoing, publish_durably};
use super::gates::{Admission, Place, Turn, Waiting};
use super::http::{Sender, Sent};
use super::outcome::{Verdict, error_record, verdict};
use super::pacing::Load;
use super::request::{self, Payload};
use super::retry::{next_delay, tier_for};
use crate::delivery::held;
use crate::engine::Engine;
use crate::registry::{self, LiveEndpoint};
use crate::store::{Store, indexer};
use crate::task::Task;
use crate::templates::{self, BodyError, EventView, RenderError};

/// Pulls and delivers tasks, `concurrency` at a time, until `stop` turns true; then lets
/// the attempts in flight finish.
pub(crate) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
) -> Result<(), async_nats::Error> {
    let consumer: PullConsumer = engine
        .js
        .get_consumer_from_stream(DELIVER_CONSUMER, &engine.topology.tasks)
        .await?;
    let batch = concurrency.clamp(1, 1000);
    let messages = consumer
        .stream()
        .max_messages_per_batch(batch)
        .messages()
        .await?;
    messages
        .take_until(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .for_each_concurrent(concurrency, |message| {
            let engine = Arc::clone(&engine);
            let sender = sender.clone();
            let store = store.clone();
            async move {
                match message {
                    Ok(message) => {
                        engine.metrics.in_flight.inc();
                        handle(&engine, &sender, &store, message).await;
                        engine.metrics.in_flight.dec();
                    }
                    Err(e) => tracing::warn!(error = %e, "tasks consumer"),
                }
            }
        })
        .await;
    Ok(())
}

async fn handle(engine: &Arc<Engine>, sender: &Sender, store: &Store, message: jetstream::Message) {
    let task = match Task::from_message(message.headers.as_ref(), message.payload.clone()) {
        Ok(task) => task,
        Err(e) => {
            // A task that cannot be read can never be delivered: stop its redelivery.
            tracing::error!(subject = %message.subject, error = %e, "dropping an unreadable task");
            let _ = message.ack_with(AckKind::Term).await;
            return;
        }
    };
    // Handed out again (its acknowledgement was lost with an instance or a node): a
    // receiver does not get again what the index says it took with this attempt or a later
    // one (a replay or redelivery is numbered past the earlier attempts, so it still goes).
    // Best effort: an index that does not catch up within 15 s says no.
    if message.info().is_ok_and(|info| info.delivered > 1)
        && task.batch.is_none()
        && indexer::caught_up(engine, store).await
        && store
            .indexed_delivery(&task.tenant, &task.endpoint_id, &task.event_id)
            .await
            .is_some_and(|d| d.state == Outcome::Succeeded && d.attempts >= task.attempt)
    {
        engine.metrics.tasks_already_delivered.inc();
        let _ = message.ack().await;
        return;
    }
    let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) else {
        dropped(engine, &task);
        let _ = message.ack().await;
        return;
    };
    // An active endpoint in batch mode collects its single tasks; the batch acks them.
    if task.batch.is_none()
        && endpoint.endpoint.status == EndpointStatus::Active
        && let DeliveryMode::Batch(settings) = endpoint.endpoint.delivery
    {
        batch::collect(engine, sender, settings, task, message);
        return;
    }
    // Closed only at exit, when nothing is attempted any more.
    let Ok(_slot) = engine.attempt_slots.acquire().await else {
        return;
    };
    match settle(engine, sender, &task, &endpoint).await {
        Ok(()) => {
            if let Err(e) = message.ack().await {
                tracing::warn!(error = %e, "cannot ack a task; it may be attempted again");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot record an attempt; the task will be attempted again");
            let _ = message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
        }
    }
}

/// Longest a first attempt waits in fan-out for an attempt slot before it is queued.
const SLOT_WAIT: Duration = Duration::from_secs(1);

/// Makes `task`, a first attempt from fan-out, here when nothing at its endpoint stands in
/// its way: the endpoint active and neither batching nor rate-limited, a place free at its
/// gate ([`Gates::admit_at_once`]). This spares a delivery the task's publish, pull and ack.
/// Otherwise `task` is given back to be queued (`Ok(Some)`), where waiting costs nothing
/// and holds nothing else up.
///
/// When the endpoint can take it but every attempt slot of the instance is busy, fan-out
/// waits here for one up to [`SLOT_WAIT`]: in a flood slots free up all the time, so the
/// backlog stays in the events stream rather than being copied into the tasks stream;
/// when receivers are slow to answer, the wait ends and the delivery goes as a task, so
/// fan-out keeps moving. The gate is looked at before the wait and again after it.
///
/// [`Gates::admit_at_once`]: super::gates::Gates::admit_at_once
pub(crate) async fn attempt_at_once(
    engine: &Engine,
    sender: &Sender,
    task: Task,
) -> Result<Option<Task>, async_nats::Error> {
    let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) else {
        return Ok(Some(task));
    };
    if endpoint.endpoint.status != EndpointStatus::Active
        || matches!(endpoint.endpoint.delivery, DeliveryMode::Batch(_))
    {
        return Ok(Some(task));
    }
    if !engine.gates.could_admit_at_once(&endpoint.endpoint) {
        return Ok(Some(task));
    }
    // Closed only at exit: what has not started yet is queued.
    let Ok(Ok(_slot)) = tokio::time::timeout(SLOT_WAIT, engine.attempt_slots.acquire()).await
    else {
        return Ok(Some(task));
    };
    let payload = match payload(engine, &task, &endpoint, None).await {
        Ok(payload) => payload,
        Err(BodyError::Render(error)) => {
            template_failed(engine, &task, &endpoint, error).await?;
            return Ok(None);
        }
        Err(BodyError::Unavailable(_)) => return Ok(Some(task)),
    };
    if !engine.gates.admit_at_once(&endpoint.endpoint) {
        return Ok(Some(task));
    }
    let place = Place::taken(&engine.gates, &endpoint.endpoint);
    engine.metrics.attempts_direct.inc();
    engine.metrics.in_flight.inc();
    let attempted = attempt(
        engine,
        sender,
        &task,
        &endpoint,
        &payload,
        place,
        Route::Queue,
    )
    .await;
    engine.metrics.in_flight.dec();
    attempted.map(|_| None)
}

/// Settles `task`, a retry come due in its tier, here: through its endpoint's gates as a
/// worker would, where it goes before first attempts waiting for a place, instead of
/// behind every task queued in the tasks stream. A single task of a batching endpoint is
/// given back to be queued (`Ok(Some)`; a worker adds it to a batch).
pub(crate) async fn settle_due(
    engine: &Engine,
    sender: &Sender,
    task: Task,
) -> Result<Option<Task>, async_nats::Error> {
    let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) else {
        dropped(engine, &task);
        return Ok(None);
    };
    if task.batch.is_none()
        && endpoint.endpoint.status == EndpointStatus::Active
        && matches!(endpoint.endpoint.delivery, DeliveryMode::Batch(_))
    {
        return Ok(Some(task));
    }
    // Closed only at exit, when nothing is attempted any more.
    let Ok(_slot) = engine.attempt_slots.acquire().await else {
        return Ok(Some(task));
    };
    engine.metrics.in_flight.inc();
    let settled = settle(engine, sender, &task, &endpoint).await;
    engine.metrics.in_flight.dec();
    settled.map(|()| None)
}

/// A task whose endpoint was deleted: nothing to deliver it to.
fn dropped(engine: &Engine, task: &Task) {
    tracing::debug!(
        endpoint = task.endpoint_id,
        "endpoint deleted; dropping its task"
    );
    engine.metrics.tasks_dropped.inc();
}

/// [`settle`]s `task` with its endpoint as it is now; a task of a deleted endpoint is
/// dropped.
pub(super) async fn deliver(
    engine: &Engine,
    sender: &Sender,
    task: &Task,
) -> Result<(), async_nats::Error> {
    if let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) {
        settle(engine, sender, task, &endpoint).await
    } else {
        dropped(engine, task);
        Ok(())
    }
}

/// Settles `task` by its endpoint's state: attempted (through the gates), held, deferred
/// or dead-lettered (disabled, or its template failed). `Ok` once what must survive is
/// acknowledged by JetStream and the task may be acked.
async fn settle(
    engine: &Engine,
    sender: &Sender,
    task: &Task,
    endpoint: &LiveEndpoint,
) -> Result<(), async_nats::Error> {
    match &endpoint.endpoint.status {
        EndpointStatus::Paused | EndpointStatus::PendingVerification { .. } => {
            held::hold(engine, task).await
        }
        EndpointStatus::Disabled { reason, .. } => {
            let record = skipped_record(task, endpoint, reason);
            finish(engine, task, endpoint, record, Next::Dead).await
        }
        EndpointStatus::Active => {
            let members = match task.batch.map(|_| batch::members(task)).transpose() {
                Ok(members) => members,
                Err(error) => return unreadable_batch(engine, task, endpoint, &error).await,
            };
            match payload(engine, task, endpoint, members.as_deref()).await {
                Ok(payload) => admitted(engine, sender, task, endpoint, &payload).await,
                Err(BodyError::Render(error)) => {
                    template_failed(engine, task, endpoint, error).await
                }
                Err(BodyError::Unavailable(error)) => Err(error.into()),
            }
        }
    }
}

/// What an ordered lane does next with its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LaneStep {
    /// Delivered, dead-lettered or dropped: the next task of the lane may go.
    Settled,
    /// Not attempted (paused, waiting for verification, an open circuit, a limit): ask again
    /// after `delay`; `paced` when a rate-limit slot is now the head's own.
    Later { delay: Duration, paced: bool },
    /// Attempted and failed (`error` says why): the next attempt is due after `delay`.
    Retry {
        delay: Duration,
        error: Option<String>,
    },
}

/// How long a lane waits before asking again about an endpoint that does not deliver.
const LANE_POLL: Duration = Duration::from_secs(1);

/// One step of an ordered lane's head `task`: like [`settle`], but nothing is held or sent
/// through a retry tier; the lane waits and retries its head itself, so nothing behind it
/// moves meanwhile.
pub(crate) async fn step_in_lane(
    engine: &Engine,
    sender: &Sender,
    task: &Task,
    endpoint: &LiveEndpoint,
) -> Result<LaneStep, async_nats::Error> {
    let later = |delay| LaneStep::Later {
        delay,
        paced: false,
    };
    match &endpoint.endpoint.status {
        EndpointStatus::Paused | EndpointStatus::PendingVerification { .. } => Ok(later(LANE_POLL)),
        EndpointStatus::Disabled { reason, .. } => {
            let record = skipped_record(task, endpoint, reason);
            finish(engine, task, endpoint, record, Next::Dead).await?;
            Ok(LaneStep::Settled)
        }
        EndpointStatus::Active => {
            let members = match task.batch.map(|_| batch::members(task)).transpose() {
                Ok(members) => members,
                Err(error) => {
                    unreadable_batch(engine, task, endpoint, &error).await?;
                    return Ok(LaneStep::Settled);
                }
            };
            let payload = match payload(engine, task, endpoint, members.as_deref()).await {
                Ok(payload) => payload,
                Err(BodyError::Render(error)) => {
                    template_failed(engine, task, endpoint, error).await?;
                    return Ok(LaneStep::Settled);
                }
                Err(BodyError::Unavailable(error)) => return Err(error.into()),
            };
            let turn = Turn::of(task.attempt);
            match engine
                .gates
                .admit(&endpoint.endpoint, task.paced, turn, Instant::now())
            {
                Admission::Hold => Ok(later(LANE_POLL)),
                Admission::Defer { delay, paced } => Ok(LaneStep::Later { delay, paced }),
                Admission::Wait { freed } => {
                    let _waiting = Waiting::started(&engine.gates, &endpoint.endpoint, turn);
                    let _ = tokio::time::timeout(MAX_PLACE_WAIT, freed.notified()).await;
                    Ok(later(Duration::ZERO))
                }
                Admission::Go { wait } => {
                    let place = Place::taken(&engine.gates, &endpoint.endpoint);
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    Ok(
                        match attempt(engine, sender, task, endpoint, &payload, place, Route::Lane)
                            .await?
                        {
                            Some((delay, error)) => LaneStep::Retry { delay, error },
                            None => LaneStep::Settled,
                        },
                    )
                }
            }
        }
    }
}

/// A batch task whose events cannot be read goes to the dead letters without an attempt.
async fn unreadable_batch(
    engine: &Engine,
    task: &Task,
    endpoint: &LiveEndpoint,
    error: &serde_json::Error,
) -> Result<(), async_nats::Error> {
    tracing::error!(tenant = %task.tenant, endpoint = task.endpoint_id, error = %error, "unreadable batch task");
    let message = format!("the batch's events cannot be read: {error}");
    dead_without_attempt(engine, task, endpoint, ErrorKind::Request, message).await
}

/// What the endpoint is sent for the task's event (rendered before the gates admit it, so a
/// template failure takes no place from the receiver's limits).
async fn payload(
    engine: &Engine,
    task: &Task,
    endpoint: &LiveEndpoint,
    members: Option<&[batch::Member]>,
) -> Result<Payload, BodyError> {
    let timestamp = event_time(task);
    if members.is_none() && endpoint.endpoint.template.is_none() {
        return Ok(Payload::envelope(
            task.event_type.as_str(),
            timestamp,
            &task.data,
        ));
    }
    let view = EventView {
        // A batch's first event stands for it in `data`.
        data: members
            .and_then(<[batch::Member]>::first)
            .map_or(&task.data[..], |first| first.data.get().as_bytes()),
        event_type: task.event_type.as_str(),
        event_id: &task.event_id,
        timestamp,
        tenant: &task.tenant,
        correlation_id: task.correlation_id.as_deref(),
        attempt: task.attempt,
        endpoint: &endpoint.endpoint,
        batch: members,
    };
    templates::payload_for(engine, &view).await
}

/// When the task's event happened.
fn event_time(task: &Task) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(task.event_time_ms)
        .single()
        .unwrap_or_else(Utc::now)
}

/// A delivery whose template failed: nothing is sent and nothing retried (the same template
/// would fail the same way); it goes to dead letters with the error, to be requeued once the
/// template or the pin is fixed, and the failure is announced.
async fn template_failed(
    engine: &Engine,
    task: &Task,
    endpoint: &LiveEndpoint,
    error: RenderError,
) -> Result<(), async_nats::Error> {
    tracing::warn!(tenant = %task.tenant, endpoint = task.endpoint_id, error = %error, "template failed");
    engine.metrics.deliveries.template_failed.inc();
    let data = serde_json::json!({
        "endpoint_id": task.endpoint_id,
        "event_id": task.event_id,
        "event_type": task.event_type,
        "template": error.template,
        "error": error.message,
    });
    engine
        .publish_operational(&task.tenant, "endpoint.template_failed", &data)
        .await?;
    dead_without_attempt(
        engine,
        task,
        endpoint,
        ErrorKind::Template,
        error.to_string(),
    )
    .await
}

/// Records a delivery that cannot be attempted as dead, with why, and dead-letters it.
async fn dead_without_attempt(
    engine: &Engine,
    task: &Task,
    endpoint: &LiveEndpoint,
    kind: ErrorKind,
    message: String,
) -> Result<(), async_nats::Error> {
    let record = AttemptRecord {
        error: Some(ErrorRecord { kind, message }),
        outcome: Outcome::Dead,
        ..record_for(task, endpoint, Utc::now())
    };
    crate::audit::attempt(engine, &record).await;
    finish(engine, task, endpoint, record, Next::Dead).await
}

/// Passes the endpoint's gates (circuit, in-flight and rate limits), then attempts, holds
/// or defers.
async fn admitted(
    engine: &Engine,
    sender: &Sender,
    task: &Task,
    endpoint: &LiveEndpoint,
    payload: &Payload,
) -> Result<(), async_nats::Error> {
    let turn = Turn::of(task.attempt);
    loop {
        match engine
            .gates
            .admit(&endpoint.endpoint, task.paced, turn, Instant::now())
        {
            Admission::Hold => return held::hold(engine, task).await,
            Admission::Defer { delay, paced } => return defer(engine, task, delay, paced).await,
            Admission::Wait { freed } => {
                let _waiting = Waiting::started(&engine.gates, &endpoint.endpoint, turn);
                let _ = tokio::time::timeout(MAX_PLACE_WAIT, freed.notified()).await;
            }
            Admission::Go { wait } => {
                let place = Place::taken(&engine.gates, &endpoint.endpoint);
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                return attempt(engine, sender, task, endpoint, payload, place, Route::Queue)
                    .await
                    .map(|_| ());
            }
        }
    }
}

/// How long a worker waits for a free place before asking the gates again.
const MAX_PLACE_WAIT: Duration = Duration::from_secs(1);

/// What follows an attempt.
enum Next {
    Done,
    Retry(Duration),
    /// Retried by the caller after the delay: an ordered lane keeps its head.
    RetryInPlace(Duration),
    Dead,
}

/// Where a task came from, which decides how its retry travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// The tasks stream: a retry goes through a retry tier.
    Queue,
    /// An ordered lane: the lane retries its head itself, nothing after it moves meanwhile.
    Lane,
}

/// Makes one attempt and records it with what follows; `Ok(Some((delay, error)))` when
/// `route` is a lane and the attempt is to be retried after `delay`.
async fn attempt(
    engine: &Engine,
    sender: &Sender,
    task: &Task,
    endpoint: &LiveEndpoint,
    payload: &Payload,
    place: Place<'_>,
    route: Route,
) -> Result<Option<(Duration, Option<String>)>, async_nats::Error> {
    let started = Utc::now();
    let mut headers = request::signed_headers(
        endpoint,
        &task.event_id,
        task.correlation_id.as_deref(),
        started,
        payload,
    );
    // Each attempt is a span of the event's trace: its parent the event's span.
    let span = task
        .traceparent
        .as_deref()
        .and_then(TraceParent::parse)
        .map(|parent| parent.child(rand::rng().random()));
    if let Some(value) = span.and_then(|span| HeaderValue::try_from(span.to_string()).ok()) {
        headers.insert(TRACEPARENT, value);
    }
    let sent = sender
        .post(endpoint, headers, payload.body.clone())
        .instrument(tracing::debug_span!(
            "attempt",
            endpoint = %task.endpoint_id,
            event = %task.event_id,
            attempt = task.attempt,
            trace_id = span.map(|s| s.trace_id()),
            span_id = span.map(|s| s.span_id()),
        ))
        .await;
    let verdict = verdict(&sent, started);
    let change = place.finish(
        load(&sent),
        verdict == Verdict::Delivered,
        Instant::now(),
        Utc::now(),
    );
    engine
        .metrics
        .attempt_latency
        .observe(sent.latency.as_secs_f64());

    let next = match verdict {
        Verdict::Delivered => Next::Done,
        Verdict::Disable => Next::Dead,
        Verdict::Retry { retry_after, .. } => {
            let unit = rand::rng().random_range(-1.0..=1.0);
            match next_delay(
                &endpoint.schedule,
                task.schedule_position(),
                retry_after,
                engine.max_retry_after,
                unit,
            ) {
                Some(delay) if route == Route::Lane => Next::RetryInPlace(delay),
                Some(delay) => Next::Retry(delay),
                None => Next::Dead,
            }
        }
    };
    let error = error_record(&sent, verdict);
    let in_place = match next {
        Next::RetryInPlace(delay) => Some((delay, error.as_ref().map(|e| e.message.clone()))),
        _ => None,
    };
    let record = AttemptRecord {
        latency_ms: sent.latency.as_secs_f64() * 1000.0,
        request_headers: engine
            .recording
            .request_headers(&sent.request_headers, &endpoint.endpoint),
        response: engine.recording.response(sent.response, &endpoint.endpoint),
        error,
        ..record_for(task, endpoint, started)
    };
    crate::audit::attempt(engine, &record).await;
    if verdict == Verdict::Disable {
        disable(engine, task, "the receiver answered 410 Gone").await?;
    } else {
        apply_circuit(engine, task, &endpoint.endpoint, change).await?;
    }
    finish(engine, task, endpoint, record, next).await?;
    Ok(in_place)
}

/// What an attempt says about the receiver's load, for the adaptive in-flight limit.
fn load(sent: &Sent) -> Load {
    match &sent.response {
        Some(response) if matches!(response.status, 429 | 503) => Load::Overloaded,
        Some(_) => Load::Answered {
            latency: sent.latency,
        },
        None => Load::Unknown,
    }
}

/// Sends `task` back through a retry tier to be tried after `delay`, as the same attempt.
async fn defer(
    engine: &Engine,
    task: &Task,
    delay: Duration,
    paced: bool,
) -> Result<(), async_nats::Error> {
    let due_ms = Utc::now().timestamp_millis() + i64::try_from(delay.as_millis()).unwrap_or(0);
    let later = Task {
        due_ms: Some(due_ms),
        paced,
        ..task.clone()
    };
    let tier = engine.tiers[tier_for(&engine.tiers, delay)];
    engine
        .js
        .publish_with_headers(
            engine.topology.subjects.retry_tier(tier.as_secs()),
            later.headers(),
            later.data.clone(),
        )
        .await?
        .await?;
    engine.metrics.deliveries.deferred.inc();
    Ok(())
}

/// Stores and announces what an attempt did to the endpoint's circuit.
async fn apply_circuit(
    engine: &Engine,
    task: &Task,
    before: &Endpoint,
    change: Change,
) -> Result<(), async_nats::Error> {
    let next = match change {
        Change::Keep => return Ok(()),
        Change::Disable(reason) => return disable(engine, task, &reason).await,
        Change::Open(circuit) => Some(circuit),
        Change::Close => None,
    };
    let stored = next.clone();
    let written = engine
        .registry
        .modify(&engine.bucket, &task.tenant, &task.endpoint_id, |e| {
            // Only an active endpoint has a circuit; a pause or disable meanwhile wins.
            if e.endpoint.status == EndpointStatus::Active {
                e.endpoint.circuit.clone_from(&stored);
            }
            Ok(())
        })
        .await;
    match written {
        // This instance holds (or releases) by its own view of the bucket: let the change
        // reach it before the next delivery is admitted and before it is announced.
        Ok(revision) => {
            engine
                .registry
                .wait_for(revision, Duration::from_secs(5))
                .await;
        }
        Err(registry::WriteError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    if let Some(circuit) = next {
        schedule_probe(engine, circuit.probe_at);
        if circuit.disable_near && !before.circuit.as_ref().is_some_and(|c| c.disable_near) {
            tracing::warn!(tenant = %task.tenant, endpoint = task.endpoint_id, "endpoint near being disabled");
            let disables_at = circuit.failing_since
                + chrono::TimeDelta::seconds(engine.gates.breaker().auto_disable_after_secs);
            let data = serde_json::json!({
                "endpoint_id": task.endpoint_id,
                "failing_since": circuit.failing_since,
                "disabled_from": disables_at,
                "reason": circuit.reason,
            });
            engine
                .publish_operational(&task.tenant, "endpoint.disable_near", &data)
                .await?;
        }
        if before.circuit.is_none() {
            tracing::warn!(tenant = %task.tenant, endpoint = task.endpoint_id, reason = circuit.reason, "circuit opened");
            let data = serde_json::json!({
                "endpoint_id": task.endpoint_id,
                "reason": circuit.reason,
                "failing_since": circuit.failing_since,
                "probe_at": circuit.probe_at,
            });
            engine
                .publish_operational(&task.tenant, "endpoint.circuit_opened", &data)
                .await?;
        }
    } else {
        tracing::info!(tenant = %task.tenant, endpoint = task.endpoint_id, "circuit closed");
        engine.release_held.notify_one();
        let data = serde_json::json!({
            "endpoint_id": task.endpoint_id,
            "opened_at": before.circuit.as_ref().map(|c| c.opened_at),
        });
        engine
            .publish_operational(&task.tenant, "endpoint.circuit_closed", &data)
            .await?;
    }
    Ok(())
}

/// Wakes the releaser of held deliveries when the probe is due.
fn schedule_probe(engine: &Engine, at: DateTime<Utc>) {
    let wait = (at - Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(50);
    let wake = Arc::clone(&engine.release_held);
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        wake.notify_one();
    });
}

/// Publishes the attempt record and what follows it, all acknowledged before returning.
async fn finish(
    engine: &Engine,
    task: &Task,
    endpoint: &LiveEndpoint,
    mut record: AttemptRecord,
    next: Next,
) -> Result<(), async_nats::Error> {
    let subjects = &engine.topology.subjects;
    let now_ms = Utc::now().timestamp_millis();
    let mut outgoing = Vec::with_capacity(1);
    match next {
        Next::Done => {
            record.outcome = Outcome::Succeeded;
            engine.metrics.deliveries.succeeded.inc();
        }
        Next::RetryInPlace(delay) => {
            let due_ms = now_ms + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
            record.outcome = Outcome::Retrying;
            record.next_attempt_at = Utc.timestamp_millis_opt(due_ms).single();
            engine.metrics.deliveries.retrying.inc();
        }
        Next::Retry(delay) => {
            let due_ms = now_ms + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
            record.outcome = Outcome::Retrying;
            record.next_attempt_at = Utc.timestamp_millis_opt(due_ms).single();
            let retry = Task {
                attempt: task.attempt + 1,
                due_ms: Some(due_ms),
                paced: false,
                ..task.clone()
            };
            let tier = engine.tiers[tier_for(&engine.tiers, delay)];
            outgoing.push(Outgoing {
                subject: subjects.retry_tier(tier.as_secs()),
                headers: Some(retry.headers()),
                payload: retry.data.clone(),
            });
            engine.metrics.deliveries.retrying.inc();
        }
        Next::Dead => {
            record.outcome = Outcome::Dead;
            let last_error = record
                .error
                .as_ref()
                .map_or_else(String::new, |e| e.message.clone());
            outgoing.push(Outgoing {
                subject: subjects.dead(&task.tenant, &task.endpoint_id),
                headers: Some(task.dead_letter_headers(&last_error)),
                payload: task.data.clone(),
            });
            engine.metrics.deliveries.dead.inc();
        }
    }
    if let Some(slo) = endpoint.endpoint.slo {
        record.slo_met = slo.judge(record.outcome, now_ms - task.event_time_ms);
    }
    let stored = engine.records.store(
        subjects.live(&task.tenant, &task.endpoint_id)?,
        serde_json::to_vec(&record)?,
    );
    let (stored, published) = tokio::join!(stored, publish_durably(engine, &outgoing));
    stored?;
    published?;
    if record.outcome == Outcome::Dead && !task.event_type.is_operational() {
        let data = serde_json::json!({
            "endpoint_id": task.endpoint_id,
            "event_id": task.event_id,
            "event_type": task.event_type,
            "attempts": record.attempt,
            "last_error": record.error,
            "url": endpoint.endpoint.url,
        });
        engine
            .publish_operational(&task.tenant, "delivery.dead", &data)
            .await?;
    }
    Ok(())
}

/// Marks the endpoint disabled in the bucket and reports it.
async fn disable(engine: &Engine, task: &Task, reason: &str) -> Result<(), async_nats::Error> {
    let since = Utc::now();
    let changed = engine
        .registry
        .modify(&engine.bucket, &task.tenant, &task.endpoint_id, |stored| {
            stored.endpoint.status = EndpointStatus::Disabled {
                reason: reason.to_owned(),
                since,
            };
            stored.endpoint.circuit = None;
            stored.endpoint.updated_at = since;
            Ok(())
        })
        .await;
    match changed {
        Ok(revision) => {
            // Announced once this instance shows it (a reader of the event may ask at once).
            engine
                .registry
                .wait_for(revision, Duration::from_secs(5))
                .await;
            tracing::warn!(tenant = %task.tenant, endpoint = task.endpoint_id, reason, "endpoint disabled");
            crate::audit::security_event(
                engine,
                &task.tenant,
                "endpoint.disabled",
                &task.endpoint_id,
                reason.to_owned(),
            )
            .await;
            let data = serde_json::json!({"endpoint_id": task.endpoint_id, "reason": reason});
            engine
                .publish_operational(&task.tenant, "endpoint.disabled", &data)
                .await?;
        }
        // Deleted meanwhile: nothing left to disable.
        Err(registry::WriteError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// An attempt record with the task's facts filled in and no result yet.
fn record_for(task: &Task, endpoint: &LiveEndpoint, at: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        tenant: task.tenant.clone(),
        endpoint_id: task.endpoint_id.clone(),
        event_id: task.event_id.clone(),
        event_seq: task.event_seq,
        event_type: task.event_type.to_string(),
        attempt: task.attempt,
        at,
        latency_ms: 0.0,
        url: endpoint.endpoint.url.clone(),
        request_headers: std::collections::BTreeMap::new(),
        response: None,
        error: None,
        outcome: Outcome::Succeeded,
        next_attempt_at: None,
        correlation_id: task.correlation_id.clone(),
        test: false,
        batch: task
            .batch
            .and_then(|_| batch::members(task).ok())
            .map(|members| batch::listed(&members)),
        slo_met: None,
    }
}

/// The record of a task not attempted because its endpoint is disabled.
fn skipped_record(task: &Task, endpoint: &LiveEndpoint, reason: &str) -> AttemptRecord {
    AttemptRecord {
        error: Some(ErrorRecord {
            kind: ErrorKind::EndpointDisabled,
            message: format!("endpoint disabled: {reason}"),
        }),
        outcome: Outcome::Dead,
        ..record_for(task, endpoint, Utc::now())
    }
}
