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
use hookwire_protocol::attempt::Outcome;
use hookwire_protocol::audit::{self, AuditRecord, ListAudit, Requester};
use hookwire_protocol::auth::{Auth, Credentials};
use hookwire_protocol::catalog::{TypeName, validate_name};
use hookwire_protocol::dead_letter::ListDeadLetters;
use hookwire_protocol::delivery::{ListDeliveries, RedeliverFailed};
use hookwire_protocol::endpoint::{
    CreateEndpoint, CreatedEndpoint, Endpoint, EndpointId, EndpointPage, EndpointStatus,
    ListEndpoints, RotateSecret, RotatedSecret, StatusChange, UpdateEndpoint,
};
use hookwire_protocol::replay::{ReplayId, StartReplay};
use hookwire_protocol::rotation::{self, SecretEntry};
use hookwire_protocol::source::{ListSourceRequests, SourceList, SourceName};
use hookwire_protocol::subject::AdminSubject;
use hookwire_protocol::{Secret, Tenant};
use serde::Deserialize;

use crate::delivery::http::{self, Sender};
use crate::engine::Engine;
use crate::events::{self, ListEvents};
use crate::registry::{self, EndpointRecord, WriteError};
use crate::store::DeliveryCursor;
use crate::store::Store;
use crate::verification;
use crate::{catalog, dead_letters, overview, replay, test_send};

/// The most deliveries one `redeliver-failed` sends.
const MAX_REDELIVER: usize = 10_000;
/// How long a write waits to be applied locally before answering anyway.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Every admin operation, as (noun, verb).
const OPERATIONS: [(&str, &str); 44] = [
    ("endpoints", "create"),
    ("endpoints", "get"),
    ("endpoints", "list"),
    ("endpoints", "update"),
    ("endpoints", "delete"),
    ("endpoints", "pause"),
    ("endpoints", "resume"),
    ("endpoints", "enable"),
    ("endpoints", "rotate-secret"),
    ("endpoints", "verify"),
    ("endpoints", "stats"),
    ("endpoints", "test"),
    ("deliveries", "get"),
    ("deliveries", "redeliver"),
    ("deliveries", "redeliver-failed"),
    ("deliveries", "list"),
    ("events", "get"),
    ("events", "list"),
    ("dead-letters", "list"),
    ("dead-letters", "requeue"),
    ("dead-letters", "purge"),
    ("replay", "start"),
    ("replay", "preview"),
    ("replay", "get"),
    ("replay", "list"),
    ("types", "create"),
    ("types", "get"),
    ("types", "list"),
    ("types", "update"),
    ("types", "deprecate"),
    ("types", "delete"),
    ("overview", "get"),
    ("system", "info"),
    ("system", "health"),
    ("audit", "list"),
    ("sources", "create"),
    ("sources", "get"),
    ("sources", "list"),
    ("sources", "update"),
    ("sources", "delete"),
    ("sources", "rotate-token"),
    ("sources", "test"),
    ("sources", "stats"),
    ("sources", "requests"),
];

/// What the handlers share.
pub struct Admin {
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    config: serde_json::Value,
}

impl Admin {
    /// Handlers working on `engine`'s endpoints and `store`'s index, reaching receivers
    /// through `sender`; `config` is what `system.info` shows (secrets are never serialized).
    #[must_use]
    pub fn new(
        engine: Arc<Engine>,
        sender: Sender,
        store: Store,
        config: serde_json::Value,
    ) -> Self {
        Self {
            engine,
            sender,
            store,
            config,
        }
    }
}

/// Adds the endpoints' admin operations to `service`; the returned tasks serve them until
/// the service stops.
pub async fn start(
    service: &Service,
    admin: Arc<Admin>,
) -> Result<tokio::task::JoinSet<()>, async_nats::Error> {
    let mut tasks = tokio::task::JoinSet::new();
    for (noun, verb) in OPERATIONS {
        let mut endpoint = service
            .endpoint_builder()
            .name(format!("{noun}-{verb}"))
            .add(
                admin
                    .engine
                    .topology
                    .subjects
                    .admin_any_tenant(noun, verb)?,
            )
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
        let result = match self
            .engine
            .topology
            .subjects
            .parse_admin(&request.message.subject)
        {
            Ok(subject) => {
                let payload = &request.message.payload;
                let result = self
                    .dispatch(&subject.tenant, &subject.noun, &subject.verb, payload)
                    .await;
                if audit::is_audited(&subject.noun, &subject.verb) {
                    self.audit(&request, &subject, &result).await;
                }
                result
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

    /// Records an admin change (or attempt at one) before its reply goes out.
    async fn audit(
        &self,
        request: &Request,
        subject: &AdminSubject,
        result: &Result<Bytes, AdminError>,
    ) {
        let header = |name: &str| {
            request
                .message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(async_nats::HeaderValue::as_str)
        };
        let (outcome, detail, reply) = match result {
            Ok(reply) => ("ok".to_owned(), None, Some(reply.as_ref())),
            Err(error) => (
                serde_json::to_value(error.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                Some(error.message.clone()),
                None,
            ),
        };
        let record = AuditRecord {
            at: chrono::Utc::now(),
            tenant: subject.tenant.clone(),
            action: format!("{}.{}", subject.noun, subject.verb),
            target: audit::target_of(&request.message.payload, reply),
            outcome,
            detail,
            requester: Requester::from_headers(
                header(audit::REQUEST_INFO_HEADER),
                header(audit::REQUESTER_HEADER),
            ),
        };
        crate::audit::write(&self.engine, &record).await;
    }

    async fn dispatch(
        &self,
        tenant: &Tenant,
        noun: &str,
        verb: &str,
        body: &[u8],
    ) -> Result<Bytes, AdminError> {
        match noun {
            "endpoints" => self.endpoints(tenant, verb, body).await,
            "deliveries" => self.deliveries(tenant, verb, body).await,
            "events" => self.events(tenant, verb, body).await,
            "dead-letters" => self.dead_letters(tenant, verb, body).await,
            "replay" => self.replay(tenant, verb, body).await,
            "overview" if verb == "get" => {
                AdminError::parse::<NoFields>(body)?;
                json(&overview::get(&self.engine, &self.store, tenant).await?)
            }
            "system" => self.system(verb, body).await,
            "types" => self.types(tenant, verb, body).await,
            "sources" => self.sources(tenant, verb, body).await,
            "audit" if verb == "list" => {
                let request: ListAudit = AdminError::parse(body)?;
                let limit = page_limit(request.limit)?;
                json(&crate::audit::list(&self.engine, tenant, &request, limit).await?)
            }
            _ => Err(unknown_operation(noun, verb)),
        }
    }

    async fn endpoints(
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
            "pause" | "resume" | "enable" => {
                let request: EndpointId = AdminError::parse(body)?;
                let change = match verb {
                    "pause" => StatusChange::Pause,
                    "resume" => StatusChange::Resume,
                    _ => StatusChange::Enable,
                };
                json(&self.set_status(tenant, &request.id, change).await?)
            }
            "verify" => {
                let request: EndpointId = AdminError::parse(body)?;
                let report =
                    verification::verify(&self.engine, &self.sender, tenant, &request.id).await?;
                json(&report)
            }
            "rotate-secret" => json(&self.rotate(tenant, AdminError::parse(body)?).await?),
            "stats" => {
                let request: EndpointId = AdminError::parse(body)?;
                json(&self.stats(tenant, &request.id).await?)
            }
            "test" => {
                let record =
                    test_send::send(&self.engine, &self.sender, tenant, AdminError::parse(body)?)
                        .await?;
                json(&record)
            }
            _ => Err(unknown_operation("endpoints", verb)),
        }
    }

    async fn deliveries(
        &self,
        tenant: &Tenant,
        verb: &str,
        body: &[u8],
    ) -> Result<Bytes, AdminError> {
        match verb {
            "list" => json(
                &self
                    .list_deliveries(tenant, &AdminError::parse(body)?)
                    .await?,
            ),
            "redeliver-failed" => {
                let request: RedeliverFailed = AdminError::parse(body)?;
                json(&self.redeliver_failed(tenant, &request).await?)
            }
            "get" => json(&self.delivery(tenant, AdminError::parse(body)?).await?),
            "redeliver" => {
                let request: DeliveryId = AdminError::parse(body)?;
                let attempt = crate::redeliver::redeliver(
                    &self.engine,
                    &self.store,
                    tenant,
                    &request.endpoint_id,
                    &request.event_id,
                )
                .await?;
                json(&serde_json::json!({"queued": true, "attempt": attempt}))
            }
            _ => Err(unknown_operation("deliveries", verb)),
        }
    }

    async fn events(&self, tenant: &Tenant, verb: &str, body: &[u8]) -> Result<Bytes, AdminError> {
        match verb {
            "get" => json(
                &events::get(&self.engine, &self.store, tenant, AdminError::parse(body)?).await?,
            ),
            "list" => {
                let request: ListEvents = AdminError::parse(body)?;
                let limit = page_limit(request.limit)?;
                json(&events::list(&self.engine, tenant, &request, limit).await?)
            }
            _ => Err(unknown_operation("events", verb)),
        }
    }

    async fn dead_letters(
        &self,
        tenant: &Tenant,
        verb: &str,
        body: &[u8],
    ) -> Result<Bytes, AdminError> {
        match verb {
            "list" => {
                let request: ListDeadLetters = AdminError::parse(body)?;
                let limit = page_limit(request.limit)?;
                let page = dead_letters::list(
                    &self.engine,
                    tenant,
                    request.endpoint_id.as_deref(),
                    request.cursor,
                    limit,
                );
                json(&page.await?)
            }
            "requeue" => {
                let moved =
                    dead_letters::requeue(&self.engine, tenant, &AdminError::parse(body)?).await?;
                json(&serde_json::json!({"requeued": moved}))
            }
            "purge" => {
                let purged =
                    dead_letters::purge(&self.engine, tenant, &AdminError::parse(body)?).await?;
                json(&serde_json::json!({"purged": purged}))
            }
            _ => Err(unknown_operation("dead-letters", verb)),
        }
    }

    async fn replay(&self, tenant: &Tenant, verb: &str, body: &[u8]) -> Result<Bytes, AdminError> {
        match verb {
            "start" => {
                let request: StartReplay = AdminError::parse(body)?;
                json(&replay::start(&self.engine, &self.store, tenant, &request).await?)
            }
            "preview" => {
                let request: StartReplay = AdminError::parse(body)?;
                json(&replay::preview(&self.engine, tenant, &request).await?)
            }
            "get" => {
                let request: ReplayId = AdminError::parse(body)?;
                json(&replay::get(&self.engine, tenant, &request.job_id).await?)
            }
            "list" => {
                let request: Page = AdminError::parse(body)?;
                let jobs = replay::list(&self.engine, tenant, page_limit(request.limit)?).await?;
                json(&serde_json::json!({ "jobs": jobs }))
            }
            _ => Err(unknown_operation("replay", verb)),
        }
    }

    async fn sources(&self, tenant: &Tenant, verb: &str, body: &[u8]) -> Result<Bytes, AdminError> {
        let (bucket, sources) = (&self.engine.bucket, &self.engine.sources);
        match verb {
            "create" => json(
                &sources
                    .create(bucket, tenant, AdminError::parse(body)?)
                    .await?,
            ),
            "update" => json(
                &sources
                    .update(bucket, tenant, AdminError::parse(body)?)
                    .await?,
            ),
            "get" => {
                let request: SourceName = AdminError::parse(body)?;
                json(&sources.view_of(tenant, &request.name)?)
            }
            "list" => {
                AdminError::parse::<NoFields>(body)?;
                json(&SourceList {
                    sources: sources.list(tenant),
                })
            }
            "delete" => {
                let request: SourceName = AdminError::parse(body)?;
                sources.delete(bucket, tenant, &request.name).await?;
                json(&serde_json::json!({"deleted": request.name}))
            }
            "rotate-token" => {
                let request: SourceName = AdminError::parse(body)?;
                json(&sources.rotate_token(bucket, tenant, &request.name).await?)
            }
            "test" => json(&sources.test(tenant, &AdminError::parse(body)?)?),
            "stats" => {
                let request: SourceName = AdminError::parse(body)?;
                sources.view_of(tenant, &request.name)?;
                json(&sources.counters(tenant, &request.name).snapshot())
            }
            "requests" => {
                let request: ListSourceRequests = AdminError::parse(body)?;
                let limit = page_limit(request.limit)?;
                json(&crate::sources::requests(&self.engine, tenant, &request, limit).await?)
            }
            _ => Err(unknown_operation("sources", verb)),
        }
    }

    async fn types(&self, tenant: &Tenant, verb: &str, body: &[u8]) -> Result<Bytes, AdminError> {
        let (bucket, catalog) = (&self.engine.bucket, &self.engine.catalog);
        match verb {
            "create" => {
                json(&catalog::create(bucket, catalog, tenant, AdminError::parse(body)?).await?)
            }
            "update" => {
                json(&catalog::update(bucket, catalog, tenant, AdminError::parse(body)?).await?)
            }
            "get" => {
                let request: TypeName = AdminError::parse(body)?;
                let name = validate_name(&request.name)?;
                let def = catalog.get(tenant, &name).ok_or_else(|| {
                    AdminError::new(
                        ErrorCode::NotFound,
                        format!("no type {name} in this tenant's catalog"),
                    )
                })?;
                json(&def)
            }
            "list" => {
                let NoFields {} = AdminError::parse(body)?;
                json(&serde_json::json!({"types": catalog.list(tenant)}))
            }
            "deprecate" => {
                let request: TypeName = AdminError::parse(body)?;
                json(&catalog::deprecate(bucket, catalog, tenant, &request.name).await?)
            }
            "delete" => {
                let request: TypeName = AdminError::parse(body)?;
                catalog::delete(bucket, catalog, tenant, &request.name).await?;
                json(&serde_json::json!({"deleted": request.name}))
            }
            _ => Err(unknown_operation("types", verb)),
        }
    }

    async fn system(&self, verb: &str, body: &[u8]) -> Result<Bytes, AdminError> {
        match verb {
            "info" => {
                let NoFields {} = AdminError::parse(body)?;
                json(&self.info().await?)
            }
            "health" => {
                let NoFields {} = AdminError::parse(body)?;
                json(&self.health().await)
            }
            _ => Err(unknown_operation("system", verb)),
        }
    }

    /// Refuses a URL no delivery could reach: `http://` under `https_only`, or an address
    /// literal the network rules block (names are checked when they resolve, at delivery);
    /// the same for an OAuth 2.0 token URL; and a client certificate that does not load.
    fn check_destination(
        &self,
        endpoint: &Endpoint,
        credentials: &Credentials,
    ) -> Result<(), AdminError> {
        self.sender
            .check_url(&endpoint.url, &endpoint.network)
            .map_err(|blocked| AdminError::invalid("url", blocked.message))?;
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

    async fn create(
        &self,
        tenant: &Tenant,
        request: CreateEndpoint,
    ) -> Result<CreatedEndpoint, AdminError> {
        let (endpoint, secret, credentials) = request.into_endpoint(
            tenant.clone(),
            new_endpoint_id(),
            Secret::generate(),
            chrono::Utc::now(),
        )?;
        self.engine
            .catalog
            .check_filters(tenant, &endpoint.event_types)?;
        self.check_destination(&endpoint, &credentials)?;
        let record = EndpointRecord {
            endpoint: endpoint.clone(),
            secrets: vec![SecretEntry::current(secret.expose())],
            credentials,
        };
        let key = registry::endpoint_key(tenant, &endpoint.id);
        let stored = record
            .seal(self.engine.registry.keyring())
            .map_err(internal)?;
        let value = serde_json::to_vec(&stored).map_err(internal)?;
        let revision = match self.engine.bucket.create(key.as_str(), value.into()).await {
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
        self.follow_up(&endpoint);
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
        self.engine
            .registry
            .get(tenant, id)
            .map(|live| live.endpoint.clone())
            .ok_or_else(|| not_found(id))
    }

    fn list(&self, tenant: &Tenant, request: &ListEndpoints) -> Result<EndpointPage, AdminError> {
        let limit = page_limit(request.limit)?;
        let (endpoints, next_cursor) =
            self.engine
                .registry
                .page(tenant, request.cursor.as_deref(), limit);
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
        let revision = self
            .engine
            .registry
            .modify(&self.engine.bucket, tenant, &id, |record| {
                let (next, credentials) = request.clone().apply(
                    &record.endpoint,
                    &record.credentials,
                    chrono::Utc::now(),
                )?;
                if request.event_types.is_some() {
                    self.engine
                        .catalog
                        .check_filters(tenant, &next.event_types)?;
                }
                self.check_destination(&next, &credentials)?;
                record.endpoint = next;
                record.credentials = credentials;
                Ok(())
            })
            .await
            .map_err(write_error)?;
        self.applied(revision).await;
        let endpoint = self.lookup(tenant, &id)?;
        self.follow_up(&endpoint);
        Ok(endpoint)
    }

    async fn delete(&self, tenant: &Tenant, id: &str) -> Result<(), AdminError> {
        self.lookup(tenant, id)?;
        let key = registry::endpoint_key(tenant, id);
        self.engine
            .bucket
            .delete(key.as_str())
            .await
            .map_err(|e| unavailable(&e))?;
        if !self
            .engine
            .registry
            .wait_until_gone(tenant, id, APPLY_TIMEOUT)
            .await
        {
            tracing::warn!(id, "a delete was not applied locally in time");
        }
        Ok(())
    }

    /// `deliveries.get`: one delivery's state and every attempt, from this instance's index.
    async fn delivery(
        &self,
        tenant: &Tenant,
        request: DeliveryId,
    ) -> Result<serde_json::Value, AdminError> {
        let store = self.store.clone();
        let tenant = tenant.clone();
        let (delivery, attempts) = tokio::task::spawn_blocking(move || {
            let delivery = store.delivery(&tenant, &request.endpoint_id, &request.event_id)?;
            let attempts = store.attempts(&tenant, &request.endpoint_id, &request.event_id)?;
            Ok::<_, crate::store::StoreError>((delivery, attempts))
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let delivery = delivery.ok_or_else(|| {
            AdminError::new(
                ErrorCode::NotFound,
                "no such delivery (yet: attempts are indexed within moments)",
            )
        })?;
        // The body every attempt sent wraps the event's data, read back from the stream.
        let event_data = events::data(&self.engine, delivery.event_seq).await;
        Ok(
            serde_json::json!({"delivery": delivery, "attempts": attempts, "event_data": event_data}),
        )
    }

    /// `endpoints.stats`: the last hour, day and week (in five-minute buckets).
    async fn stats(&self, tenant: &Tenant, id: &str) -> Result<serde_json::Value, AdminError> {
        self.lookup(tenant, id)?;
        let now = chrono::Utc::now().timestamp();
        let windows = [("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400)];
        let ranges: Vec<(i64, i64)> = windows
            .iter()
            .map(|(_, secs)| (now - secs, now + 1))
            .collect();
        let (store, owner, endpoint) = (self.store.clone(), tenant.clone(), id.to_owned());
        let sums = tokio::task::spawn_blocking(move || store.stats(&owner, &endpoint, &ranges))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        let summaries: serde_json::Map<String, serde_json::Value> = windows
            .iter()
            .zip(sums)
            .map(|((name, _), sum)| ((*name).to_owned(), sum.summary()))
            .collect();
        Ok(serde_json::json!({"endpoint_id": id, "windows": summaries}))
    }

    /// `deliveries.list`.
    async fn list_deliveries(
        &self,
        tenant: &Tenant,
        request: &ListDeliveries,
    ) -> Result<serde_json::Value, AdminError> {
        let query = request.query()?;
        let limit = page_limit(request.limit)?;
        let cursor = request
            .cursor
            .as_deref()
            .map(|c| {
                DeliveryCursor::decode(c).ok_or_else(|| {
                    AdminError::invalid("cursor", "not a cursor from a previous page")
                })
            })
            .transpose()?;
        let (store, owner) = (self.store.clone(), tenant.clone());
        let (deliveries, next) = tokio::task::spawn_blocking(move || {
            store.list_deliveries(&owner, &query, cursor.as_ref(), limit)
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        Ok(serde_json::json!({
            "deliveries": deliveries,
            "next_cursor": next.map(|c| c.encode()),
        }))
    }

    /// `deliveries.redeliver-failed`: every dead delivery of an endpoint since a time, sent
    /// again now (at most [`MAX_REDELIVER`] per request).
    async fn redeliver_failed(
        &self,
        tenant: &Tenant,
        request: &RedeliverFailed,
    ) -> Result<serde_json::Value, AdminError> {
        self.lookup(tenant, &request.endpoint_id)?;
        let query = ListDeliveries {
            endpoint_id: Some(request.endpoint_id.clone()),
            state: Some(Outcome::Dead),
            since: Some(request.since),
            ..ListDeliveries::default()
        }
        .query()?;
        let (store, owner) = (self.store.clone(), tenant.clone());
        let dead = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let (page, next) = store.list_deliveries(&owner, &query, cursor.as_ref(), 500)?;
                all.extend(page);
                match next {
                    Some(next) if all.len() < MAX_REDELIVER => cursor = Some(next),
                    _ => return Ok::<_, crate::store::StoreError>(all),
                }
            }
        })
        .await
        .map_err(internal)?
        .map_err(internal)?;
        let mut redelivered = 0;
        for delivery in dead.iter().take(MAX_REDELIVER) {
            crate::redeliver::redeliver(
                &self.engine,
                &self.store,
                tenant,
                &delivery.endpoint_id,
                &delivery.event_id,
            )
            .await?;
            redelivered += 1;
        }
        Ok(serde_json::json!({"redelivered": redelivered, "more": dead.len() > MAX_REDELIVER}))
    }

    /// `system.info`: version, configuration and the state of every stream and consumer.
    async fn info(&self) -> Result<serde_json::Value, AdminError> {
        let topology = &self.engine.topology;
        let mut streams = Vec::new();
        for name in [
            &topology.events,
            &topology.tasks,
            &topology.retry,
            &topology.dead,
            &topology.held,
            &topology.attempts,
        ] {
            let mut stream = self
                .engine
                .js
                .get_stream(name)
                .await
                .map_err(|e| unavailable(&e))?;
            let info = stream.info().await.map_err(|e| unavailable(&e))?;
            let (messages, bytes) = (info.state.messages, info.state.bytes);
            let mut consumers = Vec::new();
            let mut names = stream.consumer_names();
            while let Some(consumer) = names.next().await {
                let Ok(consumer) = consumer else { continue };
                if let Ok(info) = stream.consumer_info(&consumer).await {
                    consumers.push(serde_json::json!({
                        "name": consumer,
                        "pending": info.num_pending,
                        "ack_pending": info.num_ack_pending,
                        "redelivered": info.num_redelivered,
                    }));
                }
            }
            streams.push(serde_json::json!({"name": name, "messages": messages, "bytes": bytes, "consumers": consumers}));
        }
        Ok(serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "config": self.config,
            "config_revision": self.engine.registry.revision(),
            "streams": streams,
        }))
    }

    /// `system.health`: whether this instance can do its work.
    async fn health(&self) -> serde_json::Value {
        let connected =
            self.engine.client.connection_state() == async_nats::connection::State::Connected;
        let jetstream = self.engine.js.query_account().await.is_ok();
        let status = if connected && jetstream {
            "ok"
        } else {
            "degraded"
        };
        serde_json::json!({"status": status, "nats_connected": connected, "jetstream": jetstream, "config_revision": self.engine.registry.revision()})
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
        let endpoint = self.lookup(tenant, id)?;
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

    async fn rotate(
        &self,
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
        let revision = self
            .engine
            .registry
            .modify(&self.engine.bucket, tenant, &request.id, |stored| {
                stored.secrets = rotation::rotate_secret(&stored.secrets, new.expose(), now, grace)
                    .map_err(|e| AdminError::invalid("grace_secs", e.to_string()))?;
                stored.endpoint.updated_at = now;
                Ok(())
            })
            .await
            .map_err(write_error)?;
        self.applied(revision).await;
        let previous_expires_at = (grace > chrono::TimeDelta::zero()).then(|| now + grace);
        let data = serde_json::json!({"endpoint_id": request.id, "previous_expires_at": previous_expires_at});
        if let Err(e) = self
            .engine
            .publish_operational(tenant, "endpoint.secret_rotated", &data)
            .await
        {
            tracing::warn!(error = %e, "secret rotated, but its operational event was not published");
        }
        Ok(RotatedSecret {
            id: request.id,
            secret: new.expose(),
            previous_expires_at,
        })
    }

    async fn applied(&self, revision: u64) {
        if !self.engine.registry.wait_for(revision, APPLY_TIMEOUT).await {
            tracing::warn!(
                revision,
                "a configuration change was not applied locally in time"
            );
        }
    }
}

/// `deliveries.get`: one event for one endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryId {
    endpoint_id: String,
    event_id: String,
}

/// A request that takes only a page size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    limit: Option<u32>,
}

/// A request that takes no fields (`{}` or an empty body).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// A page size: 1–500, 100 when absent.
fn page_limit(limit: Option<u32>) -> Result<usize, AdminError> {
    match limit.unwrap_or(100) {
        n @ 1..=500 => Ok(usize::try_from(n).unwrap_or(100)),
        _ => Err(AdminError::invalid("limit", "must be 1 to 500")),
    }
}

/// A new endpoint id: `ep_` and 24 random lowercase letters and digits.
fn new_endpoint_id() -> String {
    crate::ids::random("ep_")
}

fn unknown_operation(noun: &str, verb: &str) -> AdminError {
    AdminError::new(
        ErrorCode::InvalidSubject,
        format!("unknown operation {noun}.{verb}"),
    )
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

/// A failure inside Hookwire, with what failed.
pub(crate) fn internal(e: impl std::fmt::Display) -> AdminError {
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
        WriteError::Vault(_) => internal(error),
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
        assert_eq!(a.len(), 27);
    }
}
