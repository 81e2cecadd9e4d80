//! `endpoints.*`: subscriber URLs, their status, secrets, verification, statistics and test
//! sends.

use std::sync::Arc;

use async_nats::jetstream::kv;
use hookwire_protocol::Secret;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, Deleted, PageSize};
use hookwire_protocol::attempt::AttemptRecord;
use hookwire_protocol::auth::{Auth, Credentials};
use hookwire_protocol::endpoint::{
    CreateEndpoint, CreatedEndpoint, Endpoint, EndpointId, EndpointPage, EndpointStatus,
    ListEndpoints, RotateSecret, RotatedSecret, StatusChange, TestEndpoint, UpdateEndpoint,
};
use hookwire_protocol::operation::ops;
use hookwire_protocol::rotation::{self, SecretEntry};
use hookwire_protocol::stats::{EndpointStats, StatsWindows};
use hookwire_protocol::template::TemplatePin;
use hookwire_protocol::verification::VerificationReport;

use super::{APPLY_TIMEOUT, Admin, Handler};
use crate::delivery::http;
use crate::registry::{self, EndpointRecord, WriteError};
use crate::{slo, templates, test_send, verification};

impl Handler for ops::EndpointsCreate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: CreateEndpoint,
    ) -> Result<CreatedEndpoint, AdminError> {
        let (endpoint, secret, credentials) = request.into_endpoint(
            tenant.clone(),
            crate::ids::random("ep_"),
            Secret::generate(),
            chrono::Utc::now(),
        )?;
        admin
            .engine
            .catalog
            .check_filters(tenant, &endpoint.event_types)?;
        admin.check_destination(&endpoint, &credentials)?;
        admin
            .check_template(tenant, endpoint.template.as_ref())
            .await?;
        let record = EndpointRecord {
            endpoint: endpoint.clone(),
            secrets: vec![SecretEntry::current(secret.expose())],
            credentials,
        };
        let key = registry::endpoint_key(tenant, &endpoint.id);
        let stored = record
            .seal(admin.engine.registry.keyring())
            .map_err(|e| AdminError::internal("sealing the endpoint's secrets", e))?;
        let value = serde_json::to_vec(&stored)
            .map_err(|e| AdminError::internal("encoding the endpoint", e))?;
        let revision = match admin.engine.bucket.create(key.as_str(), value.into()).await {
            Ok(revision) => revision,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                return Err(AdminError::conflict(format!(
                    "endpoint {} exists already; choose another id or update it",
                    endpoint.id
                )));
            }
            Err(e) => return Err(AdminError::unavailable("writing the endpoint", e)),
        };
        admin.applied(revision).await;
        admin.follow_up(&endpoint);
        Ok(CreatedEndpoint {
            endpoint,
            secret: secret.expose(),
        })
    }
}

impl Handler for ops::EndpointsGet {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<Endpoint, AdminError> {
        admin.endpoint(tenant, &request.id)
    }
}

impl Handler for ops::EndpointsList {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: ListEndpoints,
    ) -> Result<EndpointPage, AdminError> {
        let limit = PageSize::resolve(request.limit)?;
        let (endpoints, next_cursor) =
            admin
                .engine
                .registry
                .page(tenant, request.cursor.as_deref(), limit);
        Ok(EndpointPage {
            endpoints,
            next_cursor,
        })
    }
}

impl Handler for ops::EndpointsUpdate {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: UpdateEndpoint,
    ) -> Result<Endpoint, AdminError> {
        let id = request.id.clone();
        if let Some(Some(pin)) = &request.template {
            let pin = pin.clone().validate("template")?;
            admin.check_template(tenant, Some(&pin)).await?;
        }
        let revision = admin
            .engine
            .registry
            .modify(&admin.engine.bucket, tenant, &id, |record| {
                let (next, credentials) = request.clone().apply(
                    &record.endpoint,
                    &record.credentials,
                    chrono::Utc::now(),
                )?;
                if request.event_types.is_some() {
                    admin
                        .engine
                        .catalog
                        .check_filters(tenant, &next.event_types)?;
                }
                admin.check_destination(&next, &credentials)?;
                record.endpoint = next;
                record.credentials = credentials;
                Ok(())
            })
            .await
            .map_err(write_error)?;
        admin.applied(revision).await;
        let endpoint = admin.endpoint(tenant, &id)?;
        admin.follow_up(&endpoint);
        Ok(endpoint)
    }
}

impl Handler for ops::EndpointsDelete {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<Deleted, AdminError> {
        let id = request.id;
        admin.endpoint(tenant, &id)?;
        let key = registry::endpoint_key(tenant, &id);
        admin
            .engine
            .bucket
            .delete(key.as_str())
            .await
            .map_err(|e| AdminError::unavailable("deleting the endpoint", e))?;
        if !admin
            .engine
            .registry
            .wait_until_gone(tenant, &id, APPLY_TIMEOUT)
            .await
        {
            tracing::warn!(id, "a delete was not applied locally in time");
        }
        Ok(Deleted { deleted: id })
    }
}

impl Handler for ops::EndpointsPause {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<Endpoint, AdminError> {
        admin
            .set_status(tenant, &request.id, StatusChange::Pause)
            .await
    }
}

impl Handler for ops::EndpointsResume {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<Endpoint, AdminError> {
        admin
            .set_status(tenant, &request.id, StatusChange::Resume)
            .await
    }
}

impl Handler for ops::EndpointsEnable {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<Endpoint, AdminError> {
        admin
            .set_status(tenant, &request.id, StatusChange::Enable)
            .await
    }
}

impl Handler for ops::EndpointsRotateSecret {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: RotateSecret,
    ) -> Result<RotatedSecret, AdminError> {
        let new = match &request.secret {
            Some(text) => {
                Secret::parse(text).map_err(|e| AdminError::invalid("secret", e.to_string()))?
            }
            None => Secret::generate(),
        };
        let grace = request.grace_secs.map_or(rotation::DEFAULT_GRACE, |s| {
            chrono::TimeDelta::seconds(i64::from(s))
        });
        let now = chrono::Utc::now();
        let revision = admin
            .engine
            .registry
            .modify(&admin.engine.bucket, tenant, &request.id, |stored| {
                stored.secrets = rotation::rotate_secret(&stored.secrets, new.expose(), now, grace)
                    .map_err(|e| AdminError::invalid("grace_secs", e.to_string()))?;
                stored.endpoint.updated_at = now;
                Ok(())
            })
            .await
            .map_err(write_error)?;
        admin.applied(revision).await;
        let previous_expires_at = (grace > chrono::TimeDelta::zero()).then(|| now + grace);
        let rotated = RotatedSecret {
            id: request.id,
            secret: new.expose(),
            previous_expires_at,
        };
        let event = serde_json::json!({"endpoint_id": rotated.id, "previous_expires_at": previous_expires_at});
        if let Err(e) = admin
            .engine
            .publish_operational(tenant, "endpoint.secret_rotated", &event)
            .await
        {
            tracing::warn!(error = %e, "secret rotated, but its operational event was not published");
        }
        Ok(rotated)
    }
}

impl Handler for ops::EndpointsVerify {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<VerificationReport, AdminError> {
        verification::verify(&admin.engine, &admin.sender, tenant, &request.id).await
    }
}

impl Handler for ops::EndpointsStats {
    /// The last hour, day and week (in five-minute buckets).
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<EndpointStats, AdminError> {
        let objective = admin.endpoint(tenant, &request.id)?.slo;
        let at = chrono::Utc::now();
        let now = at.timestamp();
        let ranges = [3600, 86_400, 7 * 86_400].map(|secs| (now - secs, now + 1));
        let (store, owner, endpoint) = (admin.store.clone(), tenant.clone(), request.id.clone());
        let (sums, slo) = tokio::task::spawn_blocking(move || {
            let sums = store.stats(&owner, &endpoint, &ranges)?;
            let slo = objective
                .map(|objective| slo::report(&store, &owner, &endpoint, objective, at))
                .transpose()?;
            Ok::<_, crate::store::StoreError>((sums, slo))
        })
        .await
        .map_err(|e| AdminError::internal("reading statistics", e))?
        .map_err(|e| AdminError::internal("reading statistics", e))?;
        let [hour, day, week] = sums.as_slice() else {
            return Err(AdminError::internal(
                "reading statistics",
                "the store returned the wrong number of windows",
            ));
        };
        Ok(EndpointStats {
            endpoint_id: request.id,
            windows: StatsWindows {
                hour: hour.summary(),
                day: day.summary(),
                week: week.summary(),
            },
            slo,
        })
    }
}

impl Handler for ops::EndpointsTest {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: TestEndpoint,
    ) -> Result<AttemptRecord, AdminError> {
        test_send::send(&admin.engine, &admin.sender, tenant, request).await
    }
}

impl Admin {
    /// `tenant`'s endpoint `id`, or `not_found`.
    pub(super) fn endpoint(&self, tenant: &Tenant, id: &str) -> Result<Endpoint, AdminError> {
        self.engine
            .registry
            .get(tenant, id)
            .map(|live| live.endpoint.clone())
            .ok_or_else(|| super::endpoint_not_found(id))
    }

    /// A pin must name a version that exists.
    async fn check_template(
        &self,
        tenant: &Tenant,
        pin: Option<&TemplatePin>,
    ) -> Result<(), AdminError> {
        match pin {
            Some(pin) => {
                let engine = &self.engine;
                templates::check_pin(&engine.bucket, &engine.templates, tenant, pin).await
            }
            None => Ok(()),
        }
    }

    /// Refuses a URL no delivery could reach: `http://` under `https_only`, or an address
    /// literal the network rules block (names are checked when they resolve, at delivery);
    /// the same for an OAuth 2.0 token URL; and a client certificate that does not load.
    /// While `listen` is on nothing connects to the URL, so it is checked when it goes off.
    fn check_destination(
        &self,
        endpoint: &Endpoint,
        credentials: &Credentials,
    ) -> Result<(), AdminError> {
        if !endpoint.listen {
            self.sender
                .check_url(&endpoint.url, &endpoint.network)
                .map_err(|blocked| AdminError::invalid("url", blocked.message))?;
        }
        if let Some(Auth::Oauth2 { token_url, .. }) = &credentials.auth {
            self.sender
                .check_url(token_url, &endpoint.network)
                .map_err(|blocked| {
                    AdminError::invalid("auth", format!("token_url: {}", blocked.message))
                })?;
        }
        if let Some(certificate) = &credentials.client_certificate {
            http::check_identity(certificate)
                .map_err(|e| AdminError::invalid("client_certificate", e))?;
        }
        Ok(())
    }

    /// `pause`, `resume` or `enable` ([`Endpoint::status_after`]); an endpoint that
    /// delivers again has its held deliveries released.
    async fn set_status(
        &self,
        tenant: &Tenant,
        id: &str,
        change: StatusChange,
    ) -> Result<Endpoint, AdminError> {
        let revision = self
            .engine
            .registry
            .modify(&self.engine.bucket, tenant, id, |stored| {
                let next = stored.endpoint.status_after(change)?;
                // Enabling is the operator's word that the receiver is fixed: a fresh start.
                let reset_circuit =
                    change == StatusChange::Enable && stored.endpoint.circuit.is_some();
                if stored.endpoint.status != next || reset_circuit {
                    stored.endpoint.status = next;
                    stored.endpoint.updated_at = chrono::Utc::now();
                    if change == StatusChange::Enable {
                        stored.endpoint.circuit = None;
                    }
                }
                Ok(())
            })
            .await
            .map_err(write_error)?;
        self.applied(revision).await;
        let endpoint = self.endpoint(tenant, id)?;
        self.follow_up(&endpoint);
        Ok(endpoint)
    }

    /// After a change: an endpoint waiting for verification gets it started; an active one
    /// has what it held released.
    fn follow_up(&self, endpoint: &Endpoint) {
        if endpoint.status == EndpointStatus::Active {
            self.engine.release_held.notify_one();
        }
        if matches!(endpoint.status, EndpointStatus::PendingVerification { .. }) {
            verification::spawn(
                Arc::clone(&self.engine),
                self.sender.clone(),
                endpoint.tenant.clone(),
                endpoint.id.clone(),
            );
        }
    }
}

fn write_error(error: WriteError) -> AdminError {
    match error {
        WriteError::NotFound(id) => super::endpoint_not_found(&id),
        WriteError::Refused(e) => e,
        e @ WriteError::Contended(_) => AdminError::conflict(e.to_string()),
        e @ WriteError::Bucket(_) => AdminError::unavailable("writing the endpoint", e),
        e @ WriteError::Vault(_) => AdminError::internal("sealing the endpoint's secrets", e),
        e @ WriteError::Record(_) => AdminError::internal("reading the stored endpoint", e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = crate::ids::random("ep_");
        let b = crate::ids::random("ep_");
        assert_ne!(a, b);
        assert!(hookwire_protocol::endpoint::validate_id(&a).is_ok());
        assert_eq!(a.len(), 27);
    }
}
