//! The admin API over NATS request/reply, in the `hookwire` micro service:
//! `<prefix>.admin.<tenant>.endpoints.{create,get,list,update,delete}`.
//!
//! Handlers validate with `hookwire_protocol`, write through the configuration bucket and
//! answer once the change is applied locally, so a caller reads its own write from any
//! request that follows.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use async_nats::service::{Request, Service};
use bytes::Bytes;
use futures_util::StreamExt as _;
use hookwire_protocol::admin::{AdminError, ErrorCode};
use hookwire_protocol::endpoint::{
    CreateEndpoint, CreatedEndpoint, EndpointId, EndpointPage, ListEndpoints, UpdateEndpoint,
};
use hookwire_protocol::{Secret, Subjects, Tenant};
use rand::Rng as _;

use crate::registry::{self, Registry, StoredEndpoint, WriteError};

/// How long a write waits to be applied locally before answering anyway.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// The verbs of the `endpoints` noun.
const ENDPOINT_VERBS: [&str; 5] = ["create", "get", "list", "update", "delete"];

/// What the handlers share.
pub struct Admin {
    /// Subject layout.
    pub subjects: Subjects,
    /// Endpoints as applied locally.
    pub registry: Arc<Registry>,
    /// The configuration bucket.
    pub bucket: kv::Store,
}

/// Adds the endpoints' admin operations to `service`; the returned tasks serve them until
/// the service stops.
pub async fn start(
    service: &Service,
    admin: Arc<Admin>,
) -> Result<tokio::task::JoinSet<()>, async_nats::Error> {
    let mut tasks = tokio::task::JoinSet::new();
    for verb in ENDPOINT_VERBS {
        let mut endpoint = service
            .endpoint_builder()
            .name(format!("endpoints-{verb}"))
            .add(admin.subjects.admin_any_tenant("endpoints", verb)?)
            .await?;
        let admin = Arc::clone(&admin);
        tasks.spawn(async move {
            while let Some(request) = endpoint.next().await {
                let admin = Arc::clone(&admin);
                tokio::spawn(async move { admin.handle(request).await });
            }
        });
    }
    Ok(tasks)
}

impl Admin {
    async fn handle(&self, request: Request) {
        let result = match self.subjects.parse_admin(&request.message.subject) {
            Ok(subject) => {
                self.dispatch(&subject.tenant, &subject.verb, &request.message.payload)
                    .await
            }
            Err(e) => Err(AdminError::new(ErrorCode::InvalidSubject, e.to_string())),
        };
        let (body, headers) = match result {
            Ok(body) => (body, async_nats::HeaderMap::new()),
            Err(error) => {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert("Nats-Service-Error", error.message.as_str());
                headers.insert(
                    "Nats-Service-Error-Code",
                    error.code.status().to_string().as_str(),
                );
                let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
                (Bytes::from(body), headers)
            }
        };
        // The error travels in our own body and headers (the micro library would send an
        // empty body), so the reply is always sent as a success at the library level.
        if let Err(e) = request.respond_with_headers(Ok(body), headers).await {
            tracing::warn!(error = %e, "cannot send an admin reply");
        }
    }

    async fn dispatch(
        &self,
        tenant: &Tenant,
        verb: &str,
        body: &[u8],
    ) -> Result<Bytes, AdminError> {
        match verb {
            "create" => json(&self.create(tenant, AdminError::parse(body)?).await?),
            "get" => {
                let request: EndpointId = AdminError::parse(body)?;
                json(&self.lookup(tenant, &request.id)?)
            }
            "list" => json(&self.list(tenant, &AdminError::parse(body)?)?),
            "update" => json(&self.update(tenant, AdminError::parse(body)?).await?),
            "delete" => {
                let request: EndpointId = AdminError::parse(body)?;
                self.delete(tenant, &request.id).await?;
                json(&serde_json::json!({"deleted": request.id}))
            }
            other => Err(AdminError::new(
                ErrorCode::InvalidSubject,
                format!("unknown verb {other}"),
            )),
        }
    }

    async fn create(
        &self,
        tenant: &Tenant,
        request: CreateEndpoint,
    ) -> Result<CreatedEndpoint, AdminError> {
        let (endpoint, secret) = request.into_endpoint(
            tenant.clone(),
            new_endpoint_id(),
            Secret::generate(),
            chrono::Utc::now(),
        )?;
        let stored = StoredEndpoint {
            endpoint: endpoint.clone(),
            secrets: vec![secret.expose()],
        };
        let key = registry::endpoint_key(tenant, &endpoint.id);
        let value = serde_json::to_vec(&stored).map_err(internal)?;
        let revision = match self.bucket.create(key.as_str(), value.into()).await {
            Ok(revision) => revision,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                return Err(AdminError::new(
                    ErrorCode::Conflict,
                    format!(
                        "endpoint {} exists already; choose another id or update it",
                        endpoint.id
                    ),
                ));
            }
            Err(e) => return Err(unavailable(&e)),
        };
        self.applied(revision).await;
        Ok(CreatedEndpoint {
            endpoint,
            secret: secret.expose(),
        })
    }

    fn lookup(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<hookwire_protocol::endpoint::Endpoint, AdminError> {
        self.registry
            .get(tenant, id)
            .map(|live| live.endpoint.clone())
            .ok_or_else(|| not_found(id))
    }

    fn list(&self, tenant: &Tenant, request: &ListEndpoints) -> Result<EndpointPage, AdminError> {
        let limit = request.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(AdminError::invalid("limit", "must be 1 to 500"));
        }
        let (endpoints, next_cursor) = self.registry.page(
            tenant,
            request.cursor.as_deref(),
            usize::try_from(limit).unwrap_or(100),
        );
        Ok(EndpointPage {
            endpoints,
            next_cursor,
        })
    }

    async fn update(
        &self,
        tenant: &Tenant,
        request: UpdateEndpoint,
    ) -> Result<hookwire_protocol::endpoint::Endpoint, AdminError> {
        let id = request.id.clone();
        let revision = registry::modify(&self.bucket, tenant, &id, |stored| {
            stored.endpoint = request
                .clone()
                .apply(&stored.endpoint, chrono::Utc::now())?;
            Ok(())
        })
        .await
        .map_err(write_error)?;
        self.applied(revision).await;
        self.lookup(tenant, &id)
    }

    async fn delete(&self, tenant: &Tenant, id: &str) -> Result<(), AdminError> {
        self.lookup(tenant, id)?;
        let key = registry::endpoint_key(tenant, id);
        self.bucket
            .delete(key.as_str())
            .await
            .map_err(|e| unavailable(&e))?;
        if !self
            .registry
            .wait_until_gone(tenant, id, APPLY_TIMEOUT)
            .await
        {
            tracing::warn!(id, "a delete was not applied locally in time");
        }
        Ok(())
    }

    async fn applied(&self, revision: u64) {
        if !self.registry.wait_for(revision, APPLY_TIMEOUT).await {
            tracing::warn!(
                revision,
                "a configuration change was not applied locally in time"
            );
        }
    }
}

/// A new endpoint id: `ep_` and 20 random lowercase letters and digits.
fn new_endpoint_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("ep_{suffix}")
}

fn json<T: serde::Serialize>(value: &T) -> Result<Bytes, AdminError> {
    serde_json::to_vec(value).map(Bytes::from).map_err(internal)
}

fn not_found(id: &str) -> AdminError {
    AdminError::new(
        ErrorCode::NotFound,
        format!("no endpoint {id} in this tenant"),
    )
}

fn internal(e: impl std::fmt::Display) -> AdminError {
    AdminError::new(ErrorCode::Internal, e.to_string())
}

fn unavailable(e: &impl std::fmt::Display) -> AdminError {
    AdminError::new(
        ErrorCode::Unavailable,
        format!("the configuration bucket did not accept the change ({e}); retry"),
    )
}

fn write_error(error: WriteError) -> AdminError {
    match error {
        WriteError::NotFound(id) => not_found(&id),
        WriteError::Refused(e) => e,
        WriteError::Contended(_) => AdminError::new(ErrorCode::Conflict, error.to_string()),
        WriteError::Bucket(_) => AdminError::new(ErrorCode::Unavailable, error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = new_endpoint_id();
        let b = new_endpoint_id();
        assert_ne!(a, b);
        assert!(hookwire_protocol::endpoint::validate_id(&a).is_ok());
        assert_eq!(a.len(), 23);
    }
}
