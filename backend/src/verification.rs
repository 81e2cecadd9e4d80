//! Subscription verification: sends the signed challenge webhook to an endpoint's receiver,
//! checks the answer ([`hookwire_protocol::verification::check_answer`]) and records the
//! result on the endpoint. A pass activates a pending endpoint and releases what it held.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::endpoint::VerificationMode;
use hookwire_protocol::verification::{self, Challenge, VerificationReport};

use crate::delivery::http::Sender;
use crate::delivery::request;
use crate::engine::Engine;
use crate::ids;
use crate::registry::WriteError;

/// Verifies `id`'s receiver now and records the result.
pub(crate) async fn verify(
    engine: &Engine,
    sender: &Sender,
    tenant: &Tenant,
    id: &str,
) -> Result<VerificationReport, AdminError> {
    let live = engine
        .registry
        .get(tenant, id)
        .ok_or_else(|| crate::admin::endpoint_not_found(id))?;
    if live.endpoint.verification == VerificationMode::Confirmed {
        return Err(AdminError::invalid(
            "id",
            format!(
                "endpoint {id} has verification \"confirmed\": the operator confirmed its \
                 destination and no challenge is sent; switch to echo or status to run one"
            ),
        ));
    }
    let now = Utc::now();
    let challenge = Challenge {
        challenge: ids::random("chl_"),
        endpoint_id: id.to_owned(),
    };
    let data = serde_json::to_vec(&challenge)
        .map_err(|e| AdminError::internal("encoding the challenge", e))?;
    let payload = request::Payload::envelope(verification::EVENT_TYPE, now, &data);
    let headers = request::signed_headers(&live, &ids::random("vrf_"), None, now, &payload);
    let sent = sender.post(&live, headers, payload.body).await;
    let result = match (&sent.response, &sent.error) {
        (Some(response), _) => verification::check_answer(
            live.endpoint.verification,
            &challenge.challenge,
            response.status,
            response.body.as_bytes(),
        )
        .map_err(|e| e.to_string()),
        (None, Some((_, message))) => Err(format!("no answer: {message}")),
        (None, None) => Err("no answer".to_owned()),
    };

    let verified_url = live.endpoint.url.clone();
    let recorded = result.clone();
    let write = engine
        .registry
        .modify(&engine.bucket, tenant, id, move |stored| {
            // The URL changed while we asked: this result says nothing about the new one.
            if stored.endpoint.url == verified_url {
                stored
                    .endpoint
                    .record_verification(recorded.clone(), Utc::now());
            }
            Ok(())
        })
        .await;
    let revision = match write {
        Ok(revision) => revision,
        Err(WriteError::NotFound(_)) => {
            return Err(AdminError::not_found(format!(
                "endpoint {id} was deleted during verification"
            )));
        }
        Err(e) => return Err(AdminError::unavailable("recording the verification", e)),
    };
    engine
        .registry
        .wait_for(revision, Duration::from_secs(5))
        .await;
    let (name, event) = match &result {
        Ok(()) => {
            engine.release_held.notify_one();
            (
                "endpoint.verified",
                serde_json::json!({"endpoint_id": id, "url": live.endpoint.url}),
            )
        }
        Err(reason) => {
            crate::audit::security_event(
                engine,
                tenant,
                "endpoint.verification_failed",
                id,
                reason.clone(),
            )
            .await;
            (
                "endpoint.verification_failed",
                serde_json::json!({"endpoint_id": id, "url": live.endpoint.url, "reason": reason}),
            )
        }
    };
    if let Err(e) = engine.publish_operational(tenant, name, &event).await {
        tracing::warn!(error = %e, "verification recorded, but its operational event was not published");
    }
    let endpoint = engine
        .registry
        .get(tenant, id)
        .map_or_else(|| live.endpoint.clone(), |now| now.endpoint.clone());
    Ok(VerificationReport {
        verified: result.is_ok(),
        error: result.err(),
        response_status: sent.response.map(|r| r.status),
        endpoint,
    })
}

/// Verifies in the background (after a create, a URL change or a resume); the result is
/// recorded on the endpoint and in an operational event.
pub(crate) fn spawn(engine: Arc<Engine>, sender: Sender, tenant: Tenant, id: String) {
    tokio::spawn(async move {
        match verify(&engine, &sender, &tenant, &id).await {
            Ok(report) if report.verified => tracing::info!(%tenant, id, "endpoint verified"),
            Ok(report) => {
                tracing::info!(%tenant, id, error = report.error, "endpoint verification failed");
            }
            Err(e) => tracing::warn!(%tenant, id, error = %e.message, "cannot verify an endpoint"),
        }
    });
}
