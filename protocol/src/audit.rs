//! The audit log: one record per admin change and per security event, kept on the audit
//! stream and read back with `audit.list`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::subject::Tenant;

/// The header a caller may set to say who it is (`user@host` for the CLI and console).
/// What it says is recorded as declared: NATS does not vouch for it.
pub const REQUESTER_HEADER: &str = "Hookwire-Requester";
/// The header nats-server adds to requests crossing accounts through a service import
/// that shares the requester's identity.
pub const REQUEST_INFO_HEADER: &str = "Nats-Request-Info";
const MAX_DECLARED_LEN: usize = 256;

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// The tenant acted on.
    pub tenant: Tenant,
    /// What happened: `<noun>.<verb>` for admin requests (`endpoints.update`), or a
    /// security event (`endpoint.disabled`, `delivery.blocked_destination`,
    /// `delivery.auth_failed`, `endpoint.verification_failed`).
    pub action: String,
    /// What it happened to (an endpoint id, a type name, a replay job), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `ok`, or the error code that refused it (`invalid_request`, `not_found`, ...), or
    /// `failed` for a security event that is itself a failure.
    pub outcome: String,
    /// Why, for refusals and security events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Who asked.
    pub requester: Requester,
}

/// Who caused an audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// The NATS user or account, what the request declared, or `hookwired`.
    pub name: String,
    /// How the name is known.
    pub source: RequesterSource,
}

/// How a requester's name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequesterSource {
    /// nats-server said so (the request came through a service import sharing identity).
    Nats,
    /// The request said so in `Hookwire-Requester`; not verified.
    Declared,
    /// Nobody said: the request named no one.
    Unknown,
    /// `hookwired` itself (security events found while delivering).
    System,
}

impl Requester {
    /// `hookwired` acting on its own.
    #[must_use]
    pub fn system() -> Self {
        Self {
            name: "hookwired".to_owned(),
            source: RequesterSource::System,
        }
    }

    /// The requester of an admin request from its headers: the identity nats-server
    /// shared (`Nats-Request-Info`: the user, else the account) wins over a declared name.
    #[must_use]
    pub fn from_headers(request_info: Option<&str>, declared: Option<&str>) -> Self {
        #[derive(Deserialize)]
        struct Info {
            #[serde(default)]
            acc: Option<String>,
            #[serde(default)]
            user: Option<String>,
        }
        let shared = request_info
            .and_then(|text| serde_json::from_str::<Info>(text).ok())
            .and_then(|info| {
                let account = info.acc.filter(|a| !a.is_empty());
                match (info.user.filter(|u| !u.is_empty()), account) {
                    (Some(user), Some(account)) => Some(format!("{user} ({account})")),
                    (Some(user), None) => Some(user),
                    (None, account) => account,
                }
            });
        if let Some(name) = shared {
            return Self {
                name,
                source: RequesterSource::Nats,
            };
        }
        match declared.map(clean).filter(|d| !d.is_empty()) {
            Some(name) => Self {
                name,
                source: RequesterSource::Declared,
            },
            None => Self {
                name: "unknown".to_owned(),
                source: RequesterSource::Unknown,
            },
        }
    }
}

/// A declared name as recorded: printable, at most 256 bytes.
fn clean(text: &str) -> String {
    let printable: String = text.trim().chars().filter(|c| !c.is_control()).collect();
    let mut end = printable.len().min(MAX_DECLARED_LEN);
    while !printable.is_char_boundary(end) {
        end -= 1;
    }
    printable[..end].to_owned()
}

/// What an admin request acted on, from its body (`id`, `endpoint_id`, `job_id`, `name`,
/// `seq`) or else from its reply (a created endpoint's generated `id`).
#[must_use]
pub fn target_of(request: &[u8], reply: Option<&[u8]>) -> Option<String> {
    let field = |bytes: &[u8]| {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        ["id", "endpoint_id", "job_id", "name", "seq"]
            .iter()
            .find_map(|key| match &value[*key] {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    field(request).or_else(|| reply.and_then(field))
}

/// `audit.list`: a tenant's audit records in time order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListAudit {
    /// From this time (default: 24 hours ago).
    #[serde(default, with = "crate::time::rfc3339_option")]
    pub since: Option<DateTime<Utc>>,
    /// Only actions starting with this (`endpoints.`, `delivery.blocked_destination`).
    #[serde(default)]
    pub action: Option<String>,
    /// Only records about this target.
    #[serde(default)]
    pub target: Option<String>,
    /// Continue after this stream sequence (the previous page's `next_cursor`).
    #[serde(default)]
    pub cursor: Option<u64>,
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One record as `audit.list` shows it: the record and its sequence in the audit stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its sequence (a `cursor` to continue after).
    pub seq: u64,
    /// The record.
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// The reply to `audit.list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Records, oldest first.
    pub records: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_identity_wins_over_a_declared_name() {
        let shared = Requester::from_headers(
            Some(r#"{"acc":"TENANTS","user":"tenant-acme","rtt":"1ms"}"#),
            Some("mallory@laptop"),
        );
        assert_eq!(shared.name, "tenant-acme (TENANTS)");
        assert_eq!(shared.source, RequesterSource::Nats);
        let account_only = Requester::from_headers(Some(r#"{"acc":"TENANTS"}"#), None);
        assert_eq!(account_only.name, "TENANTS");
        let declared = Requester::from_headers(Some("not json"), Some(" ops@bastion\n"));
        assert_eq!(
            (declared.name.as_str(), declared.source),
            ("ops@bastion", RequesterSource::Declared)
        );
        let nobody = Requester::from_headers(None, Some("\u{7}"));
        assert_eq!(nobody.source, RequesterSource::Unknown);
        let long = Requester::from_headers(None, Some(&"é".repeat(300)));
        assert!(long.name.len() <= MAX_DECLARED_LEN);
    }

    #[test]
    fn targets_come_from_the_request_or_the_reply() {
        assert_eq!(
            target_of(br#"{"id":"ep_1"}"#, None).as_deref(),
            Some("ep_1")
        );
        assert_eq!(
            target_of(br#"{"endpoint_id":"ep_2","since":"x"}"#, None).as_deref(),
            Some("ep_2")
        );
        assert_eq!(target_of(br#"{"seq":42}"#, None).as_deref(), Some("42"));
        assert_eq!(
            target_of(br#"{"url":"https://x"}"#, Some(br#"{"id":"ep_new"}"#)).as_deref(),
            Some("ep_new")
        );
        assert_eq!(target_of(b"garbage", None), None);
    }
}
