//! Sources on the wire: incoming webhooks that third parties (GitHub, Stripe, GitLab,
//! Shopify, Slack, any Standard Webhooks or HMAC sender) post to `POST /in/<token>`, and that
//! Hookwire verifies, transforms and publishes onto `<subject>.<type>`.
//!
//! The admin requests that create and change a source, the view every reply shows and the
//! validation guarding both; the verification itself is in [`crate::inbound`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::auth::present;
use crate::headers::is_token;
use crate::inbound::RsaPublicKey;
use crate::network::parse_networks;
use crate::subject::{Subjects, Tenant, is_lowercase_name};

mod rules;

pub use rules::{
    MAX_RULE_DEPTH, MAX_RULE_PARTS, MAX_TYPE_LEN, MAX_TYPE_RULES, MAX_TYPE_TOKENS, TypeRule,
    ValueFrom,
};

/// Requests per minute a source takes when none is given.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 100;
/// The highest rate limit a source may have.
pub const MAX_RATE_PER_MINUTE: u32 = 1_000_000;
/// The largest body a source takes when none is given.
pub const DEFAULT_MAX_BODY_BYTES: u32 = 256 * 1024;
/// The largest body any source may take (the events stream's message limit applies too).
pub const MAX_BODY_BYTES: u32 = 4 * 1024 * 1024;
/// How far a signed timestamp may be from Hookwire's clock when a source names no tolerance.
pub const DEFAULT_TOLERANCE_SECS: u32 = 300;
/// The longest template a source may have.
pub const MAX_TRANSFORM_LEN: usize = 64 * 1024;
/// The longest provider secret.
pub const MAX_SECRET_LEN: usize = 1024;
/// The shortest provider secret (shorter ones are guessable).
pub const MIN_SECRET_LEN: usize = 16;
/// The type an event gets when the source's rule finds none.
pub const UNKNOWN_TYPE: &str = "unknown";
const MAX_NAME_LEN: usize = 64;

/// How a source checks that a request comes from its provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verification {
    /// The unguessable URL token alone.
    #[default]
    None,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`)
    /// with a `whsec_` secret.
    Standard {
        /// Allowed clock difference in seconds.
        #[serde(default = "default_tolerance")]
        tolerance_secs: u32,
    },
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
    Github,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
    Stripe {
        /// Allowed clock difference in seconds.
        #[serde(default = "default_tolerance")]
        tolerance_secs: u32,
    },
    /// GitLab: `X-Gitlab-Token` equal to the secret.
    Gitlab,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>`.
    Shopify,
    /// Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:ts:body")>` with
    /// `X-Slack-Request-Timestamp`.
    Slack {
        /// Allowed clock difference in seconds.
        #[serde(default = "default_tolerance")]
        tolerance_secs: u32,
    },
    /// Bitbucket (Cloud and Data Center): `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret,
    /// body)>`.
    Bitbucket,
    /// Jira: `X-Hub-Signature` as Bitbucket's.
    Jira,
    /// Confluence: `X-Hub-Signature` as Bitbucket's.
    Confluence,
    /// CircleCI: `circleci-signature: v1=<hex HMAC-SHA256(secret, body)>`.
    Circleci,
    /// Travis CI: `Signature: <base64 RSA-SHA1 signature of the form field payload>`,
    /// checked with Travis CI's public key (no shared secret).
    Travis {
        /// Travis CI's public key, PEM (`-----BEGIN PUBLIC KEY-----`), as its API's
        /// `/config` publishes it.
        public_key: String,
    },
    /// Jenkins (Notification plugin): signs nothing; the token URL and the source's allowed
    /// networks are the guard.
    Jenkins,
    /// Docker Hub: signs nothing; the token URL (and allowed networks) are the guard.
    DockerHub,
    /// Any HMAC of the body in a header of the source's choosing.
    Hmac {
        /// The header, lowercase.
        header: String,
        /// The hash.
        #[serde(default)]
        algorithm: HmacAlgorithm,
        /// How the MAC is written.
        #[serde(default)]
        encoding: MacEncoding,
        /// Text before the MAC in the header (`sha256=`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        prefix: String,
    },
}

fn default_tolerance() -> u32 {
    DEFAULT_TOLERANCE_SECS
}

/// The hash of a generic HMAC scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    #[default]
    Sha256,
    /// HMAC-SHA1, for older providers.
    Sha1,
}

/// How a generic HMAC scheme writes the MAC.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacEncoding {
    /// Lowercase or uppercase hex.
    #[default]
    Hex,
    /// Standard base64.
    Base64,
}

impl Verification {
    /// The scheme's name as the API writes it.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Standard { .. } => "standard",
            Self::Github => "github",
            Self::Stripe { .. } => "stripe",
            Self::Gitlab => "gitlab",
            Self::Shopify => "shopify",
            Self::Slack { .. } => "slack",
            Self::Bitbucket => "bitbucket",
            Self::Jira => "jira",
            Self::Confluence => "confluence",
            Self::Circleci => "circleci",
            Self::Travis { .. } => "travis",
            Self::Jenkins => "jenkins",
            Self::DockerHub => "docker_hub",
            Self::Hmac { .. } => "hmac",
        }
    }

    /// Whether the scheme needs a shared secret.
    #[must_use]
    pub fn needs_secret(&self) -> bool {
        !matches!(
            self,
            Self::None | Self::Travis { .. } | Self::Jenkins | Self::DockerHub
        )
    }

    /// Whether the scheme checks who sent a request (beyond the token in the URL).
    #[must_use]
    pub fn signs(&self) -> bool {
        !matches!(self, Self::None | Self::Jenkins | Self::DockerHub)
    }

    /// The form field holding the provider's JSON, for providers that post a form around
    /// it (Travis CI's `payload`): rules, templates and the published payload read that.
    #[must_use]
    pub fn json_form_field(&self) -> Option<&'static str> {
        match self {
            Self::Travis { .. } => Some("payload"),
            _ => None,
        }
    }

    /// Where the provider puts the event type, unless the source says otherwise.
    #[must_use]
    pub fn default_type_from(&self) -> ValueFrom {
        let header = |name: &str| ValueFrom::Header(name.into());
        let field = |pointer: &str| ValueFrom::Field(pointer.into());
        match self {
            Self::Github => header("x-github-event"),
            Self::Gitlab => header("x-gitlab-event"),
            Self::Shopify => header("x-shopify-topic"),
            Self::Slack { .. } => field("/event/type"),
            Self::Bitbucket => header("x-event-key"),
            Self::Jira => field("/webhookEvent"),
            Self::Confluence => ValueFrom::FirstOf(vec![
                header("x-event-key"),
                field("/event"),
                field("/webhookEvent"),
            ]),
            Self::Circleci => {
                ValueFrom::FirstOf(vec![header("circleci-event-type"), field("/type")])
            }
            Self::Travis { .. } => ValueFrom::Join(vec![field("/type"), field("/state")]),
            Self::Jenkins => field("/build/phase"),
            Self::DockerHub => ValueFrom::Fixed("push".into()),
            Self::None | Self::Standard { .. } | Self::Stripe { .. } | Self::Hmac { .. } => {
                field("/type")
            }
        }
    }

    /// Where the provider puts its delivery id (the same on its retries), unless the
    /// source says otherwise.
    #[must_use]
    pub fn default_id_from(&self) -> ValueFrom {
        let header = |name: &str| ValueFrom::Header(name.into());
        let field = |pointer: &str| ValueFrom::Field(pointer.into());
        match self {
            Self::Standard { .. } => header("webhook-id"),
            Self::Github => header("x-github-delivery"),
            Self::Stripe { .. } | Self::Circleci => field("/id"),
            Self::Gitlab => header("x-gitlab-event-uuid"),
            Self::Shopify => header("x-shopify-webhook-id"),
            Self::Slack { .. } => field("/event_id"),
            // Cloud sends X-Request-UUID, Data Center X-Request-Id.
            Self::Bitbucket | Self::Confluence => ValueFrom::FirstOf(vec![
                header("x-request-uuid"),
                header("x-request-id"),
                header("x-atlassian-webhook-identifier"),
            ]),
            Self::Jira => ValueFrom::FirstOf(vec![
                header("x-atlassian-webhook-identifier"),
                header("x-request-id"),
            ]),
            // A build notifies when it starts and when it ends: its id and state.
            Self::Travis { .. } => ValueFrom::Join(vec![field("/id"), field("/state")]),
            Self::Jenkins => ValueFrom::Join(vec![
                field("/name"),
                field("/build/number"),
                field("/build/phase"),
            ]),
            Self::DockerHub => ValueFrom::Join(vec![
                field("/repository/repo_name"),
                field("/push_data/tag"),
                field("/push_data/pushed_at"),
            ]),
            Self::None | Self::Hmac { .. } => header("idempotency-key"),
        }
    }

    fn validate(self) -> Result<Self, AdminError> {
        let tolerance = |t: u32| {
            if (1..=86_400).contains(&t) {
                Ok(())
            } else {
                Err(AdminError::invalid(
                    "verification.tolerance_secs",
                    "must be 1-86400 seconds",
                ))
            }
        };
        match self {
            Self::Standard { tolerance_secs }
            | Self::Stripe { tolerance_secs }
            | Self::Slack { tolerance_secs } => tolerance(tolerance_secs).map(|()| self),
            Self::Hmac {
                header,
                algorithm,
                encoding,
                prefix,
            } => {
                let header = header.to_ascii_lowercase();
                if header.len() > 64 || !is_token(&header) {
                    return Err(AdminError::invalid(
                        "verification.header",
                        format!("{header:?} is not a valid HTTP header name"),
                    ));
                }
                if prefix.len() > 32 || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(AdminError::invalid(
                        "verification.prefix",
                        "at most 32 visible ASCII characters",
                    ));
                }
                Ok(Self::Hmac {
                    header,
                    algorithm,
                    encoding,
                    prefix,
                })
            }
            Self::Travis { public_key } => match RsaPublicKey::from_pem(&public_key) {
                Ok(_) => Ok(Self::Travis { public_key }),
                Err(e) => Err(AdminError::invalid("verification.public_key", e)),
            },
            Self::None
            | Self::Github
            | Self::Gitlab
            | Self::Shopify
            | Self::Bitbucket
            | Self::Jira
            | Self::Confluence
            | Self::Circleci
            | Self::Jenkins
            | Self::DockerHub => Ok(self),
        }
    }
}

/// A source as every admin reply shows it. Its secret is never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The tenant it publishes for.
    pub tenant: Tenant,
    /// Its name: unique in the tenant, the key of every request about it.
    pub name: String,
    /// Events are published to `<subject>.<type>`.
    pub subject: String,
    /// How requests are verified.
    pub verification: Verification,
    /// Where the event type comes from.
    pub type_from: ValueFrom,
    /// Routing by content: the first rule the body passes names the type instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub type_rules: Vec<TypeRule>,
    /// Where the provider's delivery id (the de-duplication key) comes from.
    pub id_from: ValueFrom,
    /// A template mapping the request to the published payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Requests accepted per minute (bursts up to the same number).
    pub rate_limit_per_minute: u32,
    /// Client networks allowed to post; empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_networks: Vec<IpNet>,
    /// Whether requests are taken.
    pub active: bool,
    /// The largest request body taken.
    pub max_body_bytes: u32,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A source with the path providers post to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    /// The source.
    #[serde(flatten)]
    pub source: Source,
    /// `/in/<token>` on the ingress listener.
    pub path: String,
    /// `path` on the configured public URL, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `sources.create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateSource {
    /// Name: 1-64 of `a-z 0-9 - _`.
    pub name: String,
    /// Subject prefix (default `<prefix>.events.<tenant>.<name>`); must lie under the
    /// tenant's events subjects.
    #[serde(default)]
    pub subject: Option<String>,
    /// Verification (default `none`).
    #[serde(default)]
    pub verification: Option<Verification>,
    /// The secret shared with the provider; generated when the scheme needs one and none
    /// is given (not for Stripe, whose secret comes from Stripe).
    #[serde(default)]
    pub secret: Option<String>,
    /// Where the type comes from (the scheme's default when absent).
    #[serde(default)]
    pub type_from: Option<ValueFrom>,
    /// Routing by content, tried in order before `type_from`.
    #[serde(default)]
    pub type_rules: Option<Vec<TypeRule>>,
    /// Where the delivery id comes from (the scheme's default when absent).
    #[serde(default)]
    pub id_from: Option<ValueFrom>,
    /// Transform template.
    #[serde(default)]
    pub transform: Option<String>,
    /// Requests per minute (default 100).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// Allowed client networks (CIDR or address).
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
    /// Taking requests (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Largest body (default 256 KiB).
    #[serde(default)]
    pub max_body_bytes: Option<u32>,
}

/// `sources.update`: absent fields stay as they are; `null` clears `transform`, `type_from`
/// and `id_from` (back to the scheme's defaults).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpdateSource {
    /// Which source.
    pub name: String,
    /// New subject prefix.
    #[serde(default)]
    pub subject: Option<String>,
    /// New verification; a scheme needing a secret keeps the current secret unless
    /// `secret` is given.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// New secret.
    #[serde(default)]
    pub secret: Option<String>,
    /// New type rule, or `null` for the scheme's default.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_from: Option<Option<ValueFrom>>,
    /// New routing rules (`[]` removes them).
    #[serde(default)]
    pub type_rules: Option<Vec<TypeRule>>,
    /// New id rule, or `null` for the scheme's default.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub id_from: Option<Option<ValueFrom>>,
    /// New template, or `null` for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub transform: Option<Option<String>>,
    /// New rate limit.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// New allowed networks (`[]` allows any).
    #[serde(default)]
    pub allowed_networks: Option<Vec<String>>,
    /// Taking requests or not.
    #[serde(default)]
    pub active: Option<bool>,
    /// New body limit.
    #[serde(default)]
    pub max_body_bytes: Option<u32>,
}

/// A request naming one source (`get`, `delete`, `rotate-token`, `stats`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceName {
    /// The source.
    pub name: String,
}

/// `sources.create`'s reply: the source and, when Hookwire generated it, its secret (shown
/// this once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedSource {
    /// The source.
    #[serde(flatten)]
    pub view: SourceView,
    /// The generated secret to configure at the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `sources.list`'s reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceList {
    /// The tenant's sources in name order.
    pub sources: Vec<SourceView>,
}

/// `sources.test`: what a request would publish, without verifying or publishing it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TestSource {
    /// Which source.
    pub name: String,
    /// The sample body: JSON as a value, anything else as a string.
    pub body: serde_json::Value,
    /// Its content type (default `application/json` for a value, `text/plain` for a string).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Sample headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sample query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// A template to try instead of the source's (to test before saving).
    #[serde(default)]
    pub transform: Option<String>,
}

/// `sources.test`'s reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestedSource {
    /// Where it would be published.
    pub subject: String,
    /// The event type.
    pub event_type: String,
    /// The `Nats-Msg-Id` (absent when the request carries no delivery id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    /// The payload.
    pub payload: serde_json::Value,
}

/// `sources.requests`: recent requests to one source, oldest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListSourceRequests {
    /// Which source.
    pub name: String,
    /// From this time (default: one hour ago).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Continue after this stream sequence (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Page size, 1-500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// What became of one request to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOutcome {
    /// Verified and stored by JetStream.
    Published,
    /// Verified; JetStream had it already (a provider retry).
    Duplicate,
    /// The source is not active.
    Inactive,
    /// The client address is outside the allowed networks.
    IpNotAllowed,
    /// Over the source's rate limit.
    RateLimited,
    /// The body is over the limit.
    TooLarge,
    /// The body did not arrive in time or could not be read.
    BadRequest,
    /// No signature where the scheme needs one.
    MissingSignature,
    /// A signature that does not match.
    BadSignature,
    /// A signed timestamp outside the tolerance (replay or skewed clock).
    StaleTimestamp,
    /// The transform failed on this request.
    TransformFailed,
    /// Too many requests in flight on this instance.
    Overloaded,
    /// JetStream did not acknowledge in time (broker outage).
    Unavailable,
    /// A provider's handshake (Slack's `url_verification`, a CloudEvents validation
    /// request), answered as the provider expects; nothing is published.
    Handshake,
}

impl RequestOutcome {
    /// The outcome's name as the API writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Published => "published",
            Self::Duplicate => "duplicate",
            Self::Inactive => "inactive",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::RateLimited => "rate_limited",
            Self::TooLarge => "too_large",
            Self::BadRequest => "bad_request",
            Self::MissingSignature => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::StaleTimestamp => "stale_timestamp",
            Self::TransformFailed => "transform_failed",
            Self::Overloaded => "overloaded",
            Self::Unavailable => "unavailable",
            Self::Handshake => "handshake",
        }
    }

    /// The HTTP status answered.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::Published | Self::Duplicate | Self::Handshake => 200,
            Self::Inactive | Self::IpNotAllowed => 403,
            Self::RateLimited => 429,
            Self::TooLarge => 413,
            Self::BadRequest => 400,
            Self::MissingSignature | Self::BadSignature | Self::StaleTimestamp => 401,
            Self::TransformFailed => 500,
            Self::Overloaded | Self::Unavailable => 503,
        }
    }

    /// Whether the request passed verification (counted as verified).
    #[must_use]
    pub fn verified(self) -> bool {
        matches!(
            self,
            Self::Published
                | Self::Duplicate
                | Self::TransformFailed
                | Self::Overloaded
                | Self::Unavailable
        )
    }
}

/// One request to a source, as recorded on `<prefix>.live.<tenant>.sources.<name>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRequest {
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The tenant.
    pub tenant: Tenant,
    /// The source.
    pub source: String,
    /// The client address (after trusted proxies).
    pub client: String,
    /// What became of it.
    pub outcome: RequestOutcome,
    /// The HTTP status answered.
    pub status: u16,
    /// Why it failed, for operators (never sent to the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The event type, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The `Nats-Msg-Id` published with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    /// Request headers, sensitive ones redacted.
    pub headers: BTreeMap<String, String>,
    /// Body size.
    pub body_bytes: usize,
    /// The body's start.
    pub body_excerpt: String,
    /// Time from the request's arrival to its answer.
    pub latency_us: u64,
}

/// `sources.requests`' reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRequestPage {
    /// Requests, oldest first.
    pub requests: Vec<SourceRequest>,
    /// Where the next page starts, when there may be more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<u64>,
}

/// A source's counters on the instance that answers (`sources.stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// Requests that reached the source.
    pub received: u64,
    /// Requests that passed verification.
    pub verified: u64,
    /// Requests published (not counting duplicates).
    pub published: u64,
    /// Provider retries JetStream already had.
    pub duplicates: u64,
    /// Handshakes answered (not counted as received events or rejections).
    #[serde(default)]
    pub handshakes: u64,
    /// Requests refused or failed, by outcome.
    pub rejected: BTreeMap<RequestOutcome, u64>,
    /// Median time to answer a published request, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_us: Option<u64>,
    /// 99th percentile of the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<u64>,
}

impl CreateSource {
    /// Validates the request into a source; `now` stamps it. The secret is checked apart
    /// (see [`check_secret`]).
    pub fn into_source(
        self,
        tenant: Tenant,
        subjects: &Subjects,
        now: DateTime<Utc>,
    ) -> Result<Source, AdminError> {
        let name = validate_name(&self.name)?;
        let verification = self.verification.unwrap_or_default().validate()?;
        let subject = match self.subject {
            Some(subject) => validate_subject(subjects, &tenant, &subject)?,
            None => format!("{}.{name}", subjects.tenant_events_base(&tenant)),
        };
        Ok(Source {
            tenant,
            subject,
            type_from: rule(self.type_from, &verification, true)?,
            type_rules: rules::validate_type_rules(
                self.type_rules.unwrap_or_default(),
                "type_rules",
            )?,
            id_from: rule(self.id_from, &verification, false)?,
            verification,
            transform: self.transform.map(validate_transform).transpose()?,
            rate_limit_per_minute: validate_rate(self.rate_limit_per_minute)?,
            allowed_networks: parse_networks(
                "allowed_networks",
                &self.allowed_networks.unwrap_or_default(),
            )?,
            active: self.active.unwrap_or(true),
            max_body_bytes: validate_body_limit(self.max_body_bytes)?,
            name,
            created_at: now,
            updated_at: now,
        })
    }
}

impl UpdateSource {
    /// Applies the change to `current`; whether the verification scheme changed is for the
    /// caller to pair with a secret.
    pub fn apply(
        self,
        current: &Source,
        subjects: &Subjects,
        now: DateTime<Utc>,
    ) -> Result<Source, AdminError> {
        let mut next = current.clone();
        if let Some(subject) = self.subject {
            next.subject = validate_subject(subjects, &current.tenant, &subject)?;
        }
        let scheme_changed = self.verification.is_some();
        if let Some(verification) = self.verification {
            next.verification = verification.validate()?;
        }
        // Rules left at the old scheme's defaults follow the scheme.
        let keep =
            |rule: &ValueFrom, old_default: ValueFrom| !(scheme_changed && *rule == old_default);
        next.type_from = match self.type_from {
            Some(rule_change) => rule(rule_change, &next.verification, true)?,
            None if keep(&current.type_from, current.verification.default_type_from()) => {
                current.type_from.clone()
            }
            None => next.verification.default_type_from(),
        };
        if let Some(type_rules) = self.type_rules {
            next.type_rules = rules::validate_type_rules(type_rules, "type_rules")?;
        }
        next.id_from = match self.id_from {
            Some(rule_change) => rule(rule_change, &next.verification, false)?,
            None if keep(&current.id_from, current.verification.default_id_from()) => {
                current.id_from.clone()
            }
            None => next.verification.default_id_from(),
        };
        if let Some(transform) = self.transform {
            next.transform = transform.map(validate_transform).transpose()?;
        }
        if let Some(rate) = self.rate_limit_per_minute {
            next.rate_limit_per_minute = validate_rate(Some(rate))?;
        }
        if let Some(networks) = self.allowed_networks {
            next.allowed_networks = parse_networks("allowed_networks", &networks)?;
        }
        if let Some(active) = self.active {
            next.active = active;
        }
        if let Some(limit) = self.max_body_bytes {
            next.max_body_bytes = validate_body_limit(Some(limit))?;
        }
        next.updated_at = now;
        Ok(next)
    }
}

/// Checks a source name: 1-64 of `a-z 0-9 - _`, starting with a letter or digit (it is a
/// subject token).
pub fn validate_name(name: &str) -> Result<String, AdminError> {
    if is_lowercase_name(name, MAX_NAME_LEN) {
        Ok(name.to_owned())
    } else {
        Err(AdminError::invalid(
            "name",
            format!("{name:?}: 1-{MAX_NAME_LEN} of a-z 0-9 - _, starting with a letter or digit"),
        ))
    }
}

/// Checks a provider secret for `verification`: required unless the scheme is `none`,
/// a `whsec_` secret for Standard Webhooks, 16-1024 visible characters otherwise.
pub fn check_secret(verification: &Verification, secret: &str) -> Result<(), AdminError> {
    if let Verification::Standard { .. } = verification {
        return crate::signing::Secret::parse(secret)
            .map(|_| ())
            .map_err(|e| AdminError::invalid("secret", e.to_string()));
    }
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len())
        || !secret.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(AdminError::invalid(
            "secret",
            format!("{MIN_SECRET_LEN}-{MAX_SECRET_LEN} visible ASCII characters"),
        ));
    }
    Ok(())
}

fn rule(
    given: Option<ValueFrom>,
    verification: &Verification,
    is_type: bool,
) -> Result<ValueFrom, AdminError> {
    match (given, is_type) {
        (Some(rule), true) => rule.validate("type_from", true),
        (Some(rule), false) => rule.validate("id_from", false),
        (None, true) => Ok(verification.default_type_from()),
        (None, false) => Ok(verification.default_id_from()),
    }
}

fn validate_subject(
    subjects: &Subjects,
    tenant: &Tenant,
    subject: &str,
) -> Result<String, AdminError> {
    let base = subjects.tenant_events_base(tenant);
    let rest = subject
        .strip_prefix(&base)
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or_else(|| {
            AdminError::invalid(
                "subject",
                format!("must lie under this tenant's events: {base}.<something>"),
            )
        })?;
    if rest.split('.').count() > 8 || crate::EventType::new(rest).is_err() {
        return Err(AdminError::invalid(
            "subject",
            "dot-separated tokens of A-Z a-z 0-9 - _ after the tenant (at most 8), no wildcards",
        ));
    }
    Ok(subject.to_owned())
}

fn validate_transform(template: String) -> Result<String, AdminError> {
    if template.len() > MAX_TRANSFORM_LEN {
        return Err(AdminError::invalid(
            "transform",
            format!("at most {MAX_TRANSFORM_LEN} bytes"),
        ));
    }
    Ok(template)
}

fn validate_rate(rate: Option<u32>) -> Result<u32, AdminError> {
    let rate = rate.unwrap_or(DEFAULT_RATE_PER_MINUTE);
    if (1..=MAX_RATE_PER_MINUTE).contains(&rate) {
        Ok(rate)
    } else {
        Err(AdminError::invalid(
            "rate_limit_per_minute",
            format!("must be 1-{MAX_RATE_PER_MINUTE}"),
        ))
    }
}

fn validate_body_limit(limit: Option<u32>) -> Result<u32, AdminError> {
    let limit = limit.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if (1..=MAX_BODY_BYTES).contains(&limit) {
        Ok(limit)
    } else {
        Err(AdminError::invalid(
            "max_body_bytes",
            format!("must be 1-{MAX_BODY_BYTES}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects() -> Subjects {
        Subjects::new("hookwire").unwrap()
    }

    fn create(json: serde_json::Value) -> Result<Source, AdminError> {
        let request: CreateSource = serde_json::from_value(json).unwrap();
        request.into_source(Tenant::default(), &subjects(), Utc::now())
    }

    #[test]
    fn defaults_follow_the_scheme() {
        let source =
            create(serde_json::json!({"name": "gh", "verification": {"scheme": "github"}}))
                .unwrap();
        assert_eq!(source.subject, "hookwire.events.default.gh");
        assert_eq!(source.type_from, ValueFrom::Header("x-github-event".into()));
        assert_eq!(
            source.id_from,
            ValueFrom::Header("x-github-delivery".into())
        );
        assert_eq!(source.rate_limit_per_minute, DEFAULT_RATE_PER_MINUTE);
        assert_eq!(source.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert!(source.active);
        let stripe =
            create(serde_json::json!({"name": "s", "verification": {"scheme": "stripe"}})).unwrap();
        assert_eq!(
            stripe.verification,
            Verification::Stripe {
                tolerance_secs: DEFAULT_TOLERANCE_SECS
            }
        );
        assert_eq!(stripe.id_from, ValueFrom::Field("/id".into()));
    }

    #[test]
    fn refuses_bad_fields_naming_them() {
        let field = |json| create(json).unwrap_err().field.unwrap();
        assert_eq!(field(serde_json::json!({"name": "Bad Name"})), "name");
        assert_eq!(field(serde_json::json!({"name": ""})), "name");
        assert_eq!(
            field(serde_json::json!({"name": "a", "subject": "hookwire.events.other.x"})),
            "subject"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "subject": "hookwire.events.default.*"})),
            "subject"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "subject": "hookwire.events.default"})),
            "subject"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "rate_limit_per_minute": 0})),
            "rate_limit_per_minute"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "max_body_bytes": MAX_BODY_BYTES + 1})),
            "max_body_bytes"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "allowed_networks": ["nope"]})),
            "allowed_networks"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "id_from": {"fixed": "x"}})),
            "id_from"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "type_from": {"field": "type"}})),
            "type_from"
        );
        assert_eq!(
            field(serde_json::json!({"name": "a", "type_from": {"header": "bad header"}})),
            "type_from"
        );
        assert_eq!(
            field(
                serde_json::json!({"name": "a", "verification": {"scheme": "hmac", "header": "a b"}})
            ),
            "verification.header"
        );
        assert_eq!(
            field(
                serde_json::json!({"name": "a", "verification": {"scheme": "slack", "tolerance_secs": 0}})
            ),
            "verification.tolerance_secs"
        );
        assert!(
            serde_json::from_value::<CreateSource>(
                serde_json::json!({"name": "a", "verification": {"scheme": "md5"}})
            )
            .is_err()
        );
    }

    #[test]
    fn a_custom_subject_under_the_tenant_is_kept() {
        let source = create(
            serde_json::json!({"name": "a", "subject": "hookwire.events.default.billing.stripe"}),
        )
        .unwrap();
        assert_eq!(source.subject, "hookwire.events.default.billing.stripe");
    }

    #[test]
    fn secrets_are_checked_per_scheme() {
        let standard = Verification::Standard {
            tolerance_secs: 300,
        };
        assert!(check_secret(&standard, &crate::Secret::generate().expose()).is_ok());
        assert!(check_secret(&standard, "not-a-whsec-secret-at-all").is_err());
        assert!(check_secret(&Verification::Github, "short").is_err());
        assert!(check_secret(&Verification::Github, "a long enough secret").is_err());
        assert!(check_secret(&Verification::Github, "a-long-enough-secret").is_ok());
    }

    #[test]
    fn updates_keep_absent_fields_clear_nulls_and_follow_a_new_scheme() {
        let current = create(
            serde_json::json!({"name": "a", "transform": "{{ body }}", "rate_limit_per_minute": 5}),
        )
        .unwrap();
        let update = |json| {
            serde_json::from_value::<UpdateSource>(json)
                .unwrap()
                .apply(&current, &subjects(), Utc::now())
                .unwrap()
        };
        let same = update(serde_json::json!({"name": "a", "active": false}));
        assert_eq!(same.transform.as_deref(), Some("{{ body }}"));
        assert_eq!(same.rate_limit_per_minute, 5);
        assert!(!same.active);
        let cleared = update(serde_json::json!({"name": "a", "transform": null}));
        assert_eq!(cleared.transform, None);
        let github = update(serde_json::json!({"name": "a", "verification": {"scheme": "github"}}));
        assert_eq!(github.type_from, ValueFrom::Header("x-github-event".into()));
        let custom =
            create(serde_json::json!({"name": "b", "type_from": {"fixed": "ping"}})).unwrap();
        let moved = serde_json::from_value::<UpdateSource>(
            serde_json::json!({"name": "b", "verification": {"scheme": "github"}}),
        )
        .unwrap()
        .apply(&custom, &subjects(), Utc::now())
        .unwrap();
        assert_eq!(
            moved.type_from,
            ValueFrom::Fixed("ping".into()),
            "a chosen rule stays"
        );
    }

    #[test]
    fn outcomes_map_to_statuses() {
        assert_eq!(RequestOutcome::Published.status(), 200);
        assert_eq!(RequestOutcome::BadSignature.status(), 401);
        assert_eq!(RequestOutcome::RateLimited.status(), 429);
        assert_eq!(RequestOutcome::Unavailable.status(), 503);
        assert!(RequestOutcome::Unavailable.verified());
        assert!(!RequestOutcome::StaleTimestamp.verified());
        for outcome in [
            RequestOutcome::Published,
            RequestOutcome::Duplicate,
            RequestOutcome::Inactive,
            RequestOutcome::IpNotAllowed,
            RequestOutcome::RateLimited,
            RequestOutcome::TooLarge,
            RequestOutcome::BadRequest,
            RequestOutcome::MissingSignature,
            RequestOutcome::BadSignature,
            RequestOutcome::StaleTimestamp,
            RequestOutcome::TransformFailed,
            RequestOutcome::Overloaded,
            RequestOutcome::Unavailable,
        ] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }
}
