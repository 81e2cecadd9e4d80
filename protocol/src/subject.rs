//! The NATS subject layout and the names that appear in it.
//!
//! | subject | what |
//! | --- | --- |
//! | `<prefix>.events.<tenant>.<event.type>` | events in |
//! | `<prefix>.admin.<tenant>.<noun>.<verb>` | admin request/reply |
//! | `<prefix>.live.<tenant>.<endpoint-id>` | every delivery attempt as it happens |
//!
//! The prefix defaults to `hookwire` and may be any valid subject of one or more tokens.
//! Every name that becomes a subject token is validated here, so a tenant or an event type
//! can never smuggle a `.`, a wildcard or white space into a subject.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The subject prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "hookwire";
/// The tenant used when none is named.
pub const DEFAULT_TENANT: &str = "default";
/// Event types under this namespace are Hookwire's own operational events.
pub const OPERATIONAL_NAMESPACE: &str = "hookwire";

const MAX_TENANT_LEN: usize = 64;
const MAX_EVENT_TYPE_LEN: usize = 255;
const MAX_EVENT_TYPE_TOKENS: usize = 16;
const MAX_PREFIX_LEN: usize = 128;
const MAX_ID_LEN: usize = 128;

/// Why a name or subject was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    /// A tenant name broke the naming rule.
    #[error(
        "invalid tenant {0:?}: use 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
    )]
    InvalidTenant(String),
    /// An event type broke the naming rule.
    #[error(
        "invalid event type {0:?}: use up to 16 dot-separated tokens of A-Z, a-z, 0-9, '-' and '_' (at most 255 characters)"
    )]
    InvalidEventType(String),
    /// A subject prefix was not a valid literal NATS subject.
    #[error(
        "invalid subject prefix {0:?}: use dot-separated tokens of A-Z, a-z, 0-9, '-' and '_' (at most 128 characters)"
    )]
    InvalidPrefix(String),
    /// An identifier (endpoint id, admin noun or verb) was not a single safe token.
    #[error("invalid {what} {value:?}: use 1-128 characters of A-Z, a-z, 0-9, '-' and '_'")]
    InvalidToken {
        /// What the token names, e.g. "endpoint id".
        what: &'static str,
        /// The refused value.
        value: String,
    },
    /// A subject did not have the expected shape.
    #[error("subject {subject:?} is not a {kind} subject under prefix {prefix:?}")]
    WrongShape {
        /// The subject that was parsed.
        subject: String,
        /// The kind expected: "events", "admin" or "live".
        kind: &'static str,
        /// The configured prefix.
        prefix: String,
    },
}

/// True for a non-empty token of `A-Z a-z 0-9 - _` no longer than `max`.
fn is_plain_token(token: &str, max: usize) -> bool {
    !token.is_empty()
        && token.len() <= max
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True for 1 to `max` characters of `a-z 0-9 - _` starting with a letter or digit: the rule
/// for tenants and source names, which appear in subjects and in consoles.
pub(crate) fn is_lowercase_name(name: &str, max: usize) -> bool {
    name.len() <= max
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// True for one or more dot-separated plain tokens.
fn is_plain_subject(subject: &str, max_len: usize, max_tokens: usize) -> bool {
    subject.len() <= max_len
        && subject.split('.').count() <= max_tokens
        && subject.split('.').all(|t| is_plain_token(t, max_len))
}

/// Checks one subject token such as an endpoint id, an admin noun or an admin verb.
pub fn validate_token(what: &'static str, value: &str) -> Result<(), SubjectError> {
    if is_plain_token(value, MAX_ID_LEN) {
        Ok(())
    } else {
        Err(SubjectError::InvalidToken {
            what,
            value: value.to_owned(),
        })
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The name as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = SubjectError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = SubjectError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(&s)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// A tenant: the namespace of one customer of the platform.
///
/// One to 64 characters of `a-z 0-9 - _`, starting with a letter or digit. Lowercase only,
/// so that `Acme` and `acme` can never be two tenants that look alike in a console.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(String);

impl Tenant {
    /// Validates and wraps a tenant name.
    pub fn new(name: &str) -> Result<Self, SubjectError> {
        if is_lowercase_name(name, MAX_TENANT_LEN) {
            Ok(Self(name.to_owned()))
        } else {
            Err(SubjectError::InvalidTenant(name.to_owned()))
        }
    }
}

impl Default for Tenant {
    fn default() -> Self {
        Self(DEFAULT_TENANT.to_owned())
    }
}

string_newtype!(Tenant);

/// An event type such as `memory.created`: the part of an events subject after the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

impl EventType {
    /// Validates and wraps an event type.
    pub fn new(name: &str) -> Result<Self, SubjectError> {
        if is_plain_subject(name, MAX_EVENT_TYPE_LEN, MAX_EVENT_TYPE_TOKENS) {
            Ok(Self(name.to_owned()))
        } else {
            Err(SubjectError::InvalidEventType(name.to_owned()))
        }
    }

    /// True for Hookwire's own operational events (`hookwire.endpoint.disabled`, ...).
    #[must_use]
    pub fn is_operational(&self) -> bool {
        self.0
            .split('.')
            .next()
            .is_some_and(|first| first == OPERATIONAL_NAMESPACE)
    }

    /// The dot-separated tokens of the type.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }
}

string_newtype!(EventType);

/// An admin subject taken apart: `<prefix>.admin.<tenant>.<noun>.<verb>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSubject {
    /// The tenant the request acts on.
    pub tenant: Tenant,
    /// What the request is about, e.g. `endpoints`.
    pub noun: String,
    /// What to do, e.g. `create`.
    pub verb: String,
}

/// Builds and parses Hookwire subjects under one configured prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

impl Subjects {
    /// Subjects under `prefix`, which must be a literal subject such as `hookwire` or `acme.hooks`.
    pub fn new(prefix: &str) -> Result<Self, SubjectError> {
        if is_plain_subject(prefix, MAX_PREFIX_LEN, usize::MAX) {
            Ok(Self {
                prefix: prefix.to_owned(),
            })
        } else {
            Err(SubjectError::InvalidPrefix(prefix.to_owned()))
        }
    }

    /// The configured prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>.events.<tenant>.<type>`: where services publish an event.
    #[must_use]
    pub fn event(&self, tenant: &Tenant, event_type: &EventType) -> String {
        format!("{}.events.{tenant}.{event_type}", self.prefix)
    }

    /// `<prefix>.events.>`: every event of every tenant (the events stream's subject).
    #[must_use]
    pub fn all_events(&self) -> String {
        format!("{}.events.>", self.prefix)
    }

    /// `<prefix>.events.<tenant>`: the base every event subject of `tenant` extends.
    #[must_use]
    pub fn tenant_events_base(&self, tenant: &Tenant) -> String {
        format!("{}.events.{tenant}", self.prefix)
    }

    /// `<prefix>.events.<tenant>.>`: every event of one tenant.
    #[must_use]
    pub fn tenant_events(&self, tenant: &Tenant) -> String {
        format!("{}.events.{tenant}.>", self.prefix)
    }

    /// `<prefix>.events.<tenant>.<filter>`: one tenant's events of the types `filter` matches
    /// (event-type filters are NATS wildcards).
    #[must_use]
    pub fn tenant_events_matching(
        &self,
        tenant: &Tenant,
        filter: &crate::filter::EventTypeFilter,
    ) -> String {
        format!("{}.events.{tenant}.{}", self.prefix, filter.as_str())
    }

    /// Takes an events subject apart into its tenant and event type.
    pub fn parse_event(&self, subject: &str) -> Result<(Tenant, EventType), SubjectError> {
        let wrong = || self.wrong_shape(subject, "events");
        let rest = self.strip(subject, "events").ok_or_else(wrong)?;
        let (tenant, event_type) = rest.split_once('.').ok_or_else(wrong)?;
        Ok((Tenant::new(tenant)?, EventType::new(event_type)?))
    }

    /// `<prefix>.admin.<tenant>.<noun>.<verb>`: one admin operation.
    pub fn admin(&self, tenant: &Tenant, noun: &str, verb: &str) -> Result<String, SubjectError> {
        validate_token("admin noun", noun)?;
        validate_token("admin verb", verb)?;
        Ok(format!("{}.admin.{tenant}.{noun}.{verb}", self.prefix))
    }

    /// `<prefix>.admin.*.<noun>.<verb>`: one admin operation for every tenant (what the service listens on).
    pub fn admin_any_tenant(&self, noun: &str, verb: &str) -> Result<String, SubjectError> {
        validate_token("admin noun", noun)?;
        validate_token("admin verb", verb)?;
        Ok(format!("{}.admin.*.{noun}.{verb}", self.prefix))
    }

    /// `<prefix>.admin.>`: every admin subject, operations or not (what hookwired answers
    /// unknown operations on).
    #[must_use]
    pub fn admin_all(&self) -> String {
        format!("{}.admin.>", self.prefix)
    }

    /// Takes an admin subject apart.
    pub fn parse_admin(&self, subject: &str) -> Result<AdminSubject, SubjectError> {
        let wrong = || self.wrong_shape(subject, "admin");
        let rest = self.strip(subject, "admin").ok_or_else(wrong)?;
        let mut parts = rest.split('.');
        let (Some(tenant), Some(noun), Some(verb), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(wrong());
        };
        validate_token("admin noun", noun)?;
        validate_token("admin verb", verb)?;
        Ok(AdminSubject {
            tenant: Tenant::new(tenant)?,
            noun: noun.to_owned(),
            verb: verb.to_owned(),
        })
    }

    /// `<prefix>.live.<tenant>.<endpoint-id>`: attempts for one endpoint as they happen.
    pub fn live(&self, tenant: &Tenant, endpoint_id: &str) -> Result<String, SubjectError> {
        validate_token("endpoint id", endpoint_id)?;
        Ok(format!("{}.live.{tenant}.{endpoint_id}", self.prefix))
    }

    /// `<prefix>.live.<tenant>.*`: attempts for every endpoint of a tenant.
    #[must_use]
    pub fn tenant_live(&self, tenant: &Tenant) -> String {
        format!("{}.live.{tenant}.*", self.prefix)
    }

    /// `<prefix>.live.*.*`: attempts of every endpoint of every tenant (not source requests).
    #[must_use]
    pub fn all_attempts(&self) -> String {
        format!("{}.live.*.*", self.prefix)
    }

    /// `<prefix>.live.<tenant>.sources.<name>`: requests to one source as they are answered.
    pub fn source_live(&self, tenant: &Tenant, name: &str) -> Result<String, SubjectError> {
        validate_token("source name", name)?;
        Ok(format!("{}.live.{tenant}.sources.{name}", self.prefix))
    }

    /// Takes a live subject apart into its tenant and endpoint id.
    pub fn parse_live(&self, subject: &str) -> Result<(Tenant, String), SubjectError> {
        self.parse_per_endpoint(subject, "live")
    }

    /// `<prefix>.listen.<tenant>.<endpoint-id>`: webhooks relayed to `hookwire listen`
    /// (see [`crate::listen`]).
    pub fn listen(&self, tenant: &Tenant, endpoint_id: &str) -> Result<String, SubjectError> {
        validate_token("endpoint id", endpoint_id)?;
        Ok(format!("{}.listen.{tenant}.{endpoint_id}", self.prefix))
    }

    /// `<prefix>.tasks.<tenant>.<endpoint-id>`: delivery tasks waiting for a worker (internal).
    #[must_use]
    pub fn task(&self, tenant: &Tenant, endpoint_id: &str) -> String {
        format!("{}.tasks.{tenant}.{endpoint_id}", self.prefix)
    }

    /// `<prefix>.retry.<seconds>`: deliveries parked in the retry tier of that delay (internal).
    #[must_use]
    pub fn retry_tier(&self, delay_secs: u64) -> String {
        format!("{}.retry.{delay_secs}", self.prefix)
    }

    /// `<prefix>.dead.<tenant>.<endpoint-id>`: dead letters of one endpoint.
    #[must_use]
    pub fn dead(&self, tenant: &Tenant, endpoint_id: &str) -> String {
        format!("{}.dead.{tenant}.{endpoint_id}", self.prefix)
    }

    /// `<prefix>.audit.<tenant>.<action>`: one audit record (internal; read through
    /// `audit.list`). `action` is dot-separated tokens (`endpoints.update`).
    pub fn audit(&self, tenant: &Tenant, action: &str) -> Result<String, SubjectError> {
        for token in action.split('.') {
            validate_token("audit action", token)?;
        }
        Ok(format!("{}.audit.{tenant}.{action}", self.prefix))
    }

    /// `<prefix>.audit.<tenant>.>`: one tenant's audit records.
    #[must_use]
    pub fn tenant_audit(&self, tenant: &Tenant) -> String {
        format!("{}.audit.{tenant}.>", self.prefix)
    }

    /// `<prefix>.held.<tenant>.<endpoint-id>`: deliveries held while their endpoint is paused
    /// or waiting for verification (internal).
    #[must_use]
    pub fn held(&self, tenant: &Tenant, endpoint_id: &str) -> String {
        format!("{}.held.{tenant}.{endpoint_id}", self.prefix)
    }

    /// The lane of one key of an ordered endpoint:
    /// `<prefix>.ordered.<tenant>.<endpoint>.<partition>.<lane>` (`lane`: a hex digest of
    /// the key, so any key fits a token; its partition from [`crate::ordered::partition`]).
    #[must_use]
    pub fn ordered(&self, tenant: &Tenant, endpoint_id: &str, lane: &str) -> String {
        let partition = crate::ordered::partition(lane);
        format!(
            "{}.ordered.{tenant}.{endpoint_id}.{partition}.{lane}",
            self.prefix
        )
    }

    /// Every lane of one partition: `<prefix>.ordered.*.*.<partition>.*`.
    #[must_use]
    pub fn ordered_partition(&self, partition: u8) -> String {
        format!("{}.ordered.*.*.{partition}.*", self.prefix)
    }

    /// `<prefix>.internal.sync`: where an instance asks every instance to confirm it has
    /// applied a configuration change ([`crate::cluster::SyncRequest`]; internal).
    #[must_use]
    pub fn internal_sync(&self) -> String {
        format!("{}.internal.sync", self.prefix)
    }

    /// The tenant and endpoint of a held-deliveries subject.
    pub fn parse_held(&self, subject: &str) -> Result<(Tenant, String), SubjectError> {
        self.parse_per_endpoint(subject, "held")
    }

    /// Takes `<prefix>.<kind>.<tenant>.<endpoint-id>` apart.
    fn parse_per_endpoint(
        &self,
        subject: &str,
        kind: &'static str,
    ) -> Result<(Tenant, String), SubjectError> {
        let wrong = || self.wrong_shape(subject, kind);
        let rest = self.strip(subject, kind).ok_or_else(wrong)?;
        let (tenant, endpoint_id) = rest.split_once('.').ok_or_else(wrong)?;
        validate_token("endpoint id", endpoint_id)?;
        Ok((Tenant::new(tenant)?, endpoint_id.to_owned()))
    }

    /// `<prefix>.<kind>.>`: everything of one kind (`events`, `tasks`, `retry`, `dead`, `live`),
    /// as a stream's subject.
    #[must_use]
    pub fn all_of(&self, kind: &str) -> String {
        format!("{}.{kind}.>", self.prefix)
    }

    /// A name derived from the prefix for streams, buckets and consumers, which allow no dots:
    /// `hookwire` gives `HOOKWIRE_<suffix>`, `acme.hooks` gives `ACME_HOOKS_<suffix>`.
    #[must_use]
    pub fn resource_name(&self, suffix: &str) -> String {
        format!(
            "{}_{suffix}",
            self.prefix.replace('.', "_").to_ascii_uppercase()
        )
    }

    /// The part of `subject` after `<prefix>.<kind>.`, if it starts that way.
    fn strip<'s>(&self, subject: &'s str, kind: &str) -> Option<&'s str> {
        subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('.')?
            .strip_prefix(kind)?
            .strip_prefix('.')
    }

    fn wrong_shape(&self, subject: &str, kind: &'static str) -> SubjectError {
        SubjectError::WrongShape {
            subject: subject.to_owned(),
            kind,
            prefix: self.prefix.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(s: &str) -> Tenant {
        Tenant::new(s).unwrap()
    }

    fn event_type(s: &str) -> EventType {
        EventType::new(s).unwrap()
    }

    #[test]
    fn tenant_names() {
        for ok in ["default", "a", "acme-corp", "t_1", "0team", &"x".repeat(64)] {
            assert!(Tenant::new(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "",
            "Acme",
            "a.b",
            "a*",
            ">",
            "a b",
            "-lead",
            "_lead",
            "ü",
            "a\n",
            &"x".repeat(65),
        ] {
            assert_eq!(
                Tenant::new(bad),
                Err(SubjectError::InvalidTenant(bad.to_owned())),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(Tenant::default().as_str(), "default");
    }

    #[test]
    fn event_type_names() {
        for ok in [
            "memory.created",
            "a",
            "Orders.v2.paid",
            "a-b_c.d",
            "hookwire.delivery.dead",
        ] {
            assert!(EventType::new(ok).is_ok(), "{ok} should be valid");
        }
        let too_many_tokens = vec!["a"; 17].join(".");
        let too_long = "a".repeat(256);
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "a.*",
            "a.>",
            "*",
            "a b",
            "a\tb",
            "é",
            &too_many_tokens,
            &too_long,
        ] {
            assert_eq!(
                EventType::new(bad),
                Err(SubjectError::InvalidEventType(bad.to_owned())),
                "{bad:?} should be refused"
            );
        }
        assert!(EventType::new(&vec!["a"; 16].join(".")).is_ok());
    }

    #[test]
    fn operational_types() {
        assert!(event_type("hookwire.endpoint.disabled").is_operational());
        assert!(event_type("hookwire").is_operational());
        assert!(!event_type("hookwirex.a").is_operational());
        assert!(!event_type("memory.hookwire").is_operational());
    }

    #[test]
    fn prefixes() {
        assert!(Subjects::new("hookwire").is_ok());
        assert!(Subjects::new("acme.hooks").is_ok());
        for bad in ["", "a.", "a.*", "a.>", "a b", ".a"] {
            assert_eq!(
                Subjects::new(bad),
                Err(SubjectError::InvalidPrefix(bad.to_owned()))
            );
        }
    }

    #[test]
    fn event_subjects_round_trip() {
        for prefix in ["hookwire", "acme.hooks"] {
            let subjects = Subjects::new(prefix).unwrap();
            let subject = subjects.event(&tenant("acme"), &event_type("memory.created"));
            assert_eq!(subject, format!("{prefix}.events.acme.memory.created"));
            assert_eq!(
                subjects.parse_event(&subject).unwrap(),
                (tenant("acme"), event_type("memory.created"))
            );
        }
        let subjects = Subjects::default();
        assert_eq!(subjects.all_events(), "hookwire.events.>");
        assert_eq!(
            subjects.tenant_events(&tenant("t1")),
            "hookwire.events.t1.>"
        );
    }

    #[test]
    fn event_subjects_refused() {
        let subjects = Subjects::default();
        for bad in [
            "hookwire.events.acme",
            "hookwire.events",
            "other.events.acme.a",
            "hookwirex.events.acme.a",
            "hookwire.admin.acme.a",
            "hookwire.eventsx.acme.a",
        ] {
            assert!(
                matches!(
                    subjects.parse_event(bad),
                    Err(SubjectError::WrongShape { .. })
                ),
                "{bad} should be the wrong shape"
            );
        }
        assert!(matches!(
            subjects.parse_event("hookwire.events.ACME.a"),
            Err(SubjectError::InvalidTenant(_))
        ));
        assert!(matches!(
            subjects.parse_event("hookwire.events.acme.a..b"),
            Err(SubjectError::InvalidEventType(_))
        ));
    }

    #[test]
    fn admin_subjects() {
        let subjects = Subjects::default();
        let subject = subjects
            .admin(&tenant("acme"), "endpoints", "create")
            .unwrap();
        assert_eq!(subject, "hookwire.admin.acme.endpoints.create");
        assert_eq!(
            subjects.parse_admin(&subject).unwrap(),
            AdminSubject {
                tenant: tenant("acme"),
                noun: "endpoints".into(),
                verb: "create".into()
            }
        );
        assert_eq!(
            subjects.admin_any_tenant("endpoints", "list").unwrap(),
            "hookwire.admin.*.endpoints.list"
        );
        assert!(subjects.admin(&tenant("a"), "end.points", "x").is_err());
        assert!(subjects.admin(&tenant("a"), "endpoints", "*").is_err());
        for bad in [
            "hookwire.admin.acme.endpoints",
            "hookwire.admin.acme.endpoints.create.extra",
            "hookwire.admin.Acme.endpoints.create",
            "hookwire.live.acme.endpoints.create",
        ] {
            assert!(
                subjects.parse_admin(bad).is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn live_subjects() {
        let subjects = Subjects::default();
        let subject = subjects.live(&tenant("acme"), "ep_123").unwrap();
        assert_eq!(subject, "hookwire.live.acme.ep_123");
        assert_eq!(
            subjects.parse_live(&subject).unwrap(),
            (tenant("acme"), "ep_123".to_owned())
        );
        assert_eq!(
            subjects.tenant_live(&tenant("acme")),
            "hookwire.live.acme.*"
        );
        assert_eq!(
            subjects.source_live(&tenant("acme"), "github").unwrap(),
            "hookwire.live.acme.sources.github"
        );
        assert!(subjects.source_live(&tenant("acme"), "a.b").is_err());
        assert_eq!(
            subjects.listen(&tenant("acme"), "ep_123").unwrap(),
            "hookwire.listen.acme.ep_123"
        );
        assert!(subjects.listen(&tenant("acme"), "a.*").is_err());
        assert!(subjects.live(&tenant("acme"), "a.b").is_err());
        assert!(subjects.live(&tenant("acme"), "").is_err());
        assert!(subjects.parse_live("hookwire.live.acme.a.b").is_err());
        assert!(subjects.parse_live("hookwire.live.acme").is_err());
        let held = subjects.held(&Tenant::new("acme").unwrap(), "ep_1");
        assert_eq!(held, "hookwire.held.acme.ep_1");
        assert_eq!(subjects.parse_held(&held).unwrap().1, "ep_1");
        assert!(subjects.parse_held("hookwire.live.acme.ep_1").is_err());
        let lane = "1a".repeat(16);
        assert_eq!(
            subjects.ordered(&tenant("acme"), "ep_1", &lane),
            format!("hookwire.ordered.acme.ep_1.10.{lane}")
        );
        assert_eq!(subjects.ordered_partition(10), "hookwire.ordered.*.*.10.*");
    }

    #[test]
    fn internal_subjects_and_resource_names() {
        let subjects = Subjects::new("acme.hooks").unwrap();
        assert_eq!(subjects.task(&tenant("t"), "ep"), "acme.hooks.tasks.t.ep");
        assert_eq!(subjects.retry_tier(30), "acme.hooks.retry.30");
        assert_eq!(subjects.dead(&tenant("t"), "ep"), "acme.hooks.dead.t.ep");
        assert_eq!(subjects.all_of("tasks"), "acme.hooks.tasks.>");
        assert_eq!(subjects.resource_name("EVENTS"), "ACME_HOOKS_EVENTS");
        assert_eq!(
            Subjects::default().resource_name("config"),
            "HOOKWIRE_config"
        );
    }

    #[test]
    fn names_deserialize_with_validation() {
        let t: Tenant = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(t.as_str(), "acme");
        let err = serde_json::from_str::<Tenant>("\"A.B\"").unwrap_err();
        assert!(err.to_string().contains("invalid tenant"), "{err}");
        assert_eq!(
            serde_json::to_string(&event_type("a.b")).unwrap(),
            "\"a.b\""
        );
        assert!(serde_json::from_str::<EventType>("\"a.*\"").is_err());
    }
}
