//! `events.get` and `events.list`: events read back from the events stream (bodies are
//! never copied into redb), with the deliveries each caused from the index.

use async_nats::jetstream::stream::DirectGetErrorKind;
use chrono::{DateTime, TimeZone as _, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, ErrorCode};
use hookwire_protocol::filter::EventTypeFilter;
use hookwire_protocol::headers::NATS_MSG_ID;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::fanout;
use crate::store::Store;
use crate::stream_page::{self, Start};

/// `events.get`: one event by stream sequence or by id.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetEvent {
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    id: Option<String>,
}

/// `events.list`: a tenant's events in stream order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListEvents {
    /// Only types matching this filter.
    #[serde(default)]
    event_type: Option<String>,
    /// Only events published at or after this time.
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    /// Continue after this stream sequence (the previous page's `next_cursor`).
    #[serde(default)]
    cursor: Option<u64>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::new(ErrorCode::Unavailable, e.to_string())
}

fn internal(e: impl std::fmt::Display) -> AdminError {
    AdminError::new(ErrorCode::Internal, e.to_string())
}

/// One event as the API shows it: `data` is the published JSON (or `null` for bodies that
/// are not JSON: those were rejected).
fn describe(
    engine: &Engine,
    subject: &str,
    headers: Option<&async_nats::HeaderMap>,
    seq: u64,
    published_ns: i128,
    payload: &[u8],
    with_data: bool,
) -> Option<(Tenant, Value)> {
    let (tenant, event_type) = engine.topology.subjects.parse_event(subject).ok()?;
    let id = fanout::event_id(fanout::header(headers, NATS_MSG_ID), published_ns, seq).ok();
    let published_at = Utc.timestamp_nanos(i64::try_from(published_ns).unwrap_or(0));
    let mut event = json!({
        "seq": seq,
        "id": id,
        "type": event_type.as_str(),
        "published_at": published_at,
        "bytes": payload.len(),
    });
    if with_data {
        event["data"] = serde_json::from_slice(payload).unwrap_or(Value::Null);
    }
    Some((tenant, event))
}

/// `events.get`.
pub async fn get(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    request: GetEvent,
) -> Result<Value, AdminError> {
    let seq = match (request.seq, &request.id) {
        (Some(seq), None) => seq,
        (None, Some(id)) => {
            let (reader, owner, event) = (store.clone(), tenant.clone(), id.clone());
            let found =
                tokio::task::spawn_blocking(move || reader.event_deliveries(&owner, &event))
                    .await
                    .map_err(internal)?
                    .map_err(internal)?;
            found.first().map(|(_, seq)| *seq).ok_or_else(|| {
                AdminError::new(
                    ErrorCode::NotFound,
                    format!("no delivery recorded for event {id}; events without deliveries are found by seq"),
                )
            })?
        }
        _ => return Err(AdminError::invalid("seq", "give exactly one of seq and id")),
    };
    let stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(unavailable)?;
    let message = match stream.direct_get(seq).await {
        Ok(message) => message,
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
            return Err(AdminError::new(
                ErrorCode::NotFound,
                format!("no event {seq} in the events stream (never, or aged out)"),
            ));
        }
        Err(e) => return Err(unavailable(e)),
    };
    let (owner, event) = describe(
        engine,
        &message.subject,
        Some(&message.headers),
        seq,
        message.time.unix_timestamp_nanos(),
        &message.payload,
        true,
    )
    .filter(|(owner, _)| owner == tenant)
    .ok_or_else(|| {
        AdminError::new(
            ErrorCode::NotFound,
            format!("no event {seq} in this tenant"),
        )
    })?;
    let event_id = event["id"].as_str().unwrap_or_default().to_owned();
    let (reader, tenant) = (store.clone(), owner);
    let deliveries = tokio::task::spawn_blocking(move || {
        reader
            .event_deliveries(&tenant, &event_id)?
            .into_iter()
            .filter_map(|(endpoint, _)| reader.delivery(&tenant, &endpoint, &event_id).transpose())
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    Ok(json!({"event": event, "deliveries": deliveries}))
}

/// The data of event `seq`, if the stream still has it (`None` for sequence 0: test sends).
pub async fn data(engine: &Engine, seq: u64) -> Option<Value> {
    if seq == 0 {
        return None;
    }
    let stream = engine.js.get_stream(&engine.topology.events).await.ok()?;
    let message = stream.direct_get(seq).await.ok()?;
    serde_json::from_slice(&message.payload).ok()
}

/// `events.list`: up to `limit` events after the cursor (or from `since`, or the start).
pub async fn list(
    engine: &Engine,
    tenant: &Tenant,
    request: &ListEvents,
    limit: usize,
) -> Result<Value, AdminError> {
    let filter_subject = match &request.event_type {
        Some(filter) => {
            let filter = EventTypeFilter::new(filter)
                .map_err(|e| AdminError::invalid("event_type", e.to_string()))?;
            engine
                .topology
                .subjects
                .tenant_events_matching(tenant, &filter)
        }
        None => engine.topology.subjects.tenant_events(tenant),
    };
    let start = match (request.cursor, request.since) {
        (Some(cursor), _) => Start::After(cursor),
        (None, Some(since)) => Start::Since(since),
        (None, None) => Start::Beginning,
    };
    let page = stream_page::read(
        &engine.js,
        &engine.topology.events,
        vec![filter_subject],
        start,
        limit,
    )
    .await?;
    let mut events = Vec::with_capacity(page.messages.len());
    for message in &page.messages {
        let info = message.info().map_err(internal)?;
        let (seq, published_ns) = (info.stream_sequence, info.published.unix_timestamp_nanos());
        if let Some((_, event)) = describe(
            engine,
            &message.subject,
            message.headers.as_ref(),
            seq,
            published_ns,
            &message.payload,
            false,
        ) {
            events.push(event);
        }
    }
    let next_cursor = page
        .more
        .then(|| events.last().and_then(|e| e["seq"].as_u64()))
        .flatten();
    Ok(json!({"events": events, "next_cursor": next_cursor}))
}
