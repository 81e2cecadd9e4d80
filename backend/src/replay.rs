//! Replay: every event of a time window delivered again to one endpoint, as a job.
//!
//! A job is a record in the configuration bucket (`replays.<tenant>.<job-id>`) that any
//! instance can read; the instance that starts it reads the events stream from the
//! window's start up to the stream's end at that moment (or the window's end), queues one
//! task per event the endpoint takes, and writes its progress after every batch with
//! compare-and-set. Starting an id again returns the job instead of replaying twice; a
//! running job whose progress stopped for [`STALE_AFTER`] (its instance died) is resumed
//! from its last recorded position.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv};
use chrono::{DateTime, TimeZone as _, Utc};
use futures_util::{StreamExt as _, TryStreamExt as _};
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::endpoint::EndpointStatus;
use hookwire_protocol::filter::any_matches;
use hookwire_protocol::headers::{CORRELATION_ID, NATS_MSG_ID};
use hookwire_protocol::replay::{ReplayJob, ReplayPreview, ReplayState, StartReplay};

use crate::engine::Engine;
use crate::fanout;
use crate::ids;
use crate::registry::LiveEndpoint;
use crate::store::Store;
use crate::task::Task;

/// A running job whose progress is older than this is taken to be orphaned.
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// Events read per batch; progress is recorded after each.
const BATCH: usize = 256;

fn job_key(tenant: &Tenant, id: &str) -> String {
    format!("replays.{tenant}.{id}")
}

/// `replay.start`: starts (or returns, or resumes) the job.
pub(crate) async fn start(
    engine: &Arc<Engine>,
    store: &Store,
    tenant: &Tenant,
    request: &StartReplay,
) -> Result<ReplayJob, AdminError> {
    let now = Utc::now();
    let (id, until, event_types) = request.validate(ids::random("rpl_"), now)?;
    replayable_endpoint(engine, tenant, &request.endpoint_id)?;
    let key = job_key(tenant, &id);
    if let Some((job, revision)) = read(engine, &key).await? {
        return existing(engine, store, tenant, request, job, revision, now).await;
    }

    let (_, state) = events_stream(engine).await?;
    let job = ReplayJob {
        id,
        endpoint_id: request.endpoint_id.clone(),
        since: request.since,
        until,
        event_types,
        state: ReplayState::Running,
        scanned: 0,
        queued: 0,
        next_seq: 0,
        last_seq: state.last_sequence,
        truncated_to: truncated_to(&state, request.since),
        error: None,
        created_at: now,
        updated_at: now,
    };
    let value =
        serde_json::to_vec(&job).map_err(|e| AdminError::internal("encoding the job", e))?;
    match engine.bucket.create(key.as_str(), value.into()).await {
        Ok(revision) => {
            spawn(engine, store, tenant, job.clone(), revision);
            Ok(job)
        }
        // Started concurrently under the same id: that one is the job.
        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => read(engine, &key)
            .await?
            .map(|(job, _)| job)
            .ok_or_else(|| AdminError::conflict("the job changed concurrently; retry")),
        Err(e) => Err(AdminError::unavailable("writing the job", e)),
    }
}

/// The events stream and its state now (its end bounds a replay).
async fn events_stream(
    engine: &Engine,
) -> Result<(jetstream::stream::Stream, jetstream::stream::State), AdminError> {
    let unavailable =
        |e: &dyn std::fmt::Display| AdminError::unavailable("reading the events stream", e);
    let mut stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(|e| unavailable(&e))?;
    let state = stream
        .info()
        .await
        .map_err(|e| unavailable(&e))?
        .state
        .clone();
    Ok((stream, state))
}

/// Where the stream starts, when its retention already dropped the window's start.
fn truncated_to(state: &jetstream::stream::State, since: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let oldest_kept = Utc
        .timestamp_nanos(i64::try_from(state.first_timestamp.unix_timestamp_nanos()).unwrap_or(0));
    (state.messages > 0 && oldest_kept > since).then_some(oldest_kept)
}

/// The endpoint a replay goes to: it exists and is not disabled.
fn replayable_endpoint(
    engine: &Engine,
    tenant: &Tenant,
    id: &str,
) -> Result<Arc<LiveEndpoint>, AdminError> {
    let endpoint = engine
        .registry
        .get(tenant, id)
        .ok_or_else(|| crate::admin::endpoint_not_found(id))?;
    if matches!(endpoint.endpoint.status, EndpointStatus::Disabled { .. }) {
        return Err(AdminError::conflict(format!(
            "endpoint {id} is disabled; enable it before replaying to it"
        )));
    }
    Ok(endpoint)
}

/// How long a preview counts before answering with a lower bound.
pub(crate) const PREVIEW_BUDGET: Duration = Duration::from_secs(5);

/// `replay.preview`: counts what `replay.start` would queue for the same request, reading
/// only the events' subjects, so an operator can confirm a replay knowing its size.
pub(crate) async fn preview(
    engine: &Engine,
    tenant: &Tenant,
    request: &StartReplay,
) -> Result<ReplayPreview, AdminError> {
    let now = Utc::now();
    let (_, until, event_types) = request.validate(String::new(), now)?;
    let endpoint = replayable_endpoint(engine, tenant, &request.endpoint_id)?;
    let unavailable =
        |e: &dyn std::fmt::Display| AdminError::unavailable("reading the events stream", e);
    let (stream, state) = events_stream(engine).await?;
    let mut preview = ReplayPreview {
        events: 0,
        scanned: 0,
        complete: true,
        until,
        truncated_to: truncated_to(&state, request.since),
    };
    if state.messages == 0 {
        return Ok(preview);
    }
    let since_ns = request.since.timestamp_nanos_opt().unwrap_or(0);
    let reader = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: engine.topology.subjects.tenant_events(tenant),
            deliver_policy: consumer::DeliverPolicy::ByStartTime {
                start_time: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ns))
                    .map_err(|e| AdminError::invalid("since", e.to_string()))?,
            },
            ack_policy: consumer::AckPolicy::None,
            headers_only: true,
            inactive_threshold: Duration::from_mins(1),
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(&e))?;
    let until_ns = i128::from(until.timestamp_nanos_opt().unwrap_or(i64::MAX));
    let deadline = tokio::time::Instant::now() + PREVIEW_BUDGET;
    'reading: loop {
        if tokio::time::Instant::now() >= deadline {
            preview.complete = false;
            break;
        }
        let mut fetched = reader
            .fetch()
            .max_messages(4 * BATCH)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(|e| unavailable(&e))?;
        let mut fetched_now = 0;
        while let Some(message) = fetched.next().await {
            let message = message.map_err(|e| unavailable(&e))?;
            fetched_now += 1;
            let info = message.info().map_err(|e| unavailable(&e))?;
            if info.stream_sequence > state.last_sequence
                || info.published.unix_timestamp_nanos() >= until_ns
            {
                break 'reading;
            }
            preview.scanned += 1;
            if let Ok((_, event_type)) = engine.topology.subjects.parse_event(&message.subject)
                && endpoint.wants(&event_type)
                && any_matches(&event_types, &event_type)
            {
                preview.events += 1;
            }
        }
        if fetched_now == 0 {
            let mut reader = reader.clone();
            if reader
                .info()
                .await
                .map_err(|e| unavailable(&e))?
                .num_pending
                == 0
            {
                break;
            }
        }
    }
    let _ = stream.delete_consumer(&reader.cached_info().name).await;
    Ok(preview)
}

/// A start for an id that exists: the same job (resumed if orphaned), or a conflict when
/// the id names a different replay.
async fn existing(
    engine: &Arc<Engine>,
    store: &Store,
    tenant: &Tenant,
    request: &StartReplay,
    job: ReplayJob,
    revision: u64,
    now: DateTime<Utc>,
) -> Result<ReplayJob, AdminError> {
    if job.endpoint_id != request.endpoint_id || job.since != request.since {
        return Err(AdminError::conflict(format!(
            "job {} is a replay of another endpoint or window; choose another job id",
            job.id
        )));
    }
    if job.state != ReplayState::Running || now - job.updated_at < STALE_AFTER {
        return Ok(job);
    }
    let resumed = ReplayJob {
        updated_at: now,
        ..job
    };
    match save(engine, tenant, &resumed, revision).await {
        Ok(revision) => {
            tracing::info!(%tenant, job = resumed.id, next_seq = resumed.next_seq, "resuming an orphaned replay job");
            spawn(engine, store, tenant, resumed.clone(), revision);
            Ok(resumed)
        }
        // Another instance resumed it first.
        Err(_) => read(engine, &job_key(tenant, &resumed.id))
            .await?
            .map(|(job, _)| job)
            .ok_or_else(|| AdminError::not_found("the job was deleted meanwhile")),
    }
}

/// `replay.get`.
pub(crate) async fn get(
    engine: &Engine,
    tenant: &Tenant,
    id: &str,
) -> Result<ReplayJob, AdminError> {
    hookwire_protocol::replay::validate_job_id(id)?;
    read(engine, &job_key(tenant, id))
        .await?
        .map(|(job, _)| job)
        .ok_or_else(|| {
            AdminError::not_found(format!(
                "no replay job {id} in this tenant; `replay.list` shows its jobs"
            ))
        })
}

/// `replay.list`: the tenant's jobs, newest first (at most `limit`).
pub(crate) async fn list(
    engine: &Engine,
    tenant: &Tenant,
    limit: usize,
) -> Result<Vec<ReplayJob>, AdminError> {
    let prefix = job_key(tenant, "");
    let keys: Vec<String> = match engine.bucket.keys().await {
        Ok(keys) => keys
            .try_filter(|k| std::future::ready(k.starts_with(&prefix)))
            .try_collect()
            .await
            .map_err(|e| AdminError::unavailable("listing replay jobs", e))?,
        Err(e) => return Err(AdminError::unavailable("listing replay jobs", e)),
    };
    let mut jobs = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some((job, _)) = read(engine, &key).await? {
            jobs.push(job);
        }
    }
    jobs.sort_by_key(|job| std::cmp::Reverse(job.created_at));
    jobs.truncate(limit);
    Ok(jobs)
}

async fn read(engine: &Engine, key: &str) -> Result<Option<(ReplayJob, u64)>, AdminError> {
    let entry = engine
        .bucket
        .entry(key)
        .await
        .map_err(|e| AdminError::unavailable("reading the job", e))?;
    match entry {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let job = serde_json::from_slice(&entry.value)
                .map_err(|e| AdminError::internal(&format!("reading job {key}"), e))?;
            Ok(Some((job, entry.revision)))
        }
        _ => Ok(None),
    }
}

/// Writes `job` if it is still at `revision`; returns the new revision.
async fn save(
    engine: &Engine,
    tenant: &Tenant,
    job: &ReplayJob,
    revision: u64,
) -> Result<u64, async_nats::Error> {
    let value = serde_json::to_vec(job)?;
    Ok(engine
        .bucket
        .update(job_key(tenant, &job.id), value.into(), revision)
        .await?)
}

fn spawn(engine: &Arc<Engine>, store: &Store, tenant: &Tenant, job: ReplayJob, revision: u64) {
    let (engine, store, tenant) = (Arc::clone(engine), store.clone(), tenant.clone());
    tokio::spawn(async move { run(&engine, &store, &tenant, job, revision).await });
}

async fn run(engine: &Engine, store: &Store, tenant: &Tenant, mut job: ReplayJob, revision: u64) {
    let mut revision = revision;
    let outcome = scan(engine, store, tenant, &mut job, &mut revision).await;
    match outcome {
        Ok(()) => job.state = ReplayState::Completed,
        Err(Interrupted::TakenOver) => {
            tracing::info!(%tenant, job = job.id, "replay job continued elsewhere");
            return;
        }
        Err(Interrupted::Failed(e)) => {
            tracing::warn!(%tenant, job = job.id, error = %e, "replay job failed");
            job.state = ReplayState::Failed;
            job.error = Some(e);
        }
    }
    job.updated_at = Utc::now();
    if let Err(e) = save(engine, tenant, &job, revision).await {
        tracing::warn!(%tenant, job = job.id, error = %e, "cannot record the end of a replay job");
    }
}

enum Interrupted {
    /// Another instance wrote the job: it owns it now.
    TakenOver,
    /// The job cannot go on.
    Failed(String),
}

impl<E: std::fmt::Display> From<E> for Interrupted {
    fn from(e: E) -> Self {
        Self::Failed(e.to_string())
    }
}

/// Reads the window batch by batch, queueing and recording progress after each batch.
async fn scan(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    job: &mut ReplayJob,
    revision: &mut u64,
) -> Result<(), Interrupted> {
    if job.last_seq == 0 || (job.next_seq > job.last_seq) {
        return Ok(());
    }
    let deliver_policy = if job.next_seq == 0 {
        let since_ns = job.since.timestamp_nanos_opt().unwrap_or(0);
        consumer::DeliverPolicy::ByStartTime {
            start_time: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ns))?,
        }
    } else {
        consumer::DeliverPolicy::ByStartSequence {
            start_sequence: job.next_seq,
        }
    };
    let stream = engine.js.get_stream(&engine.topology.events).await?;
    let reader = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: engine.topology.subjects.tenant_events(tenant),
            deliver_policy,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_mins(1),
            ..Default::default()
        })
        .await?;
    let until_ns = i128::from(job.until.timestamp_nanos_opt().unwrap_or(i64::MAX));
    let mut done = false;
    while !done {
        let mut fetched = reader
            .fetch()
            .max_messages(BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await?;
        let mut tasks = Vec::new();
        let mut fetched_now = 0;
        while let Some(message) = fetched.next().await {
            let message = message?;
            fetched_now += 1;
            let info = message.info()?;
            let (seq, published_ns) = (info.stream_sequence, info.published.unix_timestamp_nanos());
            if seq > job.last_seq || published_ns >= until_ns {
                done = true;
                break;
            }
            job.scanned += 1;
            job.next_seq = seq + 1;
            if let Some(task) = task_for(engine, tenant, job, &message, seq, published_ns)? {
                tasks.push(task);
            }
        }
        if fetched_now == 0 {
            // Nothing arrived in the wait: done once nothing is left to read.
            let mut reader = reader.clone();
            done = reader.info().await?.num_pending == 0;
        }
        job.queued += enqueue(engine, store, job, tasks).await?;
        job.updated_at = Utc::now();
        *revision = save(engine, tenant, job, *revision)
            .await
            .map_err(|_| Interrupted::TakenOver)?;
    }
    let _ = stream.delete_consumer(&reader.cached_info().name).await;
    Ok(())
}

/// The task replaying `message`, if the endpoint and the job's filters take its type.
fn task_for(
    engine: &Engine,
    tenant: &Tenant,
    job: &ReplayJob,
    message: &jetstream::Message,
    seq: u64,
    published_ns: i128,
) -> Result<Option<Task>, Interrupted> {
    let endpoint = engine
        .registry
        .get(tenant, &job.endpoint_id)
        .ok_or_else(|| Interrupted::Failed(format!("endpoint {} was deleted", job.endpoint_id)))?;
    let Ok((_, event_type)) = engine.topology.subjects.parse_event(&message.subject) else {
        return Ok(None);
    };
    if !endpoint.wants(&event_type) || !any_matches(&job.event_types, &event_type) {
        return Ok(None);
    }
    // As fan-out does: an endpoint with a content filter takes only the events it passes.
    if let Some(filter) = &endpoint.endpoint.filter {
        let data = serde_json::from_slice(&message.payload).unwrap_or(serde_json::Value::Null);
        if !filter.matches(&data) {
            return Ok(None);
        }
    }
    let header = |name| fanout::header(message.headers.as_ref(), name);
    // An event fan-out rejected (bad id) was never delivered; a replay does not either.
    let Ok(event_id) = fanout::event_id(header(NATS_MSG_ID), published_ns, seq) else {
        return Ok(None);
    };
    Ok(Some(Task {
        tenant: tenant.clone(),
        endpoint_id: job.endpoint_id.clone(),
        event_id,
        event_seq: seq,
        event_type,
        event_time_ms: i64::try_from(published_ns / 1_000_000).unwrap_or(0),
        // Numbered after the delivery's earlier attempts by `enqueue`.
        attempt: 1,
        series_start: 1,
        correlation_id: header(CORRELATION_ID),
        traceparent: fanout::traceparent(message.headers.as_ref()),
        // Due at once; fixed per job, so a resumed job's re-sent task has the same
        // Nats-Msg-Id and JetStream drops the duplicate.
        due_ms: Some(job.created_at.timestamp_millis()),
        paced: false,
        batch: None,
        // An ordered endpoint's replayed event joins the end of its key's lane.
        order_key: fanout::order_key(
            &endpoint.endpoint,
            message.headers.as_ref(),
            &message.payload,
        ),
        data: message.payload.clone(),
    }))
}

/// Numbers each task after its delivery's earlier attempts (so a replay adds attempts to
/// the delivery's history) and queues them all; returns how many.
async fn enqueue(
    engine: &Engine,
    store: &Store,
    job: &ReplayJob,
    mut tasks: Vec<Task>,
) -> Result<u64, Interrupted> {
    if tasks.is_empty() {
        return Ok(0);
    }
    let reader = store.clone();
    let keys: Vec<(Tenant, String)> = tasks
        .iter()
        .map(|t| (t.tenant.clone(), t.event_id.clone()))
        .collect();
    let endpoint_id = job.endpoint_id.clone();
    let earlier: Vec<u32> = tokio::task::spawn_blocking(move || {
        keys.iter()
            .map(|(tenant, event)| {
                reader
                    .delivery(tenant, &endpoint_id, event)
                    .map(|d| d.map_or(0, |d| d.attempts))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await??;
    for (task, earlier) in tasks.iter_mut().zip(earlier) {
        task.attempt = earlier + 1;
        task.series_start = earlier + 1;
    }
    let queued = fanout::publish_tasks(engine, tasks).await?;
    Ok(u64::try_from(queued).unwrap_or(u64::MAX))
}
