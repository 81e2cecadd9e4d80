//! Endpoints on the wire: the admin requests that create and change them, the view every
//! reply shows, and the validation that guards both (pure: the caller supplies ids and time).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::attempt::MAX_BODY_EXCERPT;
use crate::auth::{Auth, AuthView, CertificateView, ClientCertificate, Credentials};
use crate::content_filter::ContentFilter;
use crate::filter::EventTypeFilter;
use crate::network::{NetworkRules, parse_networks};
use crate::schemes::{GITHUB_HEADER, SignatureScheme};
use crate::signing::Secret;
use crate::slo::Slo;
use crate::subject::{Tenant, validate_token};
use crate::template::TemplatePin;

/// Attempt timeout when none is given.
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;
/// The longest attempt timeout an endpoint may ask for.
pub const MAX_TIMEOUT_MS: u32 = 60_000;
/// The shortest attempt timeout an endpoint may ask for.
pub const MIN_TIMEOUT_MS: u32 = 100;
/// The most retries a custom schedule may have.
pub const MAX_RETRIES: usize = 16;
/// The longest single retry delay.
pub const MAX_RETRY_DELAY_SECS: u32 = 24 * 60 * 60;
const MAX_URL_LEN: usize = 2048;
const MAX_DESCRIPTION_LEN: usize = 1024;
const MAX_FILTERS: usize = 64;
const MAX_HEADERS: usize = 32;
const MAX_HEADER_BYTES: usize = 8 * 1024;
const MAX_ID_LEN: usize = 64;
/// The highest per-endpoint rate limit.
pub const MAX_RATE_PER_SEC: u32 = 10_000;
/// The highest per-endpoint concurrency limit.
pub const MAX_IN_FLIGHT: u32 = 1_000;

/// Headers Hookwire sets itself; an endpoint may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    GITHUB_HEADER,
    "content-type",
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "user-agent",
];

/// How an endpoint's large bodies travel: gzip-compressed with `Content-Encoding: gzip`.
/// Signatures cover the uncompressed body, which is what a receiver's framework hands on
/// after decompressing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compression {
    /// Bodies of at least this many bytes are compressed (0: every body).
    pub min_bytes: u32,
}

impl Compression {
    /// The largest threshold: above the largest event, so larger would mean never.
    pub const MAX_MIN_BYTES: u32 = 16 * 1024 * 1024;

    fn validate(self) -> Result<Self, AdminError> {
        if self.min_bytes > Self::MAX_MIN_BYTES {
            return Err(AdminError::invalid(
                "compression",
                "min_bytes: at most 16777216; remove compression to send bodies as they are",
            ));
        }
        Ok(self)
    }

    /// Whether a body of `len` bytes is compressed.
    #[must_use]
    pub fn applies(self, len: usize) -> bool {
        u32::try_from(len).map_or(true, |len| len >= self.min_bytes)
    }
}

/// How an endpoint's events are sent: one request per event (`single`, the default) or
/// several events per request (`batch`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DeliveryMode {
    /// One request per event.
    #[default]
    Single,
    /// Up to `max_events` events per request, as a JSON array.
    Batch(BatchSettings),
    /// The events of one key one after the other: the next is sent once the one before
    /// was delivered or moved aside (dead-lettered or skipped).
    Ordered(OrderSettings),
}

/// How ordered delivery finds an event's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// `{"header": "Order-Id"}` (a NATS header of the event) or `{"pointer": "/order_id"}`
    /// (a JSON Pointer into its data).
    pub key: OrderKey,
    /// Batched per key: a request carries up to this many of the key's events that wait
    /// behind the one going (in order; retried and settled as a unit). None: one per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<KeyBatch>,
}

/// How many of a key's waiting events one request of an ordered endpoint carries. A key's
/// batch is what waits when its turn comes (nothing waits for more: that would hold the
/// key), so batches fill when events come faster than the receiver takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBatch {
    /// Most events per request, 1–1000 (default 100).
    #[serde(default = "BatchSettings::default_max_events")]
    pub max_events: u32,
    /// Most bytes of event data per request, 1 KiB–16 MiB (default 1 MiB); an event larger
    /// than this goes alone.
    #[serde(default = "BatchSettings::default_max_bytes")]
    pub max_bytes: u32,
}

impl Default for KeyBatch {
    fn default() -> Self {
        Self {
            max_events: BatchSettings::default_max_events(),
            max_bytes: BatchSettings::default_max_bytes(),
        }
    }
}

impl OrderSettings {
    fn validate(self) -> Result<Self, AdminError> {
        self.key.validate()?;
        if let Some(batch) = self.batch {
            BatchSettings {
                max_events: batch.max_events,
                max_bytes: batch.max_bytes,
                max_wait_ms: 0,
            }
            .validate()?;
        }
        Ok(self)
    }
}

/// Where an event's ordering key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKey {
    /// A NATS header of the event.
    Header(String),
    /// A JSON Pointer into the event's data.
    Pointer(String),
}

/// `header:NAME` or `pointer:/PATH`, as the CLI and console take it.
impl std::str::FromStr for OrderKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some(("header", name)) => Ok(Self::Header(name.to_owned())),
            Some(("pointer", path)) => Ok(Self::Pointer(path.to_owned())),
            _ => Err(format!(
                "{text:?} is not header:NAME or pointer:/PATH (e.g. pointer:/order_id)"
            )),
        }
    }
}

impl std::fmt::Display for OrderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Pointer(path) => write!(f, "pointer:{path}"),
        }
    }
}

impl OrderKey {
    fn validate(&self) -> Result<(), AdminError> {
        let field = "delivery.key";
        match self {
            Self::Header(name) if !crate::headers::is_token(name) || name.len() > 128 => Err(
                AdminError::invalid(field, format!("{name:?} is not a header name")),
            ),
            Self::Pointer(path) => crate::content_filter::check_pointer(path)
                .map_err(|why| AdminError::invalid(field, why)),
            Self::Header(_) => Ok(()),
        }
    }

    /// An event's key: the header's value, or the value at the pointer (a string as it is,
    /// anything else as its JSON text); empty when the event has none (those events share
    /// one order).
    #[must_use]
    pub fn of(&self, header: impl FnOnce(&str) -> Option<String>, data: &[u8]) -> String {
        match self {
            Self::Header(name) => header(name).unwrap_or_default(),
            Self::Pointer(path) => serde_json::from_slice::<serde_json::Value>(data)
                .ok()
                .and_then(|value| {
                    value.pointer(path).map(|v| match v {
                        serde_json::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                })
                .unwrap_or_default(),
        }
    }
}

impl DeliveryMode {
    /// Whether this is the default, one request per event.
    #[must_use]
    pub fn is_single(&self) -> bool {
        *self == Self::Single
    }

    /// Whether events go in order per key.
    #[must_use]
    pub fn is_ordered(&self) -> bool {
        matches!(self, Self::Ordered(_))
    }

    fn validate(self) -> Result<Self, AdminError> {
        match self {
            Self::Single => Ok(self),
            Self::Batch(settings) => settings.validate().map(Self::Batch),
            Self::Ordered(settings) => settings.validate().map(Self::Ordered),
        }
    }
}

/// When a batch goes: at `max_events` events, at `max_bytes` of event data, or
/// `max_wait_ms` after its first event, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchSettings {
    /// Most events per request, 1–1000 (default 100).
    #[serde(default = "BatchSettings::default_max_events")]
    pub max_events: u32,
    /// Most bytes of event data per request, 1 KiB–16 MiB (default 1 MiB); an event larger
    /// than this goes alone.
    #[serde(default = "BatchSettings::default_max_bytes")]
    pub max_bytes: u32,
    /// Longest an event waits for others, 0–10000 ms (default 1000).
    #[serde(default = "BatchSettings::default_max_wait_ms")]
    pub max_wait_ms: u32,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self {
            max_events: Self::default_max_events(),
            max_bytes: Self::default_max_bytes(),
            max_wait_ms: Self::default_max_wait_ms(),
        }
    }
}

impl BatchSettings {
    /// The most events a batch may carry.
    pub const MAX_EVENTS: u32 = 1_000;
    /// The largest `max_bytes`.
    pub const MAX_BYTES: u32 = 16 * 1024 * 1024;
    /// The longest `max_wait_ms`: events wait unacknowledged meanwhile.
    pub const MAX_WAIT_MS: u32 = 10_000;

    fn default_max_events() -> u32 {
        100
    }

    fn default_max_bytes() -> u32 {
        1024 * 1024
    }

    fn default_max_wait_ms() -> u32 {
        1_000
    }

    fn validate(self) -> Result<Self, AdminError> {
        let field = "delivery";
        if !(1..=Self::MAX_EVENTS).contains(&self.max_events) {
            return Err(AdminError::invalid(
                field,
                format!("max_events: must be 1 to {}", Self::MAX_EVENTS),
            ));
        }
        if !(1024..=Self::MAX_BYTES).contains(&self.max_bytes) {
            return Err(AdminError::invalid(
                field,
                format!("max_bytes: must be 1024 to {}", Self::MAX_BYTES),
            ));
        }
        if self.max_wait_ms > Self::MAX_WAIT_MS {
            return Err(AdminError::invalid(
                field,
                format!("max_wait_ms: must be 0 to {}", Self::MAX_WAIT_MS),
            ));
        }
        Ok(self)
    }
}

/// Whether an endpoint receives webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EndpointStatus {
    /// Waiting for the receiver to answer the verification challenge; deliveries are held
    /// until it does.
    PendingVerification {
        /// Why the last verification failed, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<String>,
    },
    /// Deliveries are attempted.
    Active,
    /// Deliveries wait until the endpoint is active again.
    Paused,
    /// No new deliveries; set by Hookwire (e.g. the receiver answered 410 Gone).
    Disabled {
        /// Why, for operators.
        reason: String,
        /// When.
        since: DateTime<Utc>,
    },
}

impl EndpointStatus {
    /// The state's wire name (`pending_verification`).
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PendingVerification { .. } => "pending_verification",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Disabled { .. } => "disabled",
        }
    }
}

/// An endpoint's circuit breaker when it is not closed. While open, deliveries wait (held,
/// no attempt spent); at `probe_at` one delivery is let through as a probe (half open); a
/// success closes the circuit, a failure opens it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Circuit {
    /// `open` or `half_open`.
    pub state: CircuitState,
    /// Why it opened, for operators.
    pub reason: String,
    /// When it (first) opened.
    pub opened_at: DateTime<Utc>,
    /// Since when every attempt has failed; auto-disable counts from here.
    pub failing_since: DateTime<Utc>,
    /// Open: when the probe goes. Half open: when another probe goes if this one never reports.
    pub probe_at: DateTime<Utc>,
    /// It has failed for most (80 %) of the time after which Hookwire disables it, and
    /// `hookwire.endpoint.disable_near` was published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_near: bool,
}

/// Whether an open circuit is waiting or probing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Deliveries wait.
    Open,
    /// One probe is on its way.
    HalfOpen,
}

impl CircuitState {
    /// The state's wire name (`half_open`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

impl Endpoint {
    /// The endpoint's state as operators read it: its status, or its circuit when an
    /// active endpoint's circuit is open (`open`) or probing (`half_open`).
    #[must_use]
    pub fn delivery_state(&self) -> &'static str {
        match &self.circuit {
            Some(circuit) if self.status == EndpointStatus::Active => circuit.state.as_str(),
            _ => self.status.as_str(),
        }
    }
}

/// How a receiver proves it wants webhooks before its first delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMode {
    /// Answer 2xx with `{"challenge": "<the challenge sent>"}`.
    #[default]
    Echo,
    /// Any 2xx answer suffices, for receivers that cannot echo.
    Status,
    /// No challenge: the operator confirmed the destination by naming the URL's host
    /// (`confirm_destination`), for receivers that cannot answer one (chat and issue APIs).
    Confirmed,
}

impl VerificationMode {
    /// The mode's wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Status => "status",
            Self::Confirmed => "confirmed",
        }
    }
}

/// A status change an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Hold deliveries.
    Pause,
    /// Deliver again after a pause.
    Resume,
    /// Deliver again after Hookwire disabled the endpoint.
    Enable,
}

/// The status a request may ask for; `disabled` is Hookwire's to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestedStatus {
    /// Deliver.
    Active,
    /// Hold deliveries.
    Paused,
}

/// An endpoint as the admin API shows it. Secrets are never part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Unique within the tenant.
    pub id: String,
    /// The tenant it belongs to.
    pub tenant: Tenant,
    /// Where webhooks are sent.
    pub url: String,
    /// Free text for operators.
    pub description: String,
    /// Which event types it receives; empty means all (except Hookwire's operational events,
    /// which need a filter starting with `hookwire.`).
    pub event_types: Vec<EventTypeFilter>,
    /// Extra headers sent with every webhook.
    pub headers: BTreeMap<String, String>,
    /// Attempt timeout.
    pub timeout_ms: u32,
    /// Delays between attempts in seconds; `None` uses the server's default schedule.
    pub retry_schedule_secs: Option<Vec<u32>>,
    /// Pending verification, active, paused or disabled.
    pub status: EndpointStatus,
    /// How the receiver is verified.
    #[serde(default)]
    pub verification: VerificationMode,
    /// When the receiver last passed verification at this URL; `None` until it does.
    #[serde(default)]
    pub verified_at: Option<DateTime<Utc>>,
    /// Networks its deliveries may reach, narrowing the deployment's (`allow_networks`,
    /// `deny_networks`).
    #[serde(flatten)]
    pub network: NetworkRules,
    /// How its webhooks are signed.
    #[serde(default)]
    pub signature: SignatureScheme,
    /// Most deliveries per second (token bucket); unlimited when absent.
    #[serde(default)]
    pub rate_limit_per_sec: Option<u32>,
    /// Most attempts in flight at once per `hookwired` instance; adaptive when absent.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// The circuit breaker when open or half open; absent when closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit: Option<Circuit>,
    /// How much of each response body attempt records keep (0: none); all of the excerpt
    /// (16 KiB) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body_bytes: Option<u32>,
    /// The authentication sent besides the signature (its secret parts never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthView>,
    /// The mutual-TLS client certificate, by fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<CertificateView>,
    /// Only events whose data passes this filter (beside `event_types`); every event when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ContentFilter>,
    /// Large bodies go gzip-compressed; every body as is when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// The template version its bodies are rendered with; the standard envelope when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplatePin>,
    /// Operator-defined labels, which templates read as `endpoint.metadata`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// One request per event, or batches.
    #[serde(default, skip_serializing_if = "DeliveryMode::is_single")]
    pub delivery: DeliveryMode,
    /// Its webhooks go over NATS to `hookwire listen` instead of to `url`, signed as
    /// always ([`crate::listen`]); nothing connects to `url` while it is on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listen: bool,
    /// Its delivery objective; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// `endpoints.create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// A caller-chosen id (1–64 of `A-Z a-z 0-9 - _`); generated when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// `http://` or `https://` URL.
    pub url: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Event-type filters; all types when absent or empty.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// Extra headers.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Attempt timeout, 100–60000 ms (default 15000).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// Retry delays in seconds.
    #[serde(default)]
    pub retry_schedule_secs: Option<Vec<u32>>,
    /// `active` (default: delivering once verified) or `paused`.
    #[serde(default)]
    pub status: Option<RequestedStatus>,
    /// `echo` (default), `status` or `confirmed`.
    #[serde(default)]
    pub verification: Option<VerificationMode>,
    /// `whsec_...`; generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// The only networks deliveries may reach (CIDRs); all the deployment allows when absent.
    #[serde(default)]
    pub allow_networks: Option<Vec<String>>,
    /// Networks deliveries never reach (CIDRs).
    #[serde(default)]
    pub deny_networks: Option<Vec<String>>,
    /// `{"scheme": "standard"}` (default), `{"scheme": "stripe", "header": "..."}` or
    /// `{"scheme": "github"}`.
    #[serde(default)]
    pub signature: Option<SignatureScheme>,
    /// Most deliveries per second, 1–10000; unlimited when absent.
    #[serde(default)]
    pub rate_limit_per_sec: Option<u32>,
    /// Most attempts in flight per instance, 1–1000; adaptive when absent.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// How much of each response body attempt records keep, 0–16384 bytes (0: none).
    #[serde(default)]
    pub response_body_bytes: Option<u32>,
    /// Bearer, basic or OAuth 2.0 client-credentials authentication.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// A client certificate for mutual TLS.
    #[serde(default)]
    pub client_certificate: Option<ClientCertificate>,
    /// Only events whose data passes this filter.
    #[serde(default)]
    pub filter: Option<ContentFilter>,
    /// Gzip for large bodies.
    #[serde(default)]
    pub compression: Option<Compression>,
    /// The template version to render bodies with.
    #[serde(default)]
    pub template: Option<TemplatePin>,
    /// Labels for templates (`endpoint.metadata`).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// With `verification: "confirmed"`: the URL's host, typed by the operator.
    #[serde(default)]
    pub confirm_destination: Option<String>,
    /// `{"mode": "single"}` (default) or `{"mode": "batch", "max_events"?, "max_bytes"?,
    /// "max_wait_ms"?}`.
    #[serde(default)]
    pub delivery: Option<DeliveryMode>,
    /// Relay its webhooks to `hookwire listen` instead of sending them to `url`.
    #[serde(default)]
    pub listen: Option<bool>,
    /// A delivery objective: `{"target_percent", "within_secs", "window_days"?}`.
    #[serde(default)]
    pub slo: Option<Slo>,
}

/// `endpoints.update`: every field optional; absent fields keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    /// The endpoint to change.
    #[serde(with = "id")]
    pub id: String,
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// New filters (replaces all).
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// New headers (replaces all).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// New timeout.
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// New schedule; an empty list means no retries.
    #[serde(default)]
    pub retry_schedule_secs: Option<Vec<u32>>,
    /// `active` or `paused`. Setting `active` also re-enables a disabled endpoint.
    #[serde(default)]
    pub status: Option<RequestedStatus>,
    /// `echo`, `status` or `confirmed`.
    #[serde(default)]
    pub verification: Option<VerificationMode>,
    /// New allowed networks (replaces all; empty removes the narrowing).
    #[serde(default)]
    pub allow_networks: Option<Vec<String>>,
    /// New denied networks (replaces all).
    #[serde(default)]
    pub deny_networks: Option<Vec<String>>,
    /// New signature scheme.
    #[serde(default)]
    pub signature: Option<SignatureScheme>,
    /// New rate limit; `0` removes it.
    #[serde(default)]
    pub rate_limit_per_sec: Option<u32>,
    /// New concurrency limit; `0` removes it.
    #[serde(default)]
    pub max_in_flight: Option<u32>,
    /// New share of response bodies kept, 0–16384 bytes.
    #[serde(default)]
    pub response_body_bytes: Option<u32>,
    /// New authentication; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth: Option<Option<Auth>>,
    /// New client certificate; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_certificate: Option<Option<ClientCertificate>>,
    /// New content filter; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub filter: Option<Option<ContentFilter>>,
    /// New compression; `null` sends every body as is.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub compression: Option<Option<Compression>>,
    /// New template pin; `null` sends the standard envelope.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub template: Option<Option<TemplatePin>>,
    /// New labels (replace all).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The URL's host, needed when verification becomes `confirmed` or the URL changes
    /// under it.
    #[serde(default)]
    pub confirm_destination: Option<String>,
    /// New delivery mode.
    #[serde(default)]
    pub delivery: Option<DeliveryMode>,
    /// Relay webhooks to `hookwire listen` (`true`) or send them to `url` again (`false`).
    #[serde(default)]
    pub listen: Option<bool>,
    /// New delivery objective; `null` removes it.
    #[serde(
        default,
        deserialize_with = "crate::auth::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub slo: Option<Option<Slo>>,
}

/// `endpoints.get` and `endpoints.delete`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointId {
    /// The endpoint.
    #[serde(with = "id")]
    pub id: String,
}

/// `endpoints.test`: one signed test event to the endpoint now, outside its retry
/// schedule.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestEndpoint {
    /// The endpoint.
    #[serde(with = "id")]
    pub id: String,
    /// The event type to send.
    pub event_type: String,
    /// The event's data; the catalog's example for the type when absent (refused when the
    /// catalog has none).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// `endpoints.rotate-secret`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The endpoint.
    #[serde(with = "id")]
    pub id: String,
    /// The new secret (`whsec_...`); generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// How long the previous secret keeps signing, 0–604800 s (default 86400).
    #[serde(default)]
    pub grace_secs: Option<u32>,
}

/// The reply to `endpoints.rotate-secret`: the new secret, shown only here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotatedSecret {
    /// The endpoint.
    pub id: String,
    /// The new signing secret.
    pub secret: String,
    /// When the previous secret stops signing.
    pub previous_expires_at: Option<DateTime<Utc>>,
}

/// `endpoints.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListEndpoints {
    /// Start after this id (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The reply to `endpoints.list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointPage {
    /// Endpoints in id order.
    pub endpoints: Vec<Endpoint>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The reply to `endpoints.create`: the endpoint and, this once, its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedEndpoint {
    /// The new endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// The signing secret. Shown only in this reply.
    pub secret: String,
}

impl CreateEndpoint {
    /// Validates the request into a new endpoint with id `generated_id` (used when the
    /// request names none), its secret (`generated_secret` when the request gives none) and
    /// its outgoing credentials.
    pub fn into_endpoint(
        self,
        tenant: Tenant,
        generated_id: String,
        generated_secret: Secret,
        now: DateTime<Utc>,
    ) -> Result<(Endpoint, Secret, Credentials), AdminError> {
        let id = match self.id {
            Some(id) => validate_id(&id).map(|()| id)?,
            None => generated_id,
        };
        let secret = match self.secret {
            Some(text) => {
                Secret::parse(&text).map_err(|e| AdminError::invalid("secret", e.to_string()))?
            }
            None => generated_secret,
        };
        let endpoint = Endpoint {
            id,
            tenant,
            url: validate_url(&self.url)?,
            description: validate_description(self.description.unwrap_or_default())?,
            event_types: validate_filters(&self.event_types.unwrap_or_default())?,
            headers: validate_headers(self.headers.unwrap_or_default(), RESERVED_HEADERS)?,
            timeout_ms: validate_timeout(self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS))?,
            retry_schedule_secs: self
                .retry_schedule_secs
                .map(validate_schedule)
                .transpose()?,
            status: match self.status.unwrap_or(RequestedStatus::Active) {
                RequestedStatus::Active => EndpointStatus::PendingVerification { last_error: None },
                RequestedStatus::Paused => EndpointStatus::Paused,
            },
            verification: self.verification.unwrap_or_default(),
            verified_at: None,
            network: NetworkRules {
                allow_networks: parse_networks(
                    "allow_networks",
                    &self.allow_networks.unwrap_or_default(),
                )?,
                deny_networks: parse_networks(
                    "deny_networks",
                    &self.deny_networks.unwrap_or_default(),
                )?,
            },
            signature: self
                .signature
                .unwrap_or_default()
                .validate(RESERVED_HEADERS)?,
            rate_limit_per_sec: self
                .rate_limit_per_sec
                .map(|n| validate_limit("rate_limit_per_sec", n, MAX_RATE_PER_SEC))
                .transpose()?,
            max_in_flight: self
                .max_in_flight
                .map(|n| validate_limit("max_in_flight", n, MAX_IN_FLIGHT))
                .transpose()?,
            circuit: None,
            response_body_bytes: self
                .response_body_bytes
                .map(validate_body_bytes)
                .transpose()?,
            auth: None,
            client_certificate: None,
            filter: self.filter.map(checked_filter).transpose()?,
            compression: self.compression.map(Compression::validate).transpose()?,
            template: self
                .template
                .map(|pin| pin.validate("template"))
                .transpose()?,
            metadata: validate_metadata(self.metadata.unwrap_or_default())?,
            delivery: self.delivery.unwrap_or_default().validate()?,
            listen: self.listen.unwrap_or(false),
            slo: self.slo.map(Slo::validate).transpose()?,
            created_at: now,
            updated_at: now,
        };
        let mut endpoint = endpoint;
        if matches!(endpoint.status, EndpointStatus::PendingVerification { .. }) {
            endpoint.status = endpoint.delivering_status();
        }
        confirm_destination(&mut endpoint, self.confirm_destination, true, now)?;
        let credentials = Credentials {
            auth: self.auth.map(Auth::validate).transpose()?,
            client_certificate: self
                .client_certificate
                .map(ClientCertificate::validate)
                .transpose()?,
        };
        let endpoint = endpoint.showing(&credentials);
        check_signature_header(&endpoint)?;
        Ok((endpoint, secret, credentials))
    }
}

impl UpdateEndpoint {
    /// The endpoint and its credentials with this request's changes, validated.
    pub fn apply(
        self,
        current: &Endpoint,
        credentials: &Credentials,
        now: DateTime<Utc>,
    ) -> Result<(Endpoint, Credentials), AdminError> {
        let mut next = current.clone();
        let mut credentials = credentials.clone();
        if let Some(auth) = self.auth {
            credentials.auth = auth.map(Auth::validate).transpose()?;
        }
        if let Some(certificate) = self.client_certificate {
            credentials.client_certificate =
                certificate.map(ClientCertificate::validate).transpose()?;
        }
        if let Some(url) = self.url {
            next.url = validate_url(&url)?;
            if next.url != current.url {
                // A new receiver must prove itself like a new endpoint, and owes nothing
                // for the old one's failures.
                next.verified_at = None;
                next.circuit = None;
                if next.status == EndpointStatus::Active {
                    next.status = next.delivering_status();
                }
            }
        }
        if let Some(mode) = self.verification {
            next.verification = mode;
        }
        let newly_confirmed = next.verification == VerificationMode::Confirmed
            && (current.verification != VerificationMode::Confirmed || next.url != current.url);
        confirm_destination(&mut next, self.confirm_destination, newly_confirmed, now)?;
        if let Some(description) = self.description {
            next.description = validate_description(description)?;
        }
        if let Some(filters) = self.event_types {
            next.event_types = validate_filters(&filters)?;
        }
        if let Some(headers) = self.headers {
            next.headers = validate_headers(headers, RESERVED_HEADERS)?;
        }
        if let Some(timeout) = self.timeout_ms {
            next.timeout_ms = validate_timeout(timeout)?;
        }
        if let Some(schedule) = self.retry_schedule_secs {
            next.retry_schedule_secs = Some(validate_schedule(schedule)?);
        }
        if let Some(allow) = self.allow_networks {
            next.network.allow_networks = parse_networks("allow_networks", &allow)?;
        }
        if let Some(deny) = self.deny_networks {
            next.network.deny_networks = parse_networks("deny_networks", &deny)?;
        }
        if let Some(scheme) = self.signature {
            next.signature = scheme.validate(RESERVED_HEADERS)?;
        }
        if let Some(rate) = self.rate_limit_per_sec {
            next.rate_limit_per_sec = (rate > 0)
                .then(|| validate_limit("rate_limit_per_sec", rate, MAX_RATE_PER_SEC))
                .transpose()?;
        }
        if let Some(limit) = self.max_in_flight {
            next.max_in_flight = (limit > 0)
                .then(|| validate_limit("max_in_flight", limit, MAX_IN_FLIGHT))
                .transpose()?;
        }
        if let Some(bytes) = self.response_body_bytes {
            next.response_body_bytes = Some(validate_body_bytes(bytes)?);
        }
        next.shape(self.filter, self.compression, self.template)?;
        if let Some(metadata) = self.metadata {
            next.metadata = validate_metadata(metadata)?;
        }
        if let Some(delivery) = self.delivery {
            let delivery = delivery.validate()?;
            // Which events go through the ordered lanes is decided per event by the mode;
            // a switch in either direction while events flow could send one twice or miss
            // it, so the mode is fixed when the endpoint is made.
            if (delivery.is_ordered() || current.delivery.is_ordered())
                && delivery != current.delivery
            {
                return Err(AdminError::invalid(
                    "delivery",
                    "ordered delivery is chosen when an endpoint is created and kept: create a new endpoint to change it",
                ));
            }
            next.delivery = delivery;
        }
        if let Some(listen) = self.listen {
            next.switch_listen(listen);
        }
        if let Some(slo) = self.slo {
            next.slo = slo.map(Slo::validate).transpose()?;
        }
        if let Some(status) = self.status {
            next.status = match status {
                RequestedStatus::Active => next.delivering_status(),
                RequestedStatus::Paused => EndpointStatus::Paused,
            };
        }
        next.updated_at = now;
        let next = next.showing(&credentials);
        check_signature_header(&next)?;
        Ok((next, credentials))
    }
}

impl Endpoint {
    /// Applies an update's content filter, compression and template pin, each `None` to
    /// keep, `Some(None)` to remove or `Some(Some(_))` to set.
    #[expect(clippy::option_option, reason = "absent, removed and a value differ")]
    fn shape(
        &mut self,
        filter: Option<Option<ContentFilter>>,
        compression: Option<Option<Compression>>,
        template: Option<Option<TemplatePin>>,
    ) -> Result<(), AdminError> {
        if let Some(filter) = filter {
            self.filter = filter.map(checked_filter).transpose()?;
        }
        if let Some(compression) = compression {
            self.compression = compression.map(Compression::validate).transpose()?;
        }
        if let Some(template) = template {
            self.template = template.map(|pin| pin.validate("template")).transpose()?;
        }
        Ok(())
    }

    /// The endpoint with the view of `credentials`.
    #[must_use]
    pub fn showing(mut self, credentials: &Credentials) -> Self {
        self.auth = credentials.auth.as_ref().map(Auth::view);
        self.client_certificate = credentials
            .client_certificate
            .as_ref()
            .map(ClientCertificate::view);
        self
    }

    /// The status an endpoint takes when it should deliver: active once its receiver is
    /// verified or its webhooks relayed to `hookwire listen` (whose operator has the
    /// deployment's NATS access), pending verification until then.
    #[must_use]
    pub fn delivering_status(&self) -> EndpointStatus {
        if self.verified_at.is_some() || self.listen {
            EndpointStatus::Active
        } else {
            EndpointStatus::PendingVerification { last_error: None }
        }
    }

    /// Relays its webhooks to `hookwire listen` (`true`) or sends them to its URL again.
    /// Another receiver owes nothing for the other's failures (the circuit closes), and
    /// the URL's receiver proves itself again unless it passed before; a pause or
    /// Hookwire's disabling holds.
    pub fn switch_listen(&mut self, listen: bool) {
        if listen == self.listen {
            return;
        }
        self.listen = listen;
        self.circuit = None;
        if matches!(
            self.status,
            EndpointStatus::Active | EndpointStatus::PendingVerification { .. }
        ) {
            self.status = self.delivering_status();
        }
    }

    /// Whether deliveries wait (paused, pending verification, or an open circuit) instead of
    /// being attempted.
    #[must_use]
    pub fn holds_deliveries(&self) -> bool {
        match self.status {
            EndpointStatus::Paused | EndpointStatus::PendingVerification { .. } => true,
            EndpointStatus::Active => self.circuit.is_some(),
            EndpointStatus::Disabled { .. } => false,
        }
    }

    /// The status after `change`. Each change is idempotent on its target and refuses the
    /// transitions that would silently undo another: `pause`/`resume` refuse a disabled
    /// endpoint (Hookwire disabled it; `enable` says so), `enable` refuses a paused one.
    pub fn status_after(&self, change: StatusChange) -> Result<EndpointStatus, AdminError> {
        use EndpointStatus::{Active, Disabled, Paused, PendingVerification};
        match (change, &self.status) {
            (StatusChange::Pause, Active | Paused | PendingVerification { .. }) => Ok(Paused),
            (StatusChange::Resume, Active | Paused)
            | (StatusChange::Enable, Active | Disabled { .. }) => Ok(self.delivering_status()),
            (StatusChange::Resume | StatusChange::Enable, PendingVerification { .. }) => {
                Ok(self.status.clone())
            }
            (StatusChange::Pause | StatusChange::Resume, Disabled { .. }) => Err(AdminError::new(
                crate::admin::ErrorCode::Conflict,
                format!("endpoint {} is disabled; enable it first", self.id),
            )),
            (StatusChange::Enable, Paused) => Err(AdminError::new(
                crate::admin::ErrorCode::Conflict,
                format!("endpoint {} is paused, not disabled; use resume", self.id),
            )),
        }
    }

    /// Applies a verification result: a pass marks the receiver verified and activates a
    /// pending endpoint; a failure keeps a pending endpoint pending with the reason (an
    /// endpoint verified before keeps delivering).
    pub fn record_verification(&mut self, result: Result<(), String>, now: DateTime<Utc>) {
        match result {
            Ok(()) => {
                self.verified_at = Some(now);
                if matches!(self.status, EndpointStatus::PendingVerification { .. }) {
                    self.status = EndpointStatus::Active;
                }
            }
            Err(reason) => {
                if matches!(self.status, EndpointStatus::PendingVerification { .. }) {
                    self.status = EndpointStatus::PendingVerification {
                        last_error: Some(reason),
                    };
                }
            }
        }
        self.updated_at = now;
    }
}

fn validate_limit(field: &str, value: u32, max: u32) -> Result<u32, AdminError> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(AdminError::invalid(field, format!("must be 1 to {max}")))
    }
}

/// The signature header must not be one of the endpoint's own headers, nor, for the `jwt`
/// scheme, the `Authorization` of the endpoint's auth.
fn check_signature_header(endpoint: &Endpoint) -> Result<(), AdminError> {
    if matches!(endpoint.signature, SignatureScheme::Jwt { .. }) && endpoint.auth.is_some() {
        return Err(AdminError::invalid(
            "auth",
            "the jwt signature scheme sends the Authorization header itself; remove the \
             endpoint's auth or choose another scheme",
        ));
    }
    let header = endpoint.signature.header();
    if endpoint.headers.contains_key(header) {
        return Err(AdminError::invalid(
            "headers",
            format!("{header} carries the signature; remove it from the endpoint's headers"),
        ));
    }
    Ok(())
}

/// With `confirmed` verification, the operator's confirmation (`confirm`: the URL's host)
/// stands in for the challenge and marks the receiver verified. It is `needed` when the mode
/// becomes `confirmed` or the URL changes under it; other modes take none.
fn confirm_destination(
    endpoint: &mut Endpoint,
    confirm: Option<String>,
    needed: bool,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let field = "confirm_destination";
    if endpoint.verification != VerificationMode::Confirmed {
        return match confirm {
            Some(_) => Err(AdminError::invalid(
                field,
                "only with verification \"confirmed\"; other modes send a challenge",
            )),
            None => Ok(()),
        };
    }
    let host = url::Url::parse(&endpoint.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_default();
    match confirm {
        None if needed => Err(AdminError::invalid(
            field,
            format!(
                "verification \"confirmed\" sends no challenge: confirm the destination by \
                 naming the URL's host ({host})"
            ),
        )),
        None => Ok(()),
        Some(confirmed) if !confirmed.eq_ignore_ascii_case(&host) => Err(AdminError::invalid(
            field,
            format!("{confirmed:?} is not the URL's host {host:?}"),
        )),
        Some(_) => {
            endpoint.verified_at = Some(now);
            if matches!(endpoint.status, EndpointStatus::PendingVerification { .. }) {
                endpoint.status = EndpointStatus::Active;
            }
            Ok(())
        }
    }
}

/// The most metadata labels an endpoint has.
const MAX_METADATA: usize = 32;

/// Checks metadata labels: keys 1–64 of `a-z 0-9 _` (templates read them as
/// `endpoint.metadata.key`), values at most 1024 characters.
fn validate_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AdminError> {
    if metadata.len() > MAX_METADATA {
        return Err(AdminError::invalid("metadata", "at most 32 labels"));
    }
    for (key, value) in &metadata {
        let key_ok = (1..=64).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(AdminError::invalid(
                "metadata",
                format!("{key:?}: keys are 1 to 64 of a-z 0-9 _"),
            ));
        }
        if value.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(AdminError::invalid(
                "metadata",
                format!("{key}: values are at most 1024 characters"),
            ));
        }
    }
    Ok(metadata)
}

fn checked_filter(filter: ContentFilter) -> Result<ContentFilter, AdminError> {
    filter.validate().map(|()| filter)
}

/// Checks a caller-chosen endpoint id.
pub fn validate_id(id: &str) -> Result<(), AdminError> {
    check_id(id).map_err(|message| AdminError::invalid("id", message))
}

fn check_id(id: &str) -> Result<(), String> {
    if id.len() > MAX_ID_LEN || validate_token("endpoint id", id).is_err() {
        return Err(format!(
            "invalid endpoint id {id:?}: use 1-{MAX_ID_LEN} characters of A-Z, a-z, 0-9, '-' and '_'"
        ));
    }
    Ok(())
}

/// Endpoint ids in requests, checked as they are read: every verb refuses `""`, `*` or
/// `a.b` the same way, naming the field, before any lookup.
pub mod id {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Reads an endpoint id and checks it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let id = String::deserialize(d)?;
        super::check_id(&id).map_err(serde::de::Error::custom)?;
        Ok(id)
    }

    /// Writes it unchanged.
    pub fn serialize<S: Serializer>(id: &str, s: S) -> Result<S::Ok, S::Error> {
        id.serialize(s)
    }
}

/// An optional endpoint id in a request (see [`id`]).
pub mod id_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Reads an endpoint id or `null` and checks it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let id = Option::<String>::deserialize(d)?;
        if let Some(id) = &id {
            super::check_id(id).map_err(serde::de::Error::custom)?;
        }
        Ok(id)
    }

    /// Writes it unchanged.
    #[allow(
        clippy::ref_option,
        reason = "serde's `with` passes the field by reference"
    )]
    pub fn serialize<S: Serializer>(id: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        id.serialize(s)
    }
}

fn validate_url(text: &str) -> Result<String, AdminError> {
    let invalid = |message: &str| AdminError::invalid("url", message.to_owned());
    if text.len() > MAX_URL_LEN {
        return Err(invalid("must be at most 2048 characters"));
    }
    let url = url::Url::parse(text).map_err(|e| invalid(&format!("not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not carry credentials; use the endpoint's headers for authentication",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a #fragment"));
    }
    Ok(url.to_string())
}

/// Checks a free-text description (endpoints, event types): at most 1024 characters.
pub(crate) fn validate_description(text: String) -> Result<String, AdminError> {
    if text.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(AdminError::invalid(
            "description",
            "must be at most 1024 characters",
        ));
    }
    Ok(text)
}

fn validate_filters(filters: &[String]) -> Result<Vec<EventTypeFilter>, AdminError> {
    if filters.len() > MAX_FILTERS {
        return Err(AdminError::invalid(
            "event_types",
            "at most 64 filters; use wildcards (memory.*, orders.>) to cover more",
        ));
    }
    let mut valid: Vec<EventTypeFilter> = filters
        .iter()
        .map(|f| {
            EventTypeFilter::new(f).map_err(|e| AdminError::invalid("event_types", e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    valid.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    valid.dedup();
    Ok(valid)
}

/// Checks extra headers (names lowercased) against the names `reserved` for Hookwire.
pub(crate) fn validate_headers(
    headers: BTreeMap<String, String>,
    reserved: &[&str],
) -> Result<BTreeMap<String, String>, AdminError> {
    if headers.len() > MAX_HEADERS {
        return Err(AdminError::invalid("headers", "at most 32 headers"));
    }
    let total: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > MAX_HEADER_BYTES {
        return Err(AdminError::invalid(
            "headers",
            "at most 8 KiB of names and values",
        ));
    }
    let mut normalized = BTreeMap::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if !crate::headers::is_token(&lower) {
            return Err(AdminError::invalid(
                "headers",
                format!("{name:?} is not a valid HTTP header name"),
            ));
        }
        if reserved.contains(&lower.as_str()) {
            return Err(AdminError::invalid(
                "headers",
                format!("{name} is set by Hookwire and cannot be overridden"),
            ));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(AdminError::invalid(
                "headers",
                format!("the value of {name} contains a line break or NUL"),
            ));
        }
        if normalized.insert(lower, value).is_some() {
            return Err(AdminError::invalid(
                "headers",
                format!("{name} is given twice (header names ignore case)"),
            ));
        }
    }
    Ok(normalized)
}

fn validate_body_bytes(bytes: u32) -> Result<u32, AdminError> {
    if usize::try_from(bytes).is_ok_and(|b| b <= MAX_BODY_EXCERPT) {
        Ok(bytes)
    } else {
        Err(AdminError::invalid(
            "response_body_bytes",
            format!("must be 0 to {MAX_BODY_EXCERPT}"),
        ))
    }
}

fn validate_timeout(timeout_ms: u32) -> Result<u32, AdminError> {
    if (MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        Ok(timeout_ms)
    } else {
        Err(AdminError::invalid(
            "timeout_ms",
            format!("must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}"),
        ))
    }
}

fn validate_schedule(schedule: Vec<u32>) -> Result<Vec<u32>, AdminError> {
    if schedule.len() > MAX_RETRIES {
        return Err(AdminError::invalid(
            "retry_schedule_secs",
            "at most 16 retries",
        ));
    }
    if schedule
        .iter()
        .any(|d| *d == 0 || *d > MAX_RETRY_DELAY_SECS)
    {
        return Err(AdminError::invalid(
            "retry_schedule_secs",
            "each delay must be 1 to 86400 seconds",
        ));
    }
    Ok(schedule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::ErrorCode;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000, 0).unwrap()
    }

    fn create(request: CreateEndpoint) -> Result<(Endpoint, Secret), AdminError> {
        request
            .into_endpoint(
                Tenant::default(),
                "ep_gen".into(),
                Secret::generate(),
                now(),
            )
            .map(|(endpoint, secret, _)| (endpoint, secret))
    }

    fn with_url(url: &str) -> CreateEndpoint {
        CreateEndpoint {
            url: url.into(),
            ..CreateEndpoint::default()
        }
    }

    fn field_of(result: Result<(Endpoint, Secret), AdminError>) -> String {
        let error = result.unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        error.field.unwrap()
    }

    #[test]
    fn minimal_create_takes_defaults() {
        let generated = Secret::generate();
        let (endpoint, secret, _) = with_url("https://example.com/hooks")
            .into_endpoint(Tenant::default(), "ep_gen".into(), generated.clone(), now())
            .unwrap();
        assert_eq!(endpoint.id, "ep_gen");
        assert_eq!(endpoint.url, "https://example.com/hooks");
        assert_eq!(endpoint.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(
            endpoint.status,
            EndpointStatus::PendingVerification { last_error: None }
        );
        assert_eq!(endpoint.verification, VerificationMode::Echo);
        assert_eq!(endpoint.verified_at, None);
        assert!(endpoint.event_types.is_empty());
        assert_eq!(endpoint.retry_schedule_secs, None);
        assert_eq!(secret, generated);
    }

    #[test]
    fn create_keeps_given_values() {
        let given = Secret::generate();
        let (endpoint, secret) = create(CreateEndpoint {
            id: Some("billing".into()),
            url: "http://127.0.0.1:8080/x?y=1".into(),
            description: Some("billing hooks".into()),
            event_types: Some(vec![
                "orders.>".into(),
                "memory.*".into(),
                "orders.>".into(),
            ]),
            headers: Some(BTreeMap::from([("X-Team".into(), "billing".into())])),
            timeout_ms: Some(5000),
            retry_schedule_secs: Some(vec![1, 2]),
            status: Some(RequestedStatus::Paused),
            verification: Some(VerificationMode::Status),
            secret: Some(given.expose()),
            allow_networks: Some(vec!["10.1.0.0/16".into()]),
            deny_networks: Some(vec!["10.1.2.3".into()]),
            signature: Some(SignatureScheme::Stripe {
                header: "X-PT-Signature".into(),
            }),
            rate_limit_per_sec: Some(50),
            max_in_flight: Some(4),
            response_body_bytes: Some(0),
            auth: Some(Auth::Basic {
                username: "hooks".into(),
                password: "pa55".into(),
            }),
            client_certificate: None,
            compression: Some(Compression { min_bytes: 1024 }),
            filter: Some(
                serde_json::from_value(serde_json::json!({"all": [{"path": "/a", "eq": 1}]}))
                    .unwrap(),
            ),
            template: Some(TemplatePin {
                name: "slack".into(),
                version: 2,
            }),
            metadata: Some(BTreeMap::from([("channel".into(), "#billing".into())])),
            confirm_destination: None,
            delivery: Some(DeliveryMode::Batch(BatchSettings {
                max_events: 50,
                ..BatchSettings::default()
            })),
            listen: Some(false),
            slo: Some(Slo {
                target_percent: crate::slo::Percent::from_thousandths(99_900),
                within_secs: 60,
                window_days: 30,
            }),
        })
        .unwrap();
        assert_eq!(endpoint.id, "billing");
        assert_eq!(endpoint.slo.map(|slo| slo.within_secs), Some(60));
        assert_eq!(endpoint.template.as_ref().map(|p| p.version), Some(2));
        assert_eq!(endpoint.metadata["channel"], "#billing");
        assert!(
            endpoint
                .filter
                .as_ref()
                .is_some_and(|f| f.matches(&serde_json::json!({"a": 1.0})))
        );
        assert_eq!(
            endpoint.auth,
            Some(AuthView::Basic {
                username: "hooks".into()
            })
        );
        assert_eq!(
            endpoint.network.allow_networks[0].to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(endpoint.network.deny_networks[0].to_string(), "10.1.2.3/32");
        assert_eq!(endpoint.signature.header(), "x-pt-signature");
        assert_eq!(endpoint.rate_limit_per_sec, Some(50));
        assert_eq!(endpoint.max_in_flight, Some(4));
        assert_eq!(endpoint.response_body_bytes, Some(0));
        assert_eq!(
            endpoint
                .event_types
                .iter()
                .map(EventTypeFilter::as_str)
                .collect::<Vec<_>>(),
            ["memory.*", "orders.>"]
        );
        assert_eq!(
            endpoint.headers.get("x-team").map(String::as_str),
            Some("billing")
        );
        assert_eq!(endpoint.retry_schedule_secs, Some(vec![1, 2]));
        assert_eq!(endpoint.status, EndpointStatus::Paused);
        assert_eq!(endpoint.verification, VerificationMode::Status);
        assert_eq!(secret, given);
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "",
            "example.com",
            "ftp://example.com/",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "http://exa mple.com/",
        ] {
            assert_eq!(field_of(create(with_url(url))), "url", "{url:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(field_of(create(with_url(&long))), "url");
    }

    #[test]
    fn bad_fields_are_named() {
        let base = || with_url("https://example.com/");
        let cases: Vec<(CreateEndpoint, &str)> = vec![
            (
                CreateEndpoint {
                    id: Some("a.b".into()),
                    ..base()
                },
                "id",
            ),
            (
                CreateEndpoint {
                    id: Some("x".repeat(65)),
                    ..base()
                },
                "id",
            ),
            (
                CreateEndpoint {
                    secret: Some("nope".into()),
                    ..base()
                },
                "secret",
            ),
            (
                CreateEndpoint {
                    description: Some("d".repeat(1025)),
                    ..base()
                },
                "description",
            ),
            (
                CreateEndpoint {
                    event_types: Some(vec!["a.>.b".into()]),
                    ..base()
                },
                "event_types",
            ),
            (
                CreateEndpoint {
                    event_types: Some(vec!["a".into(); 65]),
                    ..base()
                },
                "event_types",
            ),
            (
                CreateEndpoint {
                    timeout_ms: Some(99),
                    ..base()
                },
                "timeout_ms",
            ),
            (
                CreateEndpoint {
                    timeout_ms: Some(60_001),
                    ..base()
                },
                "timeout_ms",
            ),
            (
                CreateEndpoint {
                    retry_schedule_secs: Some(vec![0]),
                    ..base()
                },
                "retry_schedule_secs",
            ),
            (
                CreateEndpoint {
                    retry_schedule_secs: Some(vec![86_401]),
                    ..base()
                },
                "retry_schedule_secs",
            ),
            (
                CreateEndpoint {
                    retry_schedule_secs: Some(vec![1; 17]),
                    ..base()
                },
                "retry_schedule_secs",
            ),
        ];
        for (request, field) in cases {
            assert_eq!(field_of(create(request)), field);
        }
    }

    #[test]
    fn bad_headers_are_refused() {
        for headers in [
            BTreeMap::from([("bad header".to_owned(), "v".to_owned())]),
            BTreeMap::from([(String::new(), "v".to_owned())]),
            BTreeMap::from([("Webhook-Signature".to_owned(), "v".to_owned())]),
            BTreeMap::from([("content-type".to_owned(), "text/plain".to_owned())]),
            BTreeMap::from([("x-a".to_owned(), "line\r\nbreak".to_owned())]),
            BTreeMap::from([
                ("X-A".to_owned(), "1".to_owned()),
                ("x-a".to_owned(), "2".to_owned()),
            ]),
            (0..33)
                .map(|i| (format!("x-{i}"), "v".to_owned()))
                .collect(),
            BTreeMap::from([("x-big".to_owned(), "v".repeat(9000))]),
        ] {
            let request = CreateEndpoint {
                headers: Some(headers.clone()),
                ..with_url("https://example.com/")
            };
            assert_eq!(field_of(create(request)), "headers", "{headers:?}");
        }
    }

    #[test]
    fn update_sets_keeps_and_removes_credentials() {
        let (endpoint, _) = create(with_url("https://example.com/")).unwrap();
        let bearer = Credentials {
            auth: Some(Auth::Bearer {
                token: "t0k".into(),
            }),
            client_certificate: None,
        };
        let request = |json: &str| serde_json::from_str::<UpdateEndpoint>(json).unwrap();
        let (set, credentials) = request(r#"{"id":"x","auth":{"type":"bearer","token":"t0k"}}"#)
            .apply(&endpoint, &Credentials::default(), now())
            .unwrap();
        assert_eq!(credentials, bearer);
        assert_eq!(set.auth, Some(AuthView::Bearer));
        let (kept, credentials) = request(r#"{"id":"x","timeout_ms":2000}"#)
            .apply(&set, &bearer, now())
            .unwrap();
        assert_eq!(
            (kept.auth.clone(), &credentials),
            (Some(AuthView::Bearer), &bearer)
        );
        let (removed, credentials) = request(r#"{"id":"x","auth":null}"#)
            .apply(&kept, &bearer, now())
            .unwrap();
        assert_eq!((removed.auth, credentials), (None, Credentials::default()));
        let refused = request(r#"{"id":"x","auth":{"type":"bearer","token":""}}"#)
            .apply(&kept, &bearer, now())
            .unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("auth"));
        let shown = serde_json::to_string(&UpdateEndpoint {
            id: "x".into(),
            ..UpdateEndpoint::default()
        })
        .unwrap();
        assert!(!shown.contains("auth"), "absent stays absent: {shown}");
    }

    #[test]
    fn update_changes_only_what_is_given() {
        let (endpoint, _) = create(with_url("https://example.com/")).unwrap();
        let later = now() + chrono::TimeDelta::seconds(60);
        let updated = UpdateEndpoint {
            id: endpoint.id.clone(),
            timeout_ms: Some(2000),
            status: Some(RequestedStatus::Paused),
            ..UpdateEndpoint::default()
        }
        .apply(&endpoint, &Credentials::default(), later)
        .map(|(e, _)| e)
        .unwrap();
        assert_eq!(updated.url, endpoint.url);
        assert_eq!(updated.timeout_ms, 2000);
        assert_eq!(updated.status, EndpointStatus::Paused);
        assert_eq!(updated.created_at, endpoint.created_at);
        assert_eq!(updated.updated_at, later);

        let refused = UpdateEndpoint {
            id: endpoint.id.clone(),
            url: Some("gopher://x".into()),
            ..UpdateEndpoint::default()
        }
        .apply(&endpoint, &Credentials::default(), later)
        .map(|(e, _)| e)
        .unwrap_err();
        assert_eq!(refused.field.as_deref(), Some("url"));
    }

    #[test]
    fn requests_refuse_unknown_fields_and_wrong_types() {
        assert!(
            serde_json::from_str::<CreateEndpoint>(r#"{"url":"https://a/","colour":"red"}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<CreateEndpoint>(r#"{"url":5}"#).is_err());
        assert!(
            serde_json::from_str::<CreateEndpoint>(r#"{"url":"https://a/","status":"disabled"}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<UpdateEndpoint>(r#"{"id":"a","secret":"whsec_x"}"#).is_err()
        );
    }

    fn verified(status: EndpointStatus) -> Endpoint {
        let (mut endpoint, _) = create(with_url("https://example.com/")).unwrap();
        endpoint.verified_at = Some(now());
        endpoint.status = status;
        endpoint
    }

    fn disabled() -> EndpointStatus {
        EndpointStatus::Disabled {
            reason: "410".into(),
            since: now(),
        }
    }

    #[test]
    fn status_changes_follow_the_lifecycle() {
        use EndpointStatus::{Active, Paused};
        use StatusChange::{Enable, Pause, Resume};
        let pending = EndpointStatus::PendingVerification { last_error: None };
        let cases = [
            (Active, Pause, Ok(Paused)),
            (Paused, Pause, Ok(Paused)),
            (pending.clone(), Pause, Ok(Paused)),
            (Paused, Resume, Ok(Active)),
            (Active, Resume, Ok(Active)),
            (disabled(), Enable, Ok(Active)),
            (Active, Enable, Ok(Active)),
            (pending.clone(), Resume, Ok(pending.clone())),
            (disabled(), Pause, Err(ErrorCode::Conflict)),
            (disabled(), Resume, Err(ErrorCode::Conflict)),
            (Paused, Enable, Err(ErrorCode::Conflict)),
        ];
        for (from, change, expected) in cases {
            let got = verified(from.clone())
                .status_after(change)
                .map_err(|e| e.code);
            assert_eq!(got, expected, "{from:?} {change:?}");
        }
    }

    #[test]
    fn an_unverified_endpoint_resumes_into_pending_verification() {
        let mut endpoint = verified(EndpointStatus::Paused);
        endpoint.verified_at = None;
        assert_eq!(
            endpoint.status_after(StatusChange::Resume).unwrap(),
            EndpointStatus::PendingVerification { last_error: None }
        );
    }

    #[test]
    fn a_new_url_needs_verifying_again() {
        let endpoint = verified(EndpointStatus::Active);
        let change = |url: &str| UpdateEndpoint {
            id: endpoint.id.clone(),
            url: Some(url.into()),
            ..UpdateEndpoint::default()
        };
        let same = change("https://example.com/")
            .apply(&endpoint, &Credentials::default(), now())
            .map(|(e, _)| e)
            .unwrap();
        assert_eq!(same.status, EndpointStatus::Active);
        assert!(same.verified_at.is_some());
        let moved = change("https://other.example/")
            .apply(&endpoint, &Credentials::default(), now())
            .map(|(e, _)| e)
            .unwrap();
        assert_eq!(
            moved.status,
            EndpointStatus::PendingVerification { last_error: None }
        );
        assert_eq!(moved.verified_at, None);
        let paused = verified(EndpointStatus::Paused);
        let moved = UpdateEndpoint {
            url: Some("https://other.example/".into()),
            ..change("https://x/")
        }
        .apply(&paused, &Credentials::default(), now())
        .map(|(e, _)| e)
        .unwrap();
        assert_eq!(moved.status, EndpointStatus::Paused);
        assert_eq!(moved.verified_at, None);
    }

    #[test]
    fn listen_needs_no_verification_and_going_back_to_the_url_does_unless_it_passed() {
        let (created, _) = create(CreateEndpoint {
            listen: Some(true),
            ..with_url("https://example.com/")
        })
        .unwrap();
        assert!(created.listen);
        assert_eq!(created.status, EndpointStatus::Active);
        let switch = |endpoint: &Endpoint, listen: bool| {
            UpdateEndpoint {
                id: endpoint.id.clone(),
                listen: Some(listen),
                ..UpdateEndpoint::default()
            }
            .apply(endpoint, &Credentials::default(), now())
            .map(|(e, _)| e)
            .unwrap()
        };
        let never_verified = switch(&created, false);
        assert!(!never_verified.listen);
        assert_eq!(
            never_verified.status,
            EndpointStatus::PendingVerification { last_error: None }
        );
        assert_eq!(switch(&never_verified, true).status, EndpointStatus::Active);
        let mut verified_open = verified(EndpointStatus::Active);
        verified_open.circuit = Some(Circuit {
            state: CircuitState::Open,
            opened_at: now(),
            probe_at: now(),
            failing_since: now(),
            reason: "503".into(),
            disable_near: false,
        });
        let listening = switch(&verified_open, true);
        assert_eq!(listening.circuit, None, "another receiver owes nothing");
        assert_eq!(switch(&listening, false).status, EndpointStatus::Active);
        assert_eq!(
            switch(&verified(EndpointStatus::Paused), true).status,
            EndpointStatus::Paused,
            "a pause holds"
        );
        assert_eq!(
            switch(&verified(disabled()), true).status,
            disabled(),
            "Hookwire's disabling holds"
        );
    }

    #[test]
    fn verification_results_activate_only_pending_endpoints() {
        let (mut pending, _) = create(with_url("https://example.com/")).unwrap();
        pending.record_verification(Err("status 500".into()), now());
        assert_eq!(
            pending.status,
            EndpointStatus::PendingVerification {
                last_error: Some("status 500".into())
            }
        );
        pending.record_verification(Ok(()), now());
        assert_eq!(pending.status, EndpointStatus::Active);
        assert_eq!(pending.verified_at, Some(now()));

        let mut paused = verified(EndpointStatus::Paused);
        paused.verified_at = None;
        paused.record_verification(Ok(()), now());
        assert_eq!(paused.status, EndpointStatus::Paused);
        assert!(paused.verified_at.is_some());

        let mut active = verified(EndpointStatus::Active);
        active.record_verification(Err("timeout".into()), now());
        assert_eq!(active.status, EndpointStatus::Active);
    }

    #[test]
    fn status_serializes_with_a_state_tag() {
        let disabled = EndpointStatus::Disabled {
            reason: "410 Gone".into(),
            since: now(),
        };
        assert_eq!(
            serde_json::to_value(&disabled).unwrap(),
            serde_json::json!({"state": "disabled", "reason": "410 Gone", "since": "2027-01-15T08:00:00Z"})
        );
        assert_eq!(
            serde_json::to_value(EndpointStatus::Active).unwrap(),
            serde_json::json!({"state": "active"})
        );
    }
    #[test]
    fn a_confirmed_destination_is_verified_by_the_operator_typing_its_host() {
        let request = |confirm: Option<&str>| CreateEndpoint {
            url: "https://hooks.slack.com/services/T0/B0/x".into(),
            verification: Some(VerificationMode::Confirmed),
            confirm_destination: confirm.map(str::to_owned),
            ..CreateEndpoint::default()
        };
        let missing = create(request(None)).unwrap_err();
        assert_eq!(missing.field.as_deref(), Some("confirm_destination"));
        assert!(
            missing.message.contains("hooks.slack.com"),
            "{}",
            missing.message
        );
        let wrong = create(request(Some("hooks.slack.co"))).unwrap_err();
        assert_eq!(wrong.field.as_deref(), Some("confirm_destination"));
        let (endpoint, _) = create(request(Some("HOOKS.slack.com"))).unwrap();
        assert_eq!(
            endpoint.status,
            EndpointStatus::Active,
            "no challenge to wait for"
        );
        assert!(endpoint.verified_at.is_some());

        let stray = CreateEndpoint {
            url: "https://example.com/".into(),
            confirm_destination: Some("example.com".into()),
            ..CreateEndpoint::default()
        };
        assert_eq!(
            create(stray).unwrap_err().field.as_deref(),
            Some("confirm_destination"),
            "a challenge mode takes no confirmation"
        );

        let credentials = Credentials::default();
        let now = Utc::now();
        let same_url = UpdateEndpoint {
            id: endpoint.id.clone(),
            description: Some("x".into()),
            ..UpdateEndpoint::default()
        };
        assert!(same_url.apply(&endpoint, &credentials, now).is_ok());
        let moved = UpdateEndpoint {
            id: endpoint.id.clone(),
            url: Some("https://discord.com/api/webhooks/1/x".into()),
            ..UpdateEndpoint::default()
        };
        assert_eq!(
            moved
                .clone()
                .apply(&endpoint, &credentials, now)
                .unwrap_err()
                .field
                .as_deref(),
            Some("confirm_destination"),
            "a new URL needs a new confirmation"
        );
        let confirmed = UpdateEndpoint {
            confirm_destination: Some("discord.com".into()),
            ..moved
        };
        let (next, _) = confirmed.apply(&endpoint, &credentials, now).unwrap();
        assert_eq!(next.status, EndpointStatus::Active);

        let (echo, _) = create(CreateEndpoint {
            url: "https://example.com/".into(),
            ..CreateEndpoint::default()
        })
        .unwrap();
        let switch = UpdateEndpoint {
            id: echo.id.clone(),
            verification: Some(VerificationMode::Confirmed),
            ..UpdateEndpoint::default()
        };
        assert!(switch.clone().apply(&echo, &credentials, now).is_err());
        let (switched, _) = UpdateEndpoint {
            confirm_destination: Some("example.com".into()),
            ..switch
        }
        .apply(&echo, &credentials, now)
        .unwrap();
        assert_eq!(switched.status, EndpointStatus::Active);
    }

    #[test]
    fn metadata_keys_are_template_names_and_pins_count_from_one() {
        let with = |metadata: &[(&str, &str)]| {
            create(CreateEndpoint {
                url: "https://example.com/".into(),
                metadata: Some(
                    metadata
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                ..CreateEndpoint::default()
            })
        };
        assert!(with(&[("channel", "#ops"), ("team_2", "")]).is_ok());
        for bad in ["Channel", "a-b", "", "a.b"] {
            assert_eq!(
                with(&[(bad, "x")]).unwrap_err().field.as_deref(),
                Some("metadata"),
                "{bad:?}"
            );
        }
        let long = "x".repeat(1025);
        assert!(with(&[("a", long.as_str())]).is_err());
        let unpinned = create(CreateEndpoint {
            url: "https://example.com/".into(),
            template: Some(TemplatePin {
                name: "slack".into(),
                version: 0,
            }),
            ..CreateEndpoint::default()
        });
        assert_eq!(
            unpinned.unwrap_err().field.as_deref(),
            Some("template.version")
        );
    }
    #[test]
    fn delivery_modes_read_with_defaults_and_are_bounded() {
        let mode: DeliveryMode = serde_json::from_str(r#"{"mode": "batch"}"#).unwrap();
        assert_eq!(mode, DeliveryMode::Batch(BatchSettings::default()));
        let mode: DeliveryMode =
            serde_json::from_str(r#"{"mode": "batch", "max_events": 7, "max_wait_ms": 0}"#)
                .unwrap();
        assert_eq!(
            mode,
            DeliveryMode::Batch(BatchSettings {
                max_events: 7,
                max_wait_ms: 0,
                ..BatchSettings::default()
            })
        );
        assert_eq!(
            serde_json::from_str::<DeliveryMode>(r#"{"mode": "single"}"#).unwrap(),
            DeliveryMode::Single
        );
        assert!(serde_json::from_str::<DeliveryMode>(r#"{"mode": "fifo"}"#).is_err());
        assert!(
            serde_json::from_str::<DeliveryMode>(r#"{"mode": "batch", "max_evnts": 7}"#).is_err(),
            "a misspelt setting is refused, not ignored"
        );
        for (events, bytes, wait) in [
            (0, 1024, 0),
            (1001, 1024, 0),
            (1, 1023, 0),
            (1, 1024, 10_001),
        ] {
            let mode = DeliveryMode::Batch(BatchSettings {
                max_events: events,
                max_bytes: bytes,
                max_wait_ms: wait,
            });
            assert_eq!(
                mode.clone().validate().unwrap_err().field.as_deref(),
                Some("delivery"),
                "{mode:?}"
            );
        }
        let (endpoint, _) = create(with_url("https://example.com/")).unwrap();
        assert!(endpoint.delivery.is_single());
        let json = serde_json::to_value(&endpoint).unwrap();
        assert!(
            json.get("delivery").is_none(),
            "single is not written: {json}"
        );
    }
    #[test]
    fn ordered_mode_reads_its_key_and_is_fixed_at_creation() {
        let mode: DeliveryMode =
            serde_json::from_str(r#"{"mode": "ordered", "key": {"pointer": "/order/id"}}"#)
                .unwrap();
        let DeliveryMode::Ordered(settings) = &mode else {
            panic!("{mode:?}");
        };
        let key = &settings.key;
        assert_eq!(key.of(|_| None, br#"{"order": {"id": "o_1"}}"#), "o_1");
        assert_eq!(key.of(|_| None, br#"{"order": {"id": 7}}"#), "7");
        assert_eq!(
            key.of(|_| None, br#"{"other": 1}"#),
            "",
            "no key: the empty key"
        );
        let header = OrderKey::Header("Order-Id".into());
        assert_eq!(
            header.of(|name| (name == "Order-Id").then(|| "h1".into()), b"{}"),
            "h1"
        );
        for bad in [
            r#"{"mode": "ordered", "key": {"pointer": "order"}}"#,
            r#"{"mode": "ordered", "key": {"header": "a b"}}"#,
        ] {
            let mode: DeliveryMode = serde_json::from_str(bad).unwrap();
            assert_eq!(
                mode.clone().validate().unwrap_err().field.as_deref(),
                Some("delivery.key"),
                "{bad}"
            );
        }
        assert!(serde_json::from_str::<DeliveryMode>(r#"{"mode": "ordered"}"#).is_err());
        assert_eq!(settings.batch, None, "one event per request unless asked");

        let (ordered, _) = create(CreateEndpoint {
            delivery: Some(mode.clone()),
            ..with_url("https://example.com/")
        })
        .unwrap();
        let credentials = Credentials::default();
        let change = |delivery: DeliveryMode| UpdateEndpoint {
            id: ordered.id.clone(),
            delivery: Some(delivery),
            ..UpdateEndpoint::default()
        };
        assert!(
            change(mode.clone())
                .apply(&ordered, &credentials, now())
                .is_ok()
        );
        for other in [
            DeliveryMode::Single,
            DeliveryMode::Batch(BatchSettings::default()),
            DeliveryMode::Ordered(OrderSettings {
                key: OrderKey::Header("X".into()),
                batch: None,
            }),
            DeliveryMode::Ordered(OrderSettings {
                batch: Some(KeyBatch::default()),
                ..settings.clone()
            }),
        ] {
            assert_eq!(
                change(other)
                    .apply(&ordered, &credentials, now())
                    .unwrap_err()
                    .field
                    .as_deref(),
                Some("delivery")
            );
        }
        let (single, _) = create(with_url("https://example.com/")).unwrap();
        let into = UpdateEndpoint {
            id: single.id.clone(),
            delivery: Some(mode),
            ..UpdateEndpoint::default()
        };
        assert!(into.apply(&single, &credentials, now()).is_err());
    }

    #[test]
    fn order_keys_read_and_print_as_typed() {
        for text in ["header:Order-Id", "pointer:/order/id", "pointer:"] {
            let key: OrderKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        assert_eq!(
            "pointer:/a:b".parse::<OrderKey>().unwrap(),
            OrderKey::Pointer("/a:b".into())
        );
        for bad in ["", "order_id", "json:/a", "Header:X"] {
            assert!(bad.parse::<OrderKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ordered_mode_batches_per_key_within_batch_limits() {
        // Events and bytes as in batch mode; nothing waits for more.
        let batched: DeliveryMode = serde_json::from_str(
            r#"{"mode": "ordered", "key": {"header": "K"}, "batch": {"max_events": 50}}"#,
        )
        .unwrap();
        let DeliveryMode::Ordered(OrderSettings {
            batch: Some(batch), ..
        }) = batched.clone().validate().unwrap()
        else {
            panic!("{batched:?}");
        };
        assert_eq!((batch.max_events, batch.max_bytes), (50, 1024 * 1024));
        for bad in [
            r#"{"mode": "ordered", "key": {"header": "K"}, "batch": {"max_events": 0}}"#,
            r#"{"mode": "ordered", "key": {"header": "K"}, "batch": {"max_events": 1001}}"#,
            r#"{"mode": "ordered", "key": {"header": "K"}, "batch": {"max_bytes": 10}}"#,
        ] {
            let mode: DeliveryMode = serde_json::from_str(bad).unwrap();
            assert_eq!(
                mode.validate().unwrap_err().field.as_deref(),
                Some("delivery"),
                "{bad}"
            );
        }
        assert!(
            serde_json::from_str::<DeliveryMode>(
                r#"{"mode": "ordered", "key": {"header": "K"}, "batch": {"max_wait_ms": 5}}"#
            )
            .is_err(),
            "a key's batch waits for nothing"
        );
    }
}
