//! Sources (incoming webhooks): stored in the configuration bucket under
//! `sources.<tenant>.<name>` with their URL token and provider secret sealed; every instance
//! keeps them in memory (templates compiled, rate limiters built, looked up by token),
//! loaded at start and kept current by a watch, so the ingress answers without I/O
//! before the publish.

pub(crate) mod ingress;
pub(crate) mod stats;
pub(crate) mod transform;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_nats::jetstream::kv;
use base64::Engine as _;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::source::{
    CreateSource, CreatedSource, Source, SourceView, TestSource, TestedSource, UpdateSource,
    Verification, check_secret, validate_name,
};
use hookwire_protocol::{Secret, Subjects, Tenant, inbound};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use self::stats::Counters;
use self::transform::Template;
use crate::vault::{Keyring, Sealed, VaultError};

/// Bytes of randomness in a URL token (256 bits).
const TOKEN_BYTES: usize = 32;
/// The prefix of a URL token, so a leaked one is recognisable.
const TOKEN_PREFIX: &str = "hwin_";

/// A source as kept in the bucket: its public view and, sealed, the token and the provider
/// secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSource {
    /// What the admin API shows.
    pub source: Source,
    /// [`SourceSecrets`], sealed.
    pub sealed: Sealed,
}

/// What is sealed.
#[derive(Clone, Serialize, Deserialize)]
struct SourceSecrets {
    token: String,
    #[serde(default)]
    secret: String,
}

fn owner(source: &Source) -> String {
    format!("source:{}/{}", source.tenant, source.name)
}

fn key(tenant: &Tenant, name: &str) -> String {
    format!("{KIND}.{tenant}.{name}")
}

fn new_token() -> String {
    let mut bytes = [0_u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A secret for a scheme that needs one and was given none: a `whsec_` secret for
/// Standard Webhooks, 32 random bytes in hex otherwise. Stripe issues its own.
fn generate_secret(verification: &Verification) -> Result<String, AdminError> {
    match verification {
        Verification::Standard { .. } => Ok(Secret::generate().expose()),
        Verification::Stripe { .. } => Err(AdminError::invalid(
            "secret",
            "give the endpoint's signing secret Stripe shows (whsec_...)",
        )),
        _ => {
            let mut bytes = [0_u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            Ok(hex::encode(bytes))
        }
    }
}

/// A source ready to take requests.
pub(crate) struct LiveSource {
    /// The source.
    pub source: Source,
    /// The provider secret.
    secret: String,
    token: String,
    template: Option<Template>,
    limiter: DefaultDirectRateLimiter,
}

impl LiveSource {
    fn new(source: Source, secrets: SourceSecrets) -> Result<Self, String> {
        let template = source
            .transform
            .as_deref()
            .map(Template::compile)
            .transpose()?;
        let per_minute = NonZeroU32::new(source.rate_limit_per_minute).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
            source,
            secret: secrets.secret,
            token: secrets.token,
            template,
        })
    }

    /// Verifies a request by the source's scheme.
    pub(crate) fn verify<'a>(
        &self,
        header: impl Fn(&str) -> Option<&'a str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), inbound::Rejection> {
        inbound::verify(&self.source.verification, &self.secret, header, body, now)
    }

    /// Takes one request from the rate limit, or says how long until one is allowed.
    pub(crate) fn admit(&self) -> Result<(), Duration> {
        self.limiter.check().map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    /// The event type, `Nats-Msg-Id` and payload a verified request publishes.
    pub(crate) fn prepare<'a>(
        &self,
        header: impl Fn(&str) -> Option<&'a str> + Copy,
        bytes: &[u8],
        request: &PreparedRequest<'_>,
    ) -> Result<Prepared, String> {
        self.prepare_with(self.template.as_ref(), header, bytes, request)
    }

    /// [`Self::prepare`] with `template` instead of the source's own.
    fn prepare_with<'a>(
        &self,
        template: Option<&Template>,
        header: impl Fn(&str) -> Option<&'a str> + Copy,
        bytes: &[u8],
        request: &PreparedRequest<'_>,
    ) -> Result<Prepared, String> {
        // A provider posting its JSON inside a form field (Travis CI) is read as that JSON.
        let inner = self
            .source
            .verification
            .json_form_field()
            .and_then(|field| inbound::form_field(bytes, field))
            .filter(|json| serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok());
        let (bytes, content_type) = match &inner {
            Some(json) => (json.as_bytes(), Some("application/json")),
            None => (bytes, request.content_type),
        };
        let body = transform::read_body(bytes, content_type);
        let parsed = (body.is_json || body.value.is_object()).then_some(&body.value);
        let event_type = inbound::event_type(&self.source, header, parsed);
        let msg_id = inbound::delivery_id(&self.source, header, parsed);
        let payload = match template {
            None => transform::default_payload(bytes, content_type, &body),
            Some(template) => template.render(
                &body,
                &transform::Request {
                    headers: request.headers,
                    query: request.query,
                    content_type,
                    source: &self.source.name,
                    event_type: &event_type,
                },
            )?,
        };
        Ok(Prepared {
            subject: format!("{}.{event_type}", self.source.subject),
            event_type,
            msg_id,
            payload: payload.into(),
        })
    }

    /// The admin view.
    #[must_use]
    pub(crate) fn view(&self, public_url: Option<&str>) -> SourceView {
        view(&self.source, &self.token, public_url)
    }
}

fn view(source: &Source, token: &str, public_url: Option<&str>) -> SourceView {
    let path = format!("/in/{token}");
    SourceView {
        url: public_url.map(|base| format!("{}{path}", base.trim_end_matches('/'))),
        source: source.clone(),
        path,
    }
}

/// The parts of a request a payload is made from besides its body.
pub(crate) struct PreparedRequest<'a> {
    /// Headers, lowercase names.
    pub headers: &'a BTreeMap<String, String>,
    /// Query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// The content type sent.
    pub content_type: Option<&'a str>,
}

/// What a request publishes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    /// `<source subject>.<type>`.
    pub subject: String,
    /// The event type.
    pub event_type: String,
    /// The de-duplication id.
    pub msg_id: Option<String>,
    /// The payload (JSON).
    pub payload: bytes::Bytes,
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<(Tenant, String), Arc<LiveSource>>,
    by_token: HashMap<String, Arc<LiveSource>>,
    stale: HashSet<(Tenant, String)>,
    unopened: HashMap<(Tenant, String), String>,
}

/// Every tenant's sources, shared by the ingress and the admin API.
pub(crate) struct Sources {
    inner: RwLock<Inner>,
    counters: Mutex<HashMap<(Tenant, String), Arc<Counters>>>,
    keyring: Arc<Keyring>,
    subjects: Subjects,
    public_url: Option<String>,
}

impl Sources {
    /// No sources yet; secrets open with `keyring`; views show URLs on `public_url`.
    #[must_use]
    pub(crate) fn new(
        keyring: Arc<Keyring>,
        subjects: Subjects,
        public_url: Option<String>,
    ) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            counters: Mutex::new(HashMap::new()),
            keyring,
            subjects,
            public_url,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The source a URL token belongs to.
    #[must_use]
    pub(crate) fn by_token(&self, token: &str) -> Option<Arc<LiveSource>> {
        self.read().by_token.get(token).cloned()
    }

    /// One source.
    #[must_use]
    pub(crate) fn get(&self, tenant: &Tenant, name: &str) -> Option<Arc<LiveSource>> {
        self.read()
            .by_name
            .get(&(tenant.clone(), name.to_owned()))
            .cloned()
    }

    /// A source's counters on this instance.
    pub(crate) fn counters(&self, tenant: &Tenant, name: &str) -> Arc<Counters> {
        let mut counters = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            counters
                .entry((tenant.clone(), name.to_owned()))
                .or_default(),
        )
    }

    /// The configured public base URL.
    #[must_use]
    pub(crate) fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// Sources sealed under a previous key.
    #[must_use]
    pub(crate) fn stale_seals(&self) -> Vec<(Tenant, String)> {
        self.read().stale.iter().cloned().collect()
    }

    /// Why stored sources are not served here, one line each.
    #[must_use]
    pub(crate) fn unopened(&self) -> Vec<String> {
        self.read()
            .unopened
            .iter()
            .map(|((tenant, name), reason)| format!("source {tenant}/{name}: {reason}"))
            .collect()
    }

    fn apply(&self, tenant: &Tenant, name: &str, stored: Option<&StoredSource>) {
        let key = (tenant.clone(), name.to_owned());
        let live = stored.map(|stored| {
            let secrets: SourceSecrets = self
                .keyring
                .open(&stored.sealed, &owner(&stored.source))
                .map_err(|e| e.to_string())?;
            LiveSource::new(stored.source.clone(), secrets)
        });
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = inner.by_name.remove(&key) {
            inner.by_token.remove(&old.token);
        }
        inner.unopened.remove(&key);
        inner.stale.remove(&key);
        match live {
            None => {
                self.counters
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .remove(&key);
            }
            Some(Err(reason)) => {
                tracing::error!(%tenant, name, error = %reason, "source not served: its secrets do not open or its template does not compile");
                inner.unopened.insert(key, reason);
            }
            Some(Ok(live)) => {
                if stored.is_some_and(|s| !self.keyring.is_current(&s.sealed)) {
                    inner.stale.insert(key.clone());
                }
                let live = Arc::new(live);
                inner.by_token.insert(live.token.clone(), Arc::clone(&live));
                inner.by_name.insert(key, live);
            }
        }
    }

    /// A tenant's sources in name order.
    #[must_use]
    pub(crate) fn list(&self, tenant: &Tenant) -> Vec<SourceView> {
        let inner = self.read();
        let mut views: Vec<SourceView> = inner
            .by_name
            .iter()
            .filter(|((t, _), _)| t == tenant)
            .map(|(_, live)| live.view(self.public_url()))
            .collect();
        views.sort_by(|a, b| a.source.name.cmp(&b.source.name));
        views
    }
}

/// The first token of the bucket keys of this kind of configuration.
pub(crate) const KIND: &str = "sources";

/// Loads every source in the bucket, then follows changes forever; the receiver
/// tells the bucket revision applied.
pub(crate) async fn load_and_follow(
    bucket: kv::Store,
    sources: Arc<Sources>,
    bucket_stream_seq: u64,
) -> Result<tokio::sync::watch::Receiver<u64>, async_nats::Error> {
    crate::watched::load_and_follow(
        bucket,
        KIND,
        bucket_stream_seq,
        move |tenant, name, stored: Option<StoredSource>| {
            sources.apply(&tenant, name, stored.as_ref());
        },
    )
    .await
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("the configuration bucket did not answer", e)
}

fn not_found(name: &str) -> AdminError {
    AdminError::not_found(format!(
        "no source {name} in this tenant; `sources.list` shows its sources"
    ))
}

fn vault_error(e: &VaultError) -> AdminError {
    AdminError::internal("opening or sealing the source's secrets", e)
}

/// A source opened for changing.
struct Opened {
    source: Source,
    secrets: SourceSecrets,
    revision: u64,
}

impl Sources {
    async fn open_stored(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        name: &str,
    ) -> Result<Opened, AdminError> {
        let name = validate_name(name)?;
        let entry = bucket
            .entry(key(tenant, &name).as_str())
            .await
            .map_err(unavailable)?
            .filter(|e| e.operation == kv::Operation::Put)
            .ok_or_else(|| not_found(&name))?;
        let stored: StoredSource = serde_json::from_slice(&entry.value)
            .map_err(|e| AdminError::internal(&format!("reading source {name}"), e))?;
        let secrets = self
            .keyring
            .open(&stored.sealed, &owner(&stored.source))
            .map_err(|e| vault_error(&e))?;
        Ok(Opened {
            source: stored.source,
            secrets,
            revision: entry.revision,
        })
    }

    /// Seals and writes a source (`revision` `None` creates), then applies it here so the
    /// caller reads its own write.
    async fn write(
        &self,
        bucket: &kv::Store,
        source: &Source,
        secrets: &SourceSecrets,
        revision: Option<u64>,
    ) -> Result<(), AdminError> {
        // A template that does not compile is refused at save, not found at the first request.
        if let Some(template) = &source.transform {
            Template::compile(template).map_err(|e| AdminError::invalid("transform", e))?;
        }
        let stored = StoredSource {
            source: source.clone(),
            sealed: self
                .keyring
                .seal(secrets, &owner(source))
                .map_err(|e| vault_error(&e))?,
        };
        let value = serde_json::to_vec(&stored)
            .map_err(|e| AdminError::internal("encoding the source", e))?;
        let key = key(&source.tenant, &source.name);
        match revision {
            None => bucket
                .create(key.as_str(), value.into())
                .await
                .map(|_| ())
                .map_err(|e| {
                    if e.kind() == kv::CreateErrorKind::AlreadyExists {
                        AdminError::conflict(format!(
                            "source {} exists already; update it",
                            source.name
                        ))
                    } else {
                        unavailable(e)
                    }
                }),
            Some(revision) => bucket
                .update(key.as_str(), value.into(), revision)
                .await
                .map(|_| ())
                .map_err(|e| {
                    AdminError::conflict(format!(
                        "source {} changed concurrently ({e}); retry",
                        source.name
                    ))
                }),
        }?;
        self.apply(&source.tenant, &source.name, Some(&stored));
        Ok(())
    }

    /// `sources.create`.
    pub(crate) async fn create(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        request: CreateSource,
    ) -> Result<CreatedSource, AdminError> {
        let given = request.secret.clone();
        let source = request.into_source(tenant.clone(), &self.subjects, chrono::Utc::now())?;
        let (secret, generated) = secret_for(&source.verification, given, None)?;
        let secrets = SourceSecrets {
            token: new_token(),
            secret,
        };
        self.write(bucket, &source, &secrets, None).await?;
        Ok(CreatedSource {
            view: view(&source, &secrets.token, self.public_url()),
            secret: generated,
        })
    }

    /// `sources.update`: a new scheme keeps the secret when it suits the scheme, else needs
    /// (or, where it can be, generates) one.
    pub(crate) async fn update(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        request: UpdateSource,
    ) -> Result<CreatedSource, AdminError> {
        let mut opened = self.open_stored(bucket, tenant, &request.name).await?;
        let given = request.secret.clone();
        let next = request.apply(&opened.source, &self.subjects, chrono::Utc::now())?;
        let current = Some(opened.secrets.secret.as_str()).filter(|s| !s.is_empty());
        let (secret, generated) = secret_for(&next.verification, given, current)?;
        opened.secrets.secret = secret;
        self.write(bucket, &next, &opened.secrets, Some(opened.revision))
            .await?;
        Ok(CreatedSource {
            view: view(&next, &opened.secrets.token, self.public_url()),
            secret: generated,
        })
    }

    /// `sources.rotate-token`: a new URL; the old one stops working at once.
    pub(crate) async fn rotate_token(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        name: &str,
    ) -> Result<SourceView, AdminError> {
        let mut opened = self.open_stored(bucket, tenant, name).await?;
        opened.secrets.token = new_token();
        opened.source.updated_at = chrono::Utc::now();
        self.write(
            bucket,
            &opened.source,
            &opened.secrets,
            Some(opened.revision),
        )
        .await?;
        Ok(view(
            &opened.source,
            &opened.secrets.token,
            self.public_url(),
        ))
    }

    /// Rewrites a source under the current key (after a key rotation).
    pub(crate) async fn reseal(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        name: &str,
    ) -> Result<(), AdminError> {
        let opened = self.open_stored(bucket, tenant, name).await?;
        self.write(
            bucket,
            &opened.source,
            &opened.secrets,
            Some(opened.revision),
        )
        .await
    }

    /// `sources.delete`.
    pub(crate) async fn delete(
        &self,
        bucket: &kv::Store,
        tenant: &Tenant,
        name: &str,
    ) -> Result<(), AdminError> {
        let name = validate_name(name)?;
        if self.get(tenant, &name).is_none()
            && !self
                .read()
                .unopened
                .contains_key(&(tenant.clone(), name.clone()))
        {
            return Err(not_found(&name));
        }
        bucket
            .delete(key(tenant, &name).as_str())
            .await
            .map_err(unavailable)?;
        self.apply(tenant, &name, None);
        Ok(())
    }

    /// `sources.get`.
    pub(crate) fn view_of(&self, tenant: &Tenant, name: &str) -> Result<SourceView, AdminError> {
        let name = validate_name(name)?;
        self.get(tenant, &name)
            .map(|live| live.view(self.public_url()))
            .ok_or_else(|| not_found(&name))
    }

    /// `sources.test`: what a request would publish (no verification, nothing published).
    pub(crate) fn test(
        &self,
        tenant: &Tenant,
        request: &TestSource,
    ) -> Result<TestedSource, AdminError> {
        let name = validate_name(&request.name)?;
        let live = self.get(tenant, &name).ok_or_else(|| not_found(&name))?;
        let (bytes, default_type) = match &request.body {
            serde_json::Value::String(text) => (text.clone().into_bytes(), "text/plain"),
            other => (
                serde_json::to_vec(other)
                    .map_err(|e| AdminError::internal("encoding the sample body", e))?,
                "application/json",
            ),
        };
        let headers: BTreeMap<String, String> = request
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let content_type = request
            .content_type
            .as_deref()
            .or_else(|| headers.get("content-type").map(String::as_str))
            .unwrap_or(default_type);
        let prepared_request = PreparedRequest {
            headers: &headers,
            query: &request.query,
            content_type: Some(content_type),
        };
        let header = |name: &str| headers.get(name).map(String::as_str);
        let draft = request
            .transform
            .as_deref()
            .map(Template::compile)
            .transpose()
            .map_err(|e| AdminError::invalid("transform", e))?;
        let template = draft.as_ref().or(live.template.as_ref());
        let prepared = live
            .prepare_with(template, header, &bytes, &prepared_request)
            .map_err(|e| AdminError::invalid("transform", e))?;
        Ok(TestedSource {
            subject: prepared.subject,
            event_type: prepared.event_type,
            msg_id: prepared.msg_id,
            payload: serde_json::from_slice(&prepared.payload)
                .map_err(|e| AdminError::internal("reading the transformed payload", e))?,
        })
    }
}

/// The secret a source keeps: the one given (checked), else the current one if it suits the
/// scheme, else a generated one (returned second, to show once).
fn secret_for(
    verification: &Verification,
    given: Option<String>,
    current: Option<&str>,
) -> Result<(String, Option<String>), AdminError> {
    if !verification.needs_secret() {
        return match given {
            Some(_) => Err(AdminError::invalid(
                "secret",
                format!("the scheme {} takes no secret", verification.name()),
            )),
            None => Ok((current.unwrap_or_default().to_owned(), None)),
        };
    }
    if let Some(secret) = given {
        check_secret(verification, &secret)?;
        return Ok((secret, None));
    }
    if let Some(current) = current
        && check_secret(verification, current).is_ok()
    {
        return Ok((current.to_owned(), None));
    }
    let generated = generate_secret(verification)?;
    Ok((generated.clone(), Some(generated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn secrets_are_kept_checked_or_generated_per_scheme() {
        let github = Verification::Github;
        let (kept, shown) = secret_for(&github, None, Some("an-existing-secret")).unwrap();
        assert_eq!((kept.as_str(), shown), ("an-existing-secret", None));
        let (generated, shown) = secret_for(&github, None, None).unwrap();
        assert_eq!(shown.as_deref(), Some(generated.as_str()));
        assert_eq!(generated.len(), 64);
        let standard = Verification::Standard {
            tolerance_secs: 300,
        };
        let (whsec, _) = secret_for(&standard, None, Some("an-existing-secret")).unwrap();
        assert!(
            whsec.starts_with("whsec_"),
            "a non-whsec secret is replaced"
        );
        let stripe = Verification::Stripe {
            tolerance_secs: 300,
        };
        assert_eq!(
            secret_for(&stripe, None, None)
                .unwrap_err()
                .field
                .as_deref(),
            Some("secret")
        );
        assert!(secret_for(&Verification::None, Some("x".repeat(20)), None).is_err());
        assert!(secret_for(&github, Some("short".into()), None).is_err());
    }
}
