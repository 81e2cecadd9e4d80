//! Held deliveries: the tasks of an endpoint that is paused, waiting for verification or
//! behind an open circuit wait on `<prefix>.held.<tenant>.<endpoint-id>`, spending no
//! attempt and costing no polling, and go back to the tasks stream once the endpoint
//! delivers again. When an open circuit's cooldown is over, one of them goes as its probe.
//!
//! Any instance may release: the releaser runs when this instance activates an endpoint
//! and every few seconds (for changes made elsewhere). A released task is enqueued before
//! its held copy is deleted, so a crash in between repeats the enqueue (de-duplicated by
//! its `Nats-Msg-Id`) and never loses it.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::{StreamExt as _, TryStreamExt as _};
use tokio::sync::Notify;

use chrono::Utc;
use hookwire_protocol::Tenant;
use hookwire_protocol::endpoint::EndpointStatus;

use crate::delivery::circuit;
use crate::engine::Engine;
use crate::task::Task;

/// How often held subjects are looked at without being woken.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Held tasks moved per fetch.
const BATCH: usize = 256;

/// Holds `task` until its endpoint delivers again.
pub(crate) async fn hold(engine: &Engine, task: &Task) -> Result<(), async_nats::Error> {
    let subject = engine
        .topology
        .subjects
        .held(&task.tenant, &task.endpoint_id);
    engine
        .js
        .publish_with_headers(subject, task.headers(), task.data.clone())
        .await?
        .await?;
    Ok(())
}

/// Releases held tasks of endpoints that deliver again, whenever `wake` is notified and
/// every few seconds, forever.
pub(crate) async fn run(engine: Arc<Engine>, wake: Arc<Notify>) {
    loop {
        if let Err(e) = sweep(&engine).await {
            tracing::warn!(error = %e, "cannot release held deliveries yet; retrying");
        }
        let _ = tokio::time::timeout(SWEEP_EVERY, wake.notified()).await;
    }
}

/// Looks at every subject that holds tasks: releases those of delivering endpoints and
/// drops those of deleted ones.
async fn sweep(engine: &Engine) -> Result<(), async_nats::Error> {
    let stream = engine.js.get_stream(&engine.topology.held).await?;
    let subjects: Vec<(String, usize)> = stream
        .info_with_subjects(engine.topology.subjects.all_of("held"))
        .await?
        .try_collect()
        .await?;
    for (subject, _) in subjects {
        let Ok((tenant, endpoint_id)) = engine.topology.subjects.parse_held(&subject) else {
            tracing::warn!(subject, "purging held tasks under an unexpected subject");
            stream.purge().filter(&subject).await?;
            continue;
        };
        match engine.registry.get(&tenant, &endpoint_id) {
            None => {
                tracing::debug!(%tenant, endpoint_id, "endpoint deleted; dropping its held tasks");
                stream.purge().filter(&subject).await?;
            }
            Some(endpoint) => match endpoint.endpoint.circuit.as_ref() {
                Some(circuit)
                    if endpoint.endpoint.status == EndpointStatus::Active
                        && circuit::probe_due(circuit, Utc::now()) =>
                {
                    probe(engine, &stream, &subject, &tenant, &endpoint_id).await?;
                }
                _ if endpoint.endpoint.holds_deliveries() => {}
                _ => {
                    release(engine, &stream, &subject, usize::MAX).await?;
                }
            },
        }
    }
    Ok(())
}

/// Half-opens an endpoint's circuit and lets one held task through as its probe. The
/// circuit is stored first (and seen by this instance's registry) so the probe is admitted.
async fn probe(
    engine: &Engine,
    stream: &jetstream::stream::Stream,
    subject: &str,
    tenant: &Tenant,
    endpoint_id: &str,
) -> Result<(), async_nats::Error> {
    let settings = *engine.gates.breaker();
    let now = Utc::now();
    let revision = engine
        .registry
        .modify(&engine.bucket, tenant, endpoint_id, |stored| {
            if let Some(circuit) = stored.endpoint.circuit.as_mut()
                && circuit::probe_due(circuit, now)
            {
                *circuit = circuit::half_open(circuit, &settings, now);
            }
            Ok(())
        })
        .await?;
    engine
        .registry
        .wait_for(revision, Duration::from_secs(5))
        .await;
    if release(engine, stream, subject, 1).await? > 0 {
        tracing::info!(%tenant, endpoint_id, "circuit half open: one probe released");
    }
    Ok(())
}

/// Moves up to `limit` tasks held under `subject` back to the tasks stream, due now;
/// returns how many.
async fn release(
    engine: &Engine,
    stream: &jetstream::stream::Stream,
    subject: &str,
    limit: usize,
) -> Result<usize, async_nats::Error> {
    let reader = stream
        .create_consumer(consumer::pull::Config {
            filter_subject: subject.to_owned(),
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_mins(1),
            ..Default::default()
        })
        .await?;
    let mut released = 0_usize;
    while released < limit {
        let mut batch = reader
            .fetch()
            .max_messages(BATCH.min(limit - released))
            .expires(Duration::from_millis(250))
            .messages()
            .await?;
        let mut fetched = 0;
        while let Some(message) = batch.next().await {
            let message = message?;
            fetched += 1;
            let info = message.info()?;
            let (seq, held_ms) = (
                info.stream_sequence,
                i64::try_from(info.published.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
            );
            match Task::from_message(message.headers.as_ref(), message.payload.clone()) {
                Ok(task) => {
                    // Due at the time it was held: already due, and a Nats-Msg-Id of its own
                    // (not the original publish's) that is the same for every instance
                    // releasing this held copy, so concurrent releases enqueue it once.
                    let task = Task {
                        due_ms: Some(held_ms),
                        paced: false,
                        ..task
                    };
                    engine.enqueue(&task).await?;
                    released += 1;
                }
                Err(e) => tracing::error!(subject, error = %e, "dropping an unreadable held task"),
            }
            stream.delete_message(seq).await?;
        }
        if fetched == 0 {
            break;
        }
    }
    let name = reader.cached_info().name.clone();
    let _ = stream.delete_consumer(&name).await;
    if released > 0 {
        tracing::info!(subject, released, "released held deliveries");
    }
    Ok(released)
}
