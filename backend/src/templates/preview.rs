//! `templates.preview`: what a template version (or an endpoint's pin) would send for an
//! event, byte for byte and signed as the endpoint signs, sending nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound as _, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::endpoint::{CreateEndpoint, Endpoint};
use hookwire_protocol::event::GetEvent;
use hookwire_protocol::headers::{WEBHOOK_ID, WEBHOOK_TIMESTAMP};
use hookwire_protocol::template::{PreviewTemplate, RenderedRequest};
use hookwire_protocol::{EventType, Secret};

use super::{BodyError, EventView};
use crate::delivery::request::{self, Payload};
use crate::engine::Engine;
use crate::events::{self, StoredEvent};
use crate::store::Store;

/// Renders `request` (see [`PreviewTemplate`]).
pub(crate) async fn preview(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    request: PreviewTemplate,
) -> Result<RenderedRequest, AdminError> {
    let live = match &request.endpoint_id {
        Some(id) => Some(
            engine
                .registry
                .get(tenant, id)
                .ok_or_else(|| crate::admin::endpoint_not_found(id))?,
        ),
        None => None,
    };
    let pin = match (&request.template, live.as_ref()) {
        (Some(pin), _) => Some(pin.clone().validate("template")?),
        (None, Some(live)) => live.endpoint.template.clone(),
        (None, None) => {
            return Err(AdminError::invalid(
                "template",
                "name a template version, or an endpoint to use its pin",
            ));
        }
    };
    let event = event(engine, store, tenant, &request).await?;
    let placeholder;
    let endpoint = if let Some(live) = &live {
        &live.endpoint
    } else {
        placeholder = placeholder_endpoint(tenant)?;
        &placeholder
    };
    let view = EventView {
        data: &event.data,
        event_type: &event.event_type,
        event_id: &event.id,
        timestamp: event.time,
        tenant,
        correlation_id: event.correlation_id.as_deref(),
        attempt: request.attempt.unwrap_or(1).max(1),
        endpoint,
        batch: None,
    };
    let payload = match &pin {
        Some(pin) => super::render_with(engine, pin, &view).await,
        None => Ok(Payload::envelope(
            &event.event_type,
            event.time,
            &event.data,
        )),
    }
    .map_err(|e| match e {
        BodyError::Render(e) => AdminError::invalid("template", e.to_string()),
        BodyError::Unavailable(e) => e,
    })?;
    let webhook_id = request.webhook_id.unwrap_or(event.id);
    let at = request.timestamp.unwrap_or_else(Utc::now);
    let headers = match &live {
        Some(live) => {
            let signed = request::signed_headers(
                live,
                &webhook_id,
                event.correlation_id.as_deref(),
                at,
                &payload,
            );
            engine.recording.request_headers(&signed, &live.endpoint)
        }
        None => unsigned_headers(&payload, &webhook_id, at),
    };
    Ok(RenderedRequest {
        template: pin,
        url: live.as_ref().map(|l| l.endpoint.url.clone()),
        compressed: live
            .as_ref()
            .and_then(|l| l.endpoint.compression)
            .is_some_and(|c| c.applies(payload.body.len())),
        body: String::from_utf8_lossy(&payload.body).into_owned(),
        headers,
    })
}

/// The event to render: a past one, the given data, or the catalog's example.
async fn event(
    engine: &Engine,
    store: &Store,
    tenant: &Tenant,
    request: &PreviewTemplate,
) -> Result<StoredEvent, AdminError> {
    if request.event_id.is_some() || request.event_seq.is_some() {
        if request.data.is_some() {
            return Err(AdminError::invalid(
                "data",
                "give a past event or data, not both",
            ));
        }
        let which = GetEvent {
            seq: request.event_seq,
            id: request.event_id.clone(),
        };
        return events::stored(engine, store, tenant, &which).await;
    }
    let Some(event_type) = &request.event_type else {
        return Err(AdminError::invalid(
            "event_type",
            "give the type of the data (or of the catalog example), or a past event",
        ));
    };
    let event_type =
        EventType::new(event_type).map_err(|e| AdminError::invalid("event_type", e.to_string()))?;
    let data = match &request.data {
        Some(data) => data.clone(),
        None => engine
            .catalog
            .example(tenant, event_type.as_str())
            .ok_or_else(|| {
                AdminError::invalid(
                    "data",
                    format!("the catalog has no example for {event_type}; give data"),
                )
            })?,
    };
    let data = serde_json::to_vec(&data)
        .map_err(|e| AdminError::internal("encoding the preview's data", e))?;
    Ok(StoredEvent {
        // A new event's id is its webhook-id.
        id: request
            .webhook_id
            .clone()
            .unwrap_or_else(|| crate::ids::random("msg_")),
        event_type: event_type.to_string(),
        time: Utc::now().trunc_subsecs(3),
        correlation_id: None,
        data: data.into(),
    })
}

/// What templates see as `endpoint` in a preview without one.
fn placeholder_endpoint(tenant: &Tenant) -> Result<Endpoint, AdminError> {
    CreateEndpoint {
        url: "https://receiver.invalid/".to_owned(),
        ..CreateEndpoint::default()
    }
    .into_endpoint(
        tenant.clone(),
        "preview".to_owned(),
        Secret::generate(),
        Utc::now(),
    )
    .map(|(endpoint, _, _)| endpoint)
}

/// Headers without an endpoint: the template's, the content type and the ids (no
/// signature: there is no secret to sign with).
fn unsigned_headers(
    payload: &Payload,
    webhook_id: &str,
    at: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let template = payload.template.as_deref().map(|t| &t.version);
    let mut headers: BTreeMap<String, String> =
        template.map(|t| t.headers.clone()).unwrap_or_default();
    headers.insert(
        "content-type".to_owned(),
        template
            .map_or("application/json", |t| t.content_type())
            .to_owned(),
    );
    headers.insert(WEBHOOK_ID.to_owned(), webhook_id.to_owned());
    headers.insert(WEBHOOK_TIMESTAMP.to_owned(), at.timestamp().to_string());
    headers
}
