//! Redelivery on request: one delivery sent again now, with a fresh retry schedule. The
//! event is read back from the events stream by sequence (bodies are never copied into
//! redb), so redelivery works for as long as the stream keeps the event.

use async_nats::jetstream::stream::DirectGetErrorKind;
use chrono::Utc;
use hookwire_protocol::admin::{AdminError, ErrorCode};
use hookwire_protocol::headers::CORRELATION_ID;
use hookwire_protocol::{EventType, Tenant};

use crate::engine::Engine;
use crate::store::Store;
use crate::task::Task;

fn failed(code: ErrorCode, message: impl Into<String>) -> AdminError {
    AdminError::new(code, message)
}

/// Queues `event_id` for `endpoint_id` again; returns the number of the new attempt.
pub async fn redeliver(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    endpoint_id: &str,
    event_id: &str,
) -> Result<u32, AdminError> {
    if engine.registry.get(tenant, endpoint_id).is_none() {
        return Err(failed(
            ErrorCode::NotFound,
            format!("no endpoint {endpoint_id} in this tenant"),
        ));
    }
    let (reader, owner, endpoint, event) = (
        store.clone(),
        tenant.clone(),
        endpoint_id.to_owned(),
        event_id.to_owned(),
    );
    let delivery = tokio::task::spawn_blocking(move || reader.delivery(&owner, &endpoint, &event))
        .await
        .map_err(|e| failed(ErrorCode::Internal, e.to_string()))?
        .map_err(|e| failed(ErrorCode::Internal, e.to_string()))?
        .ok_or_else(|| {
            failed(
                ErrorCode::NotFound,
                "no such delivery (yet: attempts are indexed within moments)",
            )
        })?;

    let stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(|e| failed(ErrorCode::Unavailable, e.to_string()))?;
    let message = match stream.direct_get(delivery.event_seq).await {
        Ok(message) => message,
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
            return Err(failed(
                ErrorCode::NotFound,
                "the event is no longer in the events stream (streams.events_max_age_secs)",
            ));
        }
        Err(e) => return Err(failed(ErrorCode::Unavailable, e.to_string())),
    };
    let (event_tenant, event_type): (Tenant, EventType) = engine
        .topology
        .subjects
        .parse_event(&message.subject)
        .map_err(|e| failed(ErrorCode::Internal, e.to_string()))?;
    if &event_tenant != tenant {
        return Err(failed(
            ErrorCode::NotFound,
            "no such delivery in this tenant",
        ));
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
        .map_err(|e| failed(ErrorCode::Unavailable, e.to_string()))?;
    Ok(attempt)
}
