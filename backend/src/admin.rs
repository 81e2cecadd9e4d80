//! The admin API over NATS request/reply, in the `hookwire` micro service: every operation
//! of the protocol's table ([`hookwire_protocol::operation`]) on
//! `<prefix>.admin.<tenant>.<noun>.<verb>`, and an answer naming the valid operations for
//! any other admin subject.
//!
//! A request is read into its operation's request type, handled by that operation's
//! [`Handler`] (one file per noun), and answered with its reply type. Changes and sends are
//! audited before the reply goes out. Writes go through the configuration bucket and
//! answer once applied by every instance ([`crate::barrier`]), so a caller reads its own
//! writes whichever instance it asks next, and events published after the answer see them.

mod audit;
mod dead_letters;
mod deliveries;
mod endpoints;
mod events;
mod keys;
mod ordered;
mod overview;
mod replay;
mod sources;
mod system;
mod templates;
mod types;

use std::sync::Arc;
use std::time::Duration;

use async_nats::service::{Request, Service};
use bytes::Bytes;
use futures_util::StreamExt as _;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, ErrorCode};
use hookwire_protocol::audit::{AuditRecord, REQUEST_INFO_HEADER, REQUESTER_HEADER, Requester};
use hookwire_protocol::operation::{Effect, Op, Operation, ops};

use crate::delivery::http::Sender;
use crate::engine::Engine;
use crate::store::Store;

/// How long a write waits to be applied locally before answering anyway.
const APPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// The queue group answering subjects that name no operation. It differs from the micro
/// service's, so every request also reaches one such listener, which lets operations pass.
const UNKNOWN_OPERATION_GROUP: &str = "hookwire-unknown-operation";

/// What the handlers share.
pub(crate) struct Admin {
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    config: serde_json::Value,
}

/// Serves one operation: `Self::Request` in, `Self::Reply` out. Every operation of the
/// protocol's table has one; the dispatch below does not compile without it.
pub(crate) trait Handler: Operation {
    /// Handles `request` for `tenant`.
    fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Reply, AdminError>> + Send;
}

/// The dispatch from [`Op`] to each operation's [`Handler`], generated from the table.
macro_rules! dispatch {
    ($($(#[$doc:meta])* $name:ident = $noun:literal $verb:literal: $request:ty => $reply:ty, $effect:ident;)*) => {
        impl Admin {
            async fn dispatch(&self, op: Op, tenant: &Tenant, body: &[u8]) -> Result<Bytes, AdminError> {
                match op {
                    $(Op::$name => self.serve::<ops::$name>(tenant, body).await,)*
                }
            }
        }
    };
}
hookwire_protocol::admin_operations!(dispatch);

impl Admin {
    /// Handlers working on `engine`'s endpoints and `store`'s index, reaching receivers
    /// through `sender`; `config` is what `system.info` shows (secrets are never serialized).
    #[must_use]
    pub(crate) fn new(
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

    async fn serve<O: Handler>(&self, tenant: &Tenant, body: &[u8]) -> Result<Bytes, AdminError> {
        let request: O::Request = AdminError::parse(body)?;
        let reply = O::handle(self, tenant, request).await?;
        serde_json::to_vec(&reply)
            .map(Bytes::from)
            .map_err(|e| AdminError::internal(&format!("encoding the {} reply", O::OP), e))
    }

    async fn handle(&self, request: Request) {
        let subject = self
            .engine
            .topology
            .subjects
            .parse_admin(&request.message.subject);
        let result = match subject {
            Ok(subject) => match Op::find(&subject.noun, &subject.verb) {
                Some(op) => {
                    let payload = &request.message.payload;
                    let result = self.dispatch(op, &subject.tenant, payload).await;
                    if op.effect() == Effect::Configure && result.is_ok() {
                        crate::barrier::everywhere(&self.engine).await;
                    }
                    if op.effect().audited() {
                        self.audit(&request.message, op, &subject.tenant, &result)
                            .await;
                    }
                    result
                }
                None => Err(AdminError::new(
                    ErrorCode::InvalidSubject,
                    Op::unknown(&subject.noun, &subject.verb),
                )),
            },
            Err(e) => Err(AdminError::new(ErrorCode::InvalidSubject, e.to_string())),
        };
        let (body, headers) = reply(result);
        // The error travels in our own body and headers (the micro library would send an
        // empty body), so the reply is always sent as a success at the library level.
        if let Err(e) = request.respond_with_headers(Ok(body), headers).await {
            tracing::warn!(error = %e, "cannot send an admin reply");
        }
    }

    /// Records an admin change (or attempt at one) before its reply goes out.
    async fn audit(
        &self,
        message: &async_nats::Message,
        op: Op,
        tenant: &Tenant,
        result: &Result<Bytes, AdminError>,
    ) {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(async_nats::HeaderValue::as_str)
        };
        let (outcome, detail, reply) = match result {
            Ok(reply) => ("ok".to_owned(), None, Some(reply.as_ref())),
            Err(error) => (
                error.code.as_str().to_owned(),
                Some(error.message.clone()),
                None,
            ),
        };
        let record = AuditRecord {
            at: chrono::Utc::now(),
            tenant: tenant.clone(),
            action: op.action().to_owned(),
            target: hookwire_protocol::audit::target_of(&message.payload, reply),
            outcome,
            detail,
            requester: Requester::from_headers(
                header(REQUEST_INFO_HEADER),
                header(REQUESTER_HEADER),
            ),
        };
        crate::audit::write(&self.engine, &record).await;
    }

    /// Waits until this instance has applied configuration `revision`.
    async fn applied(&self, revision: u64) {
        if !self.engine.registry.wait_for(revision, APPLY_TIMEOUT).await {
            tracing::warn!(
                revision,
                "a configuration change was not applied locally in time"
            );
        }
    }
}

/// `not_found` for an endpoint id, worded alike wherever an endpoint is looked up.
pub(crate) fn endpoint_not_found(id: &str) -> AdminError {
    AdminError::not_found(format!(
        "no endpoint {id} in this tenant; `endpoints.list` shows its endpoints"
    ))
}

/// `not_found` for a delivery not (yet) in the index.
pub(crate) fn delivery_not_found() -> AdminError {
    AdminError::not_found(
        "no such delivery (yet: attempts are indexed within moments of being made)",
    )
}

/// The reply body and headers for a result: the error body and the NATS micro error
/// headers on failure.
fn reply(result: Result<Bytes, AdminError>) -> (Bytes, async_nats::HeaderMap) {
    let mut headers = async_nats::HeaderMap::new();
    match result {
        Ok(body) => (body, headers),
        Err(error) => {
            if error.code == ErrorCode::Internal {
                tracing::error!(error = %error.message, "an admin request failed inside hookwired");
            }
            headers.insert("Nats-Service-Error", error.message.as_str());
            headers.insert(
                "Nats-Service-Error-Code",
                error.code.status().to_string().as_str(),
            );
            let body = serde_json::to_vec(&error.to_body()).unwrap_or_default();
            (Bytes::from(body), headers)
        }
    }
}

/// Adds every admin operation to `service`, and a listener answering admin subjects that
/// name no operation; the returned tasks serve them until the service stops.
///
/// The listener has a connection of its own (made with `settings`): its subscription
/// overlaps the service's, and a connection that receives a request twice has its reply
/// refused by nats-server under `allow_responses` (the per-tenant accounts set-up; the
/// tenants test shows it).
pub(crate) async fn start(
    service: &Service,
    admin: Arc<Admin>,
    settings: &hookwire_nats::connect::Settings,
) -> Result<tokio::task::JoinSet<()>, async_nats::Error> {
    let mut tasks = tokio::task::JoinSet::new();
    let subjects = &admin.engine.topology.subjects;
    for op in Op::ALL {
        let mut endpoint = service
            .endpoint_builder()
            .name(format!("{}-{}", op.noun(), op.verb()))
            .add(subjects.admin_any_tenant(op.noun(), op.verb())?)
            .await?;
        let admin = Arc::clone(&admin);
        tasks.spawn(async move {
            while let Some(request) = endpoint.next().await {
                let admin = Arc::clone(&admin);
                tokio::spawn(async move { admin.handle(request).await });
            }
        });
    }
    let catch_all = settings
        .connect(
            "hookwired (unknown admin operations)",
            hookwire_nats::connect::InitialConnect::Retry,
        )
        .await?;
    let mut unknown = catch_all
        .queue_subscribe(subjects.admin_all(), UNKNOWN_OPERATION_GROUP.to_owned())
        .await?;
    // Ready means answering: the server must have the subscription.
    catch_all.flush().await?;
    let subjects = subjects.clone();
    tasks.spawn(async move {
        while let Some(message) = unknown.next().await {
            answer_unknown(&catch_all, &subjects, message).await;
        }
    });
    Ok(tasks)
}

/// Answers a request to an admin subject that names no operation with `invalid_subject`
/// and the valid operations; requests to operations are the service's to answer.
async fn answer_unknown(
    client: &async_nats::Client,
    subjects: &hookwire_protocol::Subjects,
    message: async_nats::Message,
) {
    let Some(reply_to) = message.reply.clone() else {
        return;
    };
    // The service listens on `<prefix>.admin.*.<noun>.<verb>` for every operation: any such
    // subject is its to answer, even with an invalid tenant.
    let tokens: Vec<&str> = message.subject.split('.').collect();
    if let [.., _, noun, verb] = tokens[..]
        && tokens.len() == subjects.prefix().split('.').count() + 4
        && Op::find(noun, verb).is_some()
    {
        return;
    }
    let error = match subjects.parse_admin(&message.subject) {
        Ok(subject) => Op::unknown(&subject.noun, &subject.verb),
        Err(e) => format!(
            "{e}; admin subjects are {}.admin.<tenant>.<noun>.<verb>",
            subjects.prefix()
        ),
    };
    let (body, headers) = reply(Err(AdminError::new(ErrorCode::InvalidSubject, error)));
    if let Err(e) = client.publish_with_headers(reply_to, headers, body).await {
        tracing::warn!(error = %e, "cannot answer a request for an unknown admin operation");
    }
}
