//! Key discovery for `v1a` receivers: each tenant's public keys as a JWKS document, from
//! `keys.get` over NATS and `GET /keys/<tenant>` on the HTTP listener. Built from this
//! instance's registry, never from anything a request carries.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::v1a::{Jwks, SigningKey};

use crate::registry::Registry;

/// More endpoints than any tenant is expected to have; the document covers them all.
const ALL_ENDPOINTS: usize = 100_000;

/// The public keys of `tenant`'s endpoints that sign with `ed25519`, each live key (the
/// current one, and those rotated out while their grace period lasts) at `now`.
pub(crate) fn jwks(registry: &Registry, tenant: &Tenant, now: DateTime<Utc>) -> Jwks {
    let (endpoints, _) = registry.page(tenant, None, ALL_ENDPOINTS);
    let keys = endpoints
        .iter()
        .filter(|endpoint| endpoint.signature.publishes_keys())
        .filter_map(|endpoint| registry.get(tenant, &endpoint.id))
        .flat_map(|live| {
            live.signing_secrets_until(now)
                .into_iter()
                .map(|(secret, expires_at)| {
                    SigningKey::derive(secret)
                        .public_key()
                        .jwk(&live.endpoint.id, expires_at)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    Jwks { keys }
}

/// Where the HTTP route finds the registry once the instance has one.
pub(crate) type RegistrySlot = Arc<OnceLock<Arc<Registry>>>;

/// `GET /keys/<tenant>`: the tenant's JWKS; 503 before the instance is ready, 400 for a
/// name that is no tenant.
pub(crate) async fn serve_jwks(
    State(slot): State<RegistrySlot>,
    Path(tenant): Path<String>,
) -> Response {
    let Some(registry) = slot.get() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response();
    };
    let Ok(tenant) = Tenant::new(&tenant) else {
        return (StatusCode::BAD_REQUEST, "not a tenant name\n").into_response();
    };
    let body = serde_json::to_string(&jwks(registry, &tenant, Utc::now())).unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            // Receivers may cache it briefly; a rotation shows within a minute.
            (header::CACHE_CONTROL, "max-age=60"),
        ],
        body,
    )
        .into_response()
}
