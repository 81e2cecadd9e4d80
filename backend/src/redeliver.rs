//! Redelivery on request: one delivery sent again now, with a fresh retry schedule. The
//! event is read back from the events stream by sequence (bodies are never copied into
//! redb), so redelivery works for as long as the stream keeps the event.

use async_nats::jetstream::stream::DirectGetErrorKind;
use chrono::Utc;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::headers::CORRELATION_ID;
use hookwire_protocol::{EventType, Tenant};

use crate::engine::Engine;
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

    let stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(|e| AdminError::unavailable("opening the events stream", e))?;
    let message = match stream.direct_get(delivery.event_seq).await {
        Ok(message) => message,
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
            return Err(AdminError::not_found(
                "the event is no longer in the events stream (it keeps events for streams.events_max_age_secs)",
            ));
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
    let attempt = delivery.attempts + 1;
    let task = Task {
        tenant: tenant.clone(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event_id.to_owned(),
        event_seq: delivery.event_seq,
        event_type,
        event_time_ms: i64::try_from(message.time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        attempt,
        series_start: attempt,
        correlation_id: message
            .headers
            .get(CORRELATION_ID)
            .map(|v| v.as_str().to_owned()),
        due_ms: Some(Utc::now().timestamp_millis()),
        paced: false,
        data: message.payload,
    };
    engine
        .enqueue(&task)
        .await
        .map_err(|e| AdminError::unavailable("queueing the delivery", e))?;
    Ok(attempt)
}
