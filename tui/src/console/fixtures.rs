//! Test data for the console, built from the protocol's own types and constructors (the
//! same validation hookwired applies), so a fixture cannot drift from what hookwired sends.

use chrono::{DateTime, TimeZone as _, Utc};
use hookwire_protocol::attempt::{ErrorKind, Outcome};
use hookwire_protocol::catalog::{CreateType, EventTypeDef};
use hookwire_protocol::dead_letter::DeadLetter;
use hookwire_protocol::delivery::DeliveryRecord;
use hookwire_protocol::endpoint::{CreateEndpoint, Endpoint, EndpointStatus};
use hookwire_protocol::ordered::BlockedKey;
use hookwire_protocol::source::{CreateSource, SourceView, Verification};
use hookwire_protocol::{Secret, Subjects, Tenant};

/// The time every fixture is relative to.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

/// `seconds` before [`now`].
pub(crate) fn ago(seconds: i64) -> DateTime<Utc> {
    now() - chrono::TimeDelta::seconds(seconds)
}

/// An endpoint as `endpoints.create` makes it, then set to `status`.
pub(crate) fn endpoint(id: &str, url: &str) -> Endpoint {
    let (mut endpoint, _, _) = CreateEndpoint {
        id: Some(id.to_owned()),
        url: url.to_owned(),
        ..CreateEndpoint::default()
    }
    .into_endpoint(Tenant::default(), String::new(), Secret::generate(), now())
    .unwrap();
    endpoint.status = EndpointStatus::Active;
    endpoint
}

/// The lane of `key` as hookwired names it (a 32-hex digest; any 32 hex digits will do here).
pub(crate) fn lane_of(key: &str) -> String {
    use std::fmt::Write as _;
    let mut lane = key.bytes().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    lane.truncate(32);
    format!("{lane:0<32}")
}

/// A blocked key of an ordered endpoint, waiting since `seconds_ago`, its head failed twice.
pub(crate) fn blocked_key(key: &str, event_id: &str, seconds_ago: i64) -> BlockedKey {
    BlockedKey {
        lane: lane_of(key),
        key: key.to_owned(),
        event_id: event_id.to_owned(),
        event_seq: 42,
        attempts: 2,
        last_error: Some("status 503".into()),
        next_attempt_at: Some(now() + chrono::TimeDelta::seconds(4)),
        since: ago(seconds_ago),
    }
}

/// An event type as `types.create` makes it.
pub(crate) fn event_type(name: &str) -> EventTypeDef {
    CreateType {
        name: name.to_owned(),
        ..CreateType::default()
    }
    .into_def(now())
    .unwrap()
}

/// A delivery after its latest attempt.
pub(crate) fn delivery(
    endpoint_id: &str,
    event_id: &str,
    state: Outcome,
    status: Option<u16>,
    seconds_ago: i64,
) -> DeliveryRecord {
    DeliveryRecord {
        tenant: Tenant::default(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event_id.to_owned(),
        event_seq: 12,
        event_type: "orders.paid".to_owned(),
        state,
        attempts: 2,
        last_status: status,
        last_error: (status != Some(200)).then_some(ErrorKind::Status),
        next_attempt_at: None,
        updated_at: ago(seconds_ago),
        test: false,
        batch_id: None,
    }
}

/// A dead letter.
pub(crate) fn dead_letter(seq: u64, endpoint_id: &str, event_id: &str) -> DeadLetter {
    DeadLetter {
        seq,
        endpoint_id: endpoint_id.to_owned(),
        event_id: event_id.to_owned(),
        event_type: "orders.paid".to_owned(),
        attempts: 6,
        last_error: None,
        dead_at: now(),
        batch_size: None,
    }
}

/// A source as `sources.create` makes it, at path `/in/<token>`.
pub(crate) fn source(name: &str, verification: Verification, token: &str) -> SourceView {
    let source = CreateSource {
        name: name.to_owned(),
        verification: Some(verification),
        ..CreateSource::default()
    }
    .into_source(Tenant::default(), &Subjects::default(), now())
    .unwrap();
    SourceView {
        source,
        path: format!("/in/{token}"),
        url: None,
    }
}

/// Two versions of template `chat`, the second pinned by `ep_billing`.
pub(crate) fn template() -> hookwire_protocol::template::TemplateDetail {
    use hookwire_protocol::template::{
        AddTemplateVersion, CreateTemplate, PinnedBy, TemplateDetail,
    };
    let v1 = CreateTemplate {
        name: "chat".to_owned(),
        preset: Some("slack".to_owned()),
        description: Some("alerts to #ops".to_owned()),
        ..CreateTemplate::default()
    }
    .into_version(ago(7200))
    .unwrap();
    let v2 = AddTemplateVersion {
        name: "chat".to_owned(),
        body: Some(Some(
            "{\"text\": {{ event.type ~ \": \" ~ data.summary }}}".to_owned(),
        )),
        ..AddTemplateVersion::default()
    }
    .next_version(&v1, ago(600))
    .unwrap();
    TemplateDetail {
        name: "chat".to_owned(),
        versions: vec![v1, v2],
        pinned_by: vec![PinnedBy {
            endpoint_id: "ep_billing".to_owned(),
            version: 2,
        }],
    }
}
