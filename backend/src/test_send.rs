//! `endpoints.test`: one synthetic event sent to one endpoint now, rendered by its template
//! (if it pins one) and signed like any webhook, without publishing an event. The attempt
//! is recorded (and shown live) marked `test`.

use chrono::Utc;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::attempt::{AttemptRecord, Outcome};
use hookwire_protocol::endpoint::TestEndpoint;
use hookwire_protocol::{EventType, Tenant};

use crate::delivery::http::Sender;
use crate::delivery::outcome::{error_record, verdict};
use crate::delivery::request;
use crate::engine::Engine;
use crate::ids;
use crate::templates::{self, BodyError, EventView};

/// Sends the test event and returns its attempt record.
pub(crate) async fn send(
    engine: &Engine,
    sender: &Sender,
    tenant: &Tenant,
    request: TestEndpoint,
) -> Result<AttemptRecord, AdminError> {
    let event_type = EventType::new(&request.event_type)
        .map_err(|e| AdminError::invalid("event_type", e.to_string()))?;
    let live = engine
        .registry
        .get(tenant, &request.id)
        .ok_or_else(|| crate::admin::endpoint_not_found(&request.id))?;
    let payload = match request.payload {
        Some(payload) => payload,
        None => engine
            .catalog
            .example(tenant, event_type.as_str())
            .ok_or_else(|| {
                AdminError::invalid(
                    "payload",
                    format!("the catalog has no example for {event_type}; give a payload"),
                )
            })?,
    };
    let data = serde_json::to_vec(&payload)
        .map_err(|e| AdminError::internal("encoding the test payload", e))?;
    let event_id = ids::random("test_");
    let at = Utc::now();
    let view = EventView {
        data: &data,
        event_type: event_type.as_str(),
        event_id: &event_id,
        timestamp: at,
        tenant,
        correlation_id: None,
        attempt: 1,
        endpoint: &live.endpoint,
        batch: None,
    };
    let payload = match templates::payload_for(engine, &view).await {
        Ok(payload) => payload,
        Err(BodyError::Render(e)) => {
            return Err(AdminError::invalid(
                "template",
                format!("{e}; nothing was sent (`templates.preview` shows the output)"),
            ));
        }
        Err(BodyError::Unavailable(e)) => return Err(e),
    };
    let headers = request::signed_headers(&live, &event_id, None, at, &payload);
    let sent = sender.post(&live, headers, payload.body).await;
    // A test records a 410 like any failure; it never disables the endpoint.
    let error = error_record(&sent, verdict(&sent, at));
    let record = AttemptRecord {
        tenant: tenant.clone(),
        endpoint_id: request.id,
        event_id,
        event_seq: 0,
        event_type: event_type.to_string(),
        attempt: 1,
        at,
        latency_ms: sent.latency.as_secs_f64() * 1000.0,
        url: live.endpoint.url.clone(),
        request_headers: engine
            .recording
            .request_headers(&sent.request_headers, &live.endpoint),
        outcome: if error.is_none() {
            Outcome::Succeeded
        } else {
            Outcome::Dead
        },
        response: engine.recording.response(sent.response, &live.endpoint),
        error,
        next_attempt_at: None,
        correlation_id: None,
        test: true,
        batch: None,
        slo_met: None,
    };
    crate::audit::attempt(engine, &record).await;
    let subject = engine
        .topology
        .subjects
        .live(tenant, &record.endpoint_id)
        .map_err(|e| AdminError::internal("addressing the attempt record", e))?;
    let published = serde_json::to_vec(&record)
        .map_err(|e| AdminError::internal("encoding the attempt record", e))?;
    let recording = |e: &dyn std::fmt::Display| {
        AdminError::unavailable("recording the test attempt (it was sent)", e)
    };
    engine
        .records
        .store(subject, published)
        .await
        .map_err(|e| recording(&e))?;
    Ok(record)
}
