//! `events.get` and `events.list`: events read back from the events stream (bodies are
//! never copied into redb), with the deliveries each caused from the index.

use async_nats::jetstream::stream::DirectGetErrorKind;
use chrono::{TimeZone as _, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::event::{EventDetail, EventPage, EventSummary, GetEvent, ListEvents};
use hookwire_protocol::filter::EventTypeFilter;
use hookwire_protocol::headers::NATS_MSG_ID;
use serde_json::Value;

use crate::engine::Engine;
use crate::fanout;
use crate::store::Store;
use crate::stream_page::{self, Start};

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
) -> Option<(Tenant, EventSummary)> {
    let (tenant, event_type) = engine.topology.subjects.parse_event(subject).ok()?;
    let id = fanout::event_id(fanout::header(headers, NATS_MSG_ID), published_ns, seq).ok();
    let event = EventSummary {
        seq,
        id,
        event_type: event_type.to_string(),
        published_at: Utc.timestamp_nanos(i64::try_from(published_ns).unwrap_or(0)),
        bytes: payload.len(),
        data: with_data.then(|| serde_json::from_slice(payload).unwrap_or(Value::Null)),
    };
    Some((tenant, event))
}

/// The stream sequence of the event `request` names: its `seq`, or the sequence recorded
/// with the deliveries of its `id`.
async fn sequence_of(
    store: &Store,
    tenant: &Tenant,
    request: &GetEvent,
) -> Result<u64, AdminError> {
    Ok(match (request.seq, &request.id) {
        (Some(seq), None) => seq,
        (None, Some(id)) => {
            let (reader, owner, event) = (store.clone(), tenant.clone(), id.clone());
            let found =
                tokio::task::spawn_blocking(move || reader.event_deliveries(&owner, &event))
                    .await
                    .map_err(|e| AdminError::internal("reading the event's deliveries", e))?
                    .map_err(|e| AdminError::internal("reading the event's deliveries", e))?;
            found.first().map(|(_, seq)| *seq).ok_or_else(|| {
                AdminError::not_found(format!(
                    "no delivery recorded for event {id}; events without deliveries are found by seq"
                ))
            })?
        }
        _ => return Err(AdminError::invalid("seq", "give exactly one of seq and id")),
    })
}

/// The stored message of event `seq`.
async fn message(
    engine: &Engine,
    seq: u64,
) -> Result<async_nats::jetstream::message::StreamMessage, AdminError> {
    let stream = engine
        .js
        .get_stream(&engine.topology.events)
        .await
        .map_err(|e| AdminError::unavailable("opening the events stream", e))?;
    let message = match stream.direct_get(seq).await {
        Ok(message) => message,
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
            return Err(AdminError::not_found(format!(
                "no event {seq} in the events stream (never, or aged out)"
            )));
        }
        Err(e) => return Err(AdminError::unavailable("reading the event", e)),
    };
    Ok(message)
}

/// `events.get`.
pub(crate) async fn get(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    request: GetEvent,
) -> Result<EventDetail, AdminError> {
    let seq = sequence_of(store, tenant, &request).await?;
    let message = message(engine, seq).await?;
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
    .ok_or_else(|| AdminError::not_found(format!("no event {seq} in this tenant")))?;
    let event_id = event.id.clone().unwrap_or_default();
    let (reader, tenant) = (store.clone(), owner);
    let deliveries = tokio::task::spawn_blocking(move || {
        reader
            .event_deliveries(&tenant, &event_id)?
            .into_iter()
            .filter_map(|(endpoint, _)| reader.delivery(&tenant, &endpoint, &event_id).transpose())
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| AdminError::internal("reading the event's deliveries", e))?
    .map_err(|e| AdminError::internal("reading the event's deliveries", e))?;
    Ok(EventDetail { event, deliveries })
}

/// One event as fan-out saw it, for rendering it again.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    /// Its id.
    pub id: String,
    /// Its type.
    pub event_type: String,
    /// When it was published, to the millisecond (as deliveries carry it).
    pub time: chrono::DateTime<Utc>,
    /// Its correlation id.
    pub correlation_id: Option<String>,
    /// Its data as published.
    pub data: bytes::Bytes,
}

/// The event `request` names, in `tenant`.
pub(crate) async fn stored(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    request: &GetEvent,
) -> Result<StoredEvent, AdminError> {
    let seq = sequence_of(store, tenant, request).await?;
    let message = message(engine, seq).await?;
    let published_ns = message.time.unix_timestamp_nanos();
    let not_here = || AdminError::not_found(format!("no event {seq} in this tenant"));
    let (owner, event_type) = engine
        .topology
        .subjects
        .parse_event(&message.subject)
        .map_err(|_| not_here())?;
    if &owner != tenant {
        return Err(not_here());
    }
    let header = |name: &str| fanout::header(Some(&message.headers), name);
    let id = fanout::event_id(header(NATS_MSG_ID), published_ns, seq)
        .map_err(|e| AdminError::invalid("seq", format!("event {seq} has an unusable id: {e}")))?;
    let time_ms = i64::try_from(published_ns / 1_000_000).unwrap_or(0);
    Ok(StoredEvent {
        id,
        event_type: event_type.to_string(),
        time: Utc
            .timestamp_millis_opt(time_ms)
            .single()
            .unwrap_or_else(Utc::now),
        correlation_id: fanout::correlation_id(Some(&message.headers)),
        data: message.payload,
    })
}

/// The data of event `seq`, if the stream still has it (`None` for sequence 0: test sends).
pub(crate) async fn data(engine: &Engine, seq: u64) -> Option<Value> {
    if seq == 0 {
        return None;
    }
    let stream = engine.js.get_stream(&engine.topology.events).await.ok()?;
    let message = stream.direct_get(seq).await.ok()?;
    serde_json::from_slice(&message.payload).ok()
}

/// `events.list`: up to `limit` events after the cursor (or from `since`, or the start).
pub(crate) async fn list(
    engine: &Engine,
    tenant: &Tenant,
    request: &ListEvents,
    limit: usize,
) -> Result<EventPage, AdminError> {
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
        let info = message
            .info()
            .map_err(|e| AdminError::internal("reading an event's metadata", e))?;
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
    let next_cursor = page.more.then(|| events.last().map(|e| e.seq)).flatten();
    Ok(EventPage {
        events,
        next_cursor,
    })
}
