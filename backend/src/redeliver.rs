//! Redelivery on request: one delivery sent again now, with a fresh retry schedule (a
//! batched event: its whole batch, as a unit). Events are read back from the events stream
//! by sequence (bodies are never copied into redb), so redelivery works for as long as the
//! stream keeps them.

use async_nats::jetstream::stream::DirectGetErrorKind;
use chrono::Utc;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::{EventType, Tenant};

use crate::delivery::batch;
use crate::engine::Engine;
use crate::fanout;
use crate::store::Store;
use crate::task::Task;

/// Queues `event_id` for `endpoint_id` again; returns the number of the new attempt.
pub(crate) async fn redeliver(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    endpoint_id: &str,
    event_id: &str,
) -> Result<u32, AdminError> {
    if engine.registry.get(tenant, endpoint_id).is_none() {
        return Err(crate::admin::endpoint_not_found(endpoint_id));
    }
    let (reader, owner, endpoint, event) = (
        store.clone(),
        tenant.clone(),
        endpoint_id.to_owned(),
        event_id.to_owned(),
    );
    let delivery = tokio::task::spawn_blocking(move || reader.delivery(&owner, &endpoint, &event))
        .await
        .map_err(|e| AdminError::internal("reading the delivery", e))?
        .map_err(|e| AdminError::internal("reading the delivery", e))?
        .ok_or_else(crate::admin::delivery_not_found)?;

    let attempt = delivery.attempts + 1;
    let task = match &delivery.batch_id {
        None => event_task(engine, tenant, endpoint_id, event_id, delivery.event_seq).await?,
        Some(batch_id) => {
            batch_again(engine, store, tenant, endpoint_id, event_id, batch_id).await?
        }
    };
    let task = Task {
        attempt,
        series_start: attempt,
        due_ms: Some(Utc::now().timestamp_millis()),
        ..task
    };
    engine
        .enqueue(&task)
        .await
        .map_err(|e| AdminError::unavailable("queueing the delivery", e))?;
    Ok(attempt)
}

/// The task of `event_id` for `endpoint_id`, read back from the events stream.
async fn event_task(
    engine: &Engine,
    tenant: &Tenant,
    endpoint_id: &str,
    event_id: &str,
    seq: u64,
) -> Result<Task, AdminError> {
    let stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(|e| AdminError::unavailable("opening the events stream", e))?;
    let message = match stream.direct_get(seq).await {
        Ok(message) => message,
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
            return Err(AdminError::not_found(format!(
                "event {event_id} is no longer in the events stream (it keeps events for streams.events_max_age_secs)"
            )));
        }
        Err(e) => return Err(AdminError::unavailable("reading the event", e)),
    };
    let (event_tenant, event_type): (Tenant, EventType) = engine
        .topology
        .subjects
        .parse_event(&message.subject)
        .map_err(|e| AdminError::internal("reading the event's subject", e))?;
    if &event_tenant != tenant {
        return Err(AdminError::not_found("no such delivery in this tenant"));
    }
    Ok(Task {
        tenant: tenant.clone(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event_id.to_owned(),
        event_seq: seq,
        event_type,
        event_time_ms: i64::try_from(message.time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        attempt: 1,
        series_start: 1,
        correlation_id: fanout::correlation_id(Some(&message.headers)),
        traceparent: fanout::traceparent(Some(&message.headers)),
        due_ms: None,
        paced: false,
        batch: None,
        // An ordered endpoint's event goes again at the end of its key's lane.
        order_key: engine.registry.get(tenant, endpoint_id).and_then(|live| {
            fanout::order_key(&live.endpoint, Some(&message.headers), &message.payload)
        }),
        data: message.payload,
    })
}

/// The batch `event_id` went in, made again from its events (the same events make the same
/// batch id, so receivers see the `webhook-id` they saw before).
async fn batch_again(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    endpoint_id: &str,
    event_id: &str,
    batch_id: &str,
) -> Result<Task, AdminError> {
    let (reader, owner, endpoint, event) = (
        store.clone(),
        tenant.clone(),
        endpoint_id.to_owned(),
        event_id.to_owned(),
    );
    let attempts = tokio::task::spawn_blocking(move || reader.attempts(&owner, &endpoint, &event))
        .await
        .map_err(|e| AdminError::internal("reading the batch's attempts", e))?
        .map_err(|e| AdminError::internal("reading the batch's attempts", e))?;
    let members = attempts
        .iter()
        .rev()
        .find_map(|a| a.batch.clone())
        .ok_or_else(|| AdminError::not_found(format!("batch {batch_id} has no recorded events")))?;
    let mut tasks = Vec::with_capacity(members.len());
    for member in &members {
        tasks.push(
            event_task(
                engine,
                tenant,
                endpoint_id,
                &member.event_id,
                member.event_seq,
            )
            .await?,
        );
    }
    batch::batch_task(&tasks).map_err(|e| AdminError::internal("assembling the batch", e))
}
