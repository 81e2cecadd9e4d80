//! Fuzz targets on stable Rust: every parser that takes outside input gets arbitrary bytes
//! and text (subjects, admin request bodies, signature headers, networks, incoming
//! webhooks: their verification, value rules, event types and message ids, and source
//! requests) and must answer with a value or an error, never a panic; plus a property test
//! that random sequences of admin changes keep an endpoint consistent.
//!
//! `scripts/test` runs each target for a bounded number of cases (`PROPTEST_CASES`, 256 by
//! default); `scripts/fuzz` runs them far longer.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use chrono::{DateTime, Duration, Utc};
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::auth::Credentials;
use hookwire_protocol::content_filter::ContentFilter;
use hookwire_protocol::endpoint::{
    CreateEndpoint, Endpoint, EndpointStatus, StatusChange, UpdateEndpoint,
};
use hookwire_protocol::inbound::{self, sign};
use hookwire_protocol::network::{self, NetworkRules};
use hookwire_protocol::schemes::{stripe_signature, verify_github, verify_stripe};
use hookwire_protocol::signing::{self, Secret, WebhookHeaders};
use hookwire_protocol::source::{
    CreateSource, HmacAlgorithm, MacEncoding, UpdateSource, ValueFrom, Verification,
};
use hookwire_protocol::{EventType, EventTypeFilter, Subjects, Tenant};
use proptest::prelude::*;

/// Text biased towards the characters the parsers care about.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9_.*>:,= /v1-]{0,40}",
        "hookwire\\.(events|admin|live|held|dead)\\.[a-z0-9_.*>]{0,30}",
    ]
}

/// Value rules, `first_of` and `join` nested in any shape (even empty ones, which saving
/// refuses, to show reading them is safe anyway).
fn value_rule() -> impl Strategy<Value = ValueFrom> {
    let leaf = prop_oneof![
        texty().prop_map(ValueFrom::Header),
        texty().prop_map(ValueFrom::Field),
        texty().prop_map(ValueFrom::Fixed),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(ValueFrom::FirstOf),
            proptest::collection::vec(inner, 0..4).prop_map(ValueFrom::Join),
        ]
    })
}

proptest! {
    #[test]
    fn subjects_parse_or_refuse(subject in texty()) {
        let subjects = Subjects::default();
        let _ = subjects.parse_event(&subject);
        let _ = subjects.parse_admin(&subject);
        let _ = subjects.parse_live(&subject);
        let _ = subjects.parse_held(&subject);
        let _ = Tenant::new(&subject);
        let _ = EventType::new(&subject);
        if let (Ok(filter), Ok(event_type)) = (EventTypeFilter::new(&subject), EventType::new("a.b")) {
            let _ = filter.matches(&event_type);
        }
    }

    #[test]
    fn admin_requests_decode_or_refuse(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let now = Utc::now();
        if let Ok(create) = AdminError::parse::<CreateEndpoint>(&body) {
            let _ = create.into_endpoint(Tenant::default(), "ep_x".into(), Secret::generate(), now);
        }
        let _ = AdminError::parse::<UpdateEndpoint>(&body);
        let _ = AdminError::parse::<serde_json::Value>(&body);
    }

    #[test]
    fn json_shaped_create_requests_validate_or_refuse(
        url in texty(),
        header in texty(),
        networks in prop::collection::vec(texty(), 0..4),
        rate in any::<u32>(),
        scheme in prop_oneof![Just("standard"), Just("stripe"), Just("github"), Just("md5")],
    ) {
        let body = serde_json::json!({
            "url": url,
            "headers": {header.clone(): "v"},
            "allow_networks": networks,
            "rate_limit_per_sec": rate,
            "signature": {"scheme": scheme, "header": header},
        });
        if let Ok(create) = AdminError::parse::<CreateEndpoint>(body.to_string().as_bytes()) {
            let _ = create.into_endpoint(Tenant::default(), "ep_x".into(), Secret::generate(), Utc::now());
        }
    }

    #[test]
    fn signature_headers_verify_or_refuse(
        id in texty(),
        timestamp in texty(),
        signature in texty(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
        tolerance in any::<i64>(),
    ) {
        let secrets = [Secret::generate()];
        let headers = WebhookHeaders { id: &id, timestamp: &timestamp, signature: &signature };
        let _ = signing::verify(&secrets, &headers, &body, now, tolerance);
        let _ = verify_stripe(&secrets, &signature, &body, now, tolerance);
        let _ = verify_github(&secrets, &[signature.as_str()], &body);
        let _ = Secret::parse(&signature);
    }

    #[test]
    fn what_we_sign_verifies(body in prop::collection::vec(any::<u8>(), 0..512), ts in 0_i64..4_000_000_000) {
        let secret = Secret::generate();
        let secrets = std::slice::from_ref(&secret);
        let stripe = stripe_signature(secrets, ts, &body);
        prop_assert_eq!(verify_stripe(secrets, &stripe, &body, ts, 300), Ok(()));
        let standard = signing::signature_header(secrets, "msg_1", ts, &body);
        let ts_text = ts.to_string();
        let headers = WebhookHeaders { id: "msg_1", timestamp: &ts_text, signature: &standard };
        prop_assert_eq!(signing::verify(secrets, &headers, &body, ts, 300), Ok(()));
    }

    #[test]
    fn networks_parse_or_refuse_and_spellings_agree(text in texty(), v4 in any::<[u8; 4]>()) {
        let _ = network::parse_network(&text);
        let none = NetworkRules::default();
        let plain = std::net::Ipv4Addr::from(v4);
        let mapped = std::net::IpAddr::V6(plain.to_ipv6_mapped());
        prop_assert_eq!(
            network::check(&none, &none, plain.into()).is_ok(),
            network::check(&none, &none, mapped).is_ok()
        );
    }
}

/// One change an operator (or Hookwire itself) makes.
#[derive(Debug, Clone)]
enum Op {
    Update {
        url: Option<String>,
        paused: Option<bool>,
        rate: Option<u32>,
    },
    Status(u8),
    Verification(bool),
    DisabledByHookwire,
}

fn op() -> impl Strategy<Value = Op> {
    let url = prop_oneof![
        Just("https://a.example/hook".to_owned()),
        Just("https://b.example/hook".to_owned()),
        Just("not a url".to_owned()),
    ];
    prop_oneof![
        (
            prop::option::of(url),
            prop::option::of(any::<bool>()),
            prop::option::of(0_u32..20_000)
        )
            .prop_map(|(url, paused, rate)| Op::Update { url, paused, rate }),
        (0_u8..3).prop_map(Op::Status),
        any::<bool>().prop_map(Op::Verification),
        Just(Op::DisabledByHookwire),
    ]
}

fn apply(endpoint: &Endpoint, op: &Op, now: DateTime<Utc>) -> Result<Endpoint, AdminError> {
    let mut next = endpoint.clone();
    match op {
        Op::Update { url, paused, rate } => {
            let request = UpdateEndpoint {
                id: endpoint.id.clone(),
                url: url.clone(),
                status: paused.map(|p| {
                    if p {
                        hookwire_protocol::endpoint::RequestedStatus::Paused
                    } else {
                        hookwire_protocol::endpoint::RequestedStatus::Active
                    }
                }),
                rate_limit_per_sec: *rate,
                ..UpdateEndpoint::default()
            };
            next = request.apply(endpoint, &Credentials::default(), now)?.0;
        }
        Op::Status(which) => {
            let change = [
                StatusChange::Pause,
                StatusChange::Resume,
                StatusChange::Enable,
            ][usize::from(*which)];
            next.status = endpoint.status_after(change)?;
        }
        Op::Verification(passed) => {
            let result = if *passed {
                Ok(())
            } else {
                Err("no echo".to_owned())
            };
            next.record_verification(result, now);
        }
        Op::DisabledByHookwire => {
            next.status = EndpointStatus::Disabled {
                reason: "410".into(),
                since: now,
            };
        }
    }
    Ok(next)
}

proptest! {
    #[test]
    fn random_admin_sequences_keep_an_endpoint_consistent(ops in prop::collection::vec(op(), 1..40)) {
        let start = DateTime::from_timestamp(1_795_000_000, 0).unwrap();
        let create = CreateEndpoint { url: "https://a.example/hook".into(), ..CreateEndpoint::default() };
        let (mut endpoint, _, _) = create
            .into_endpoint(Tenant::default(), "ep_1".into(), Secret::generate(), start)
            .unwrap();
        for (i, op) in ops.iter().enumerate() {
            let now = start + Duration::seconds(i64::try_from(i).unwrap());
            let before = endpoint.clone();
            match apply(&endpoint, op, now) {
                Ok(next) => endpoint = next,
                Err(error) => {
                    // A refusal names what to fix and changes nothing.
                    prop_assert!(!error.message.is_empty());
                    prop_assert_eq!(&endpoint, &before);
                }
            }
            // Deliveries go only to a receiver that passed verification at this URL.
            if endpoint.status == EndpointStatus::Active {
                prop_assert!(endpoint.verified_at.is_some(), "active but unverified after {:?}", op);
            }
            prop_assert!(endpoint.rate_limit_per_sec.is_none_or(|r| (1..=10_000).contains(&r)));
            prop_assert!(url::Url::parse(&endpoint.url).is_ok());
            // What is stored reads back the same.
            let stored = serde_json::to_vec(&endpoint).unwrap();
            let read: Endpoint = serde_json::from_slice(&stored).unwrap();
            prop_assert_eq!(&read, &endpoint);
        }
    }
}

/// Every verification scheme, with a header name from `text` for the generic HMAC.
fn schemes(text: &str) -> Vec<Verification> {
    vec![
        Verification::None,
        Verification::Standard {
            tolerance_secs: 300,
        },
        Verification::Github,
        Verification::Stripe {
            tolerance_secs: 300,
        },
        Verification::Gitlab,
        Verification::Shopify,
        Verification::Slack {
            tolerance_secs: 300,
        },
        Verification::Hmac {
            header: text.to_lowercase(),
            algorithm: HmacAlgorithm::Sha1,
            encoding: MacEncoding::Base64,
            prefix: "sha1=".to_owned(),
        },
    ]
}

/// Header names the schemes read, so arbitrary values reach their parsers.
const INBOUND_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-hub-signature-256",
    "stripe-signature",
    "x-gitlab-token",
    "x-shopify-hmac-sha256",
    "x-slack-signature",
    "x-slack-request-timestamp",
];

proptest! {
    #[test]
    fn incoming_verification_answers_any_request(
        values in prop::collection::vec(texty(), INBOUND_HEADERS.len()),
        secret in texty(),
        body in prop::collection::vec(any::<u8>(), 0..256),
        now in any::<i64>(),
        header in texty(),
    ) {
        let lookup = |name: &str| {
            INBOUND_HEADERS
                .iter()
                .position(|h| *h == name)
                .map(|i| values[i].as_str())
                .or_else(|| (name == header.to_lowercase()).then_some(values[0].as_str()))
        };
        for scheme in schemes(&header) {
            let _ = inbound::verify(&scheme, &secret, lookup, &body, now);
        }
    }

    #[test]
    fn incoming_signatures_verify_and_tampering_is_caught(
        secret in "[ -~]{1,40}",
        body in prop::collection::vec(any::<u8>(), 1..256),
        now in 1_000_000_000_i64..4_000_000_000,
    ) {
        let signed = [
            (Verification::Github, "x-hub-signature-256", sign::github(&secret, &body)),
            (
                Verification::Stripe { tolerance_secs: 300 },
                "stripe-signature",
                sign::stripe(&secret, now, &body),
            ),
            (Verification::Shopify, "x-shopify-hmac-sha256", sign::shopify(&secret, &body)),
            (
                Verification::Slack { tolerance_secs: 300 },
                "x-slack-signature",
                sign::slack(&secret, now, &body),
            ),
        ];
        let timestamp = now.to_string();
        for (scheme, name, signature) in signed {
            let lookup = |wanted: &str| {
                if wanted == name {
                    Some(signature.as_str())
                } else if wanted == "x-slack-request-timestamp" {
                    Some(timestamp.as_str())
                } else {
                    None
                }
            };
            prop_assert!(inbound::verify(&scheme, &secret, lookup, &body, now).is_ok(), "{:?}", scheme);
            let mut tampered = body.clone();
            tampered[0] ^= 1;
            prop_assert!(inbound::verify(&scheme, &secret, lookup, &tampered, now).is_err(), "{:?}", scheme);
        }
    }

    #[test]
    fn value_rules_pick_or_find_nothing(
        rule in value_rule(),
        body in texty(),
        header in texty(),
    ) {
        let body: Option<serde_json::Value> = serde_json::from_str(&body).ok();
        for purpose in [inbound::Purpose::Type, inbound::Purpose::Id] {
            let picked = inbound::pick(&rule, purpose, |_| Some(header.as_str()), body.as_ref());
            if let Some(value) = picked {
                prop_assert!(!value.trim().is_empty());
            }
        }
    }

    #[test]
    fn provider_values_become_valid_event_types(value in proptest::option::of(texty())) {
        let event_type = inbound::event_type_of(value.as_deref());
        prop_assert!(EventType::new(&event_type).is_ok(), "{event_type:?}");
        prop_assert!(event_type.len() <= 128, "{event_type:?}");
        prop_assert!(event_type.split('.').count() <= 8, "{event_type:?}");
    }

    #[test]
    fn provider_ids_become_bounded_message_ids(source in "[a-z0-9_-]{1,64}", id in texty()) {
        let msg_id = inbound::msg_id(&source, &id);
        prop_assert!(msg_id.starts_with(&format!("{source}:")), "{msg_id:?}");
        prop_assert!(msg_id.bytes().all(|b| b.is_ascii_graphic()), "{msg_id:?}");
        prop_assert!(msg_id.len() <= inbound::MAX_MSG_ID_LEN.max(source.len() + 72), "{msg_id:?}");
        prop_assert_eq!(msg_id.clone(), inbound::msg_id(&source, &id), "stable");
    }

    #[test]
    fn source_requests_decode_validate_or_refuse(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let subjects = Subjects::default();
        let now = Utc::now();
        if let Ok(create) = AdminError::parse::<CreateSource>(&body)
            && let Ok(source) = create.into_source(Tenant::default(), &subjects, now)
            && let Ok(update) = AdminError::parse::<UpdateSource>(&body)
        {
            let _ = update.apply(&source, &subjects, now);
        }
    }

    #[test]
    fn json_shaped_source_requests_validate_or_refuse(
        name in texty(),
        subject in texty(),
        scheme in prop_oneof![Just("none"), Just("github"), Just("stripe"), Just("hmac"), Just("rot13")],
        header in texty(),
        rule in texty(),
        transform in texty(),
        networks in prop::collection::vec(texty(), 0..3),
        rate in any::<u32>(),
    ) {
        let subjects = Subjects::default();
        let body = serde_json::json!({
            "name": name,
            "subject": subject,
            "verification": {"scheme": scheme, "header": header},
            "type_from": {"field": rule},
            "id_from": {"header": rule},
            "transform": transform,
            "allowed_networks": networks,
            "rate_limit_per_minute": rate,
        });
        if let Ok(create) = AdminError::parse::<CreateSource>(body.to_string().as_bytes())
            && let Ok(source) = create.into_source(Tenant::default(), &subjects, Utc::now())
        {
            prop_assert!(subjects.parse_event(&format!("{}.x", source.subject)).is_ok(), "{}", source.subject);
            let update = serde_json::json!({"name": source.name, "type_from": null, "transform": transform});
            if let Ok(update) = AdminError::parse::<UpdateSource>(update.to_string().as_bytes()) {
                let _ = update.apply(&source, &subjects, Utc::now());
            }
        }
    }
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        texty().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("[a-z/~0-9]{0,6}", inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn content_filters_read_validate_and_match_or_refuse(filter in json_value(), data in json_value()) {
        let body = serde_json::json!({"url": "http://127.0.0.1:9/", "filter": filter});
        if let Ok(create) = AdminError::parse::<CreateEndpoint>(body.to_string().as_bytes())
            && let Some(filter) = create.filter
        {
            let _ = filter.validate();
            let _ = filter.matches(&data);
        }
    }

    #[test]
    fn filters_of_every_operator_match_without_panicking(
        path in prop_oneof![Just(String::new()), "(/[a-z~01]{0,4}){1,3}"],
        op in prop_oneof![Just("eq"), Just("ne"), Just("in"), Just("exists"), Just("lt"), Just("le"), Just("gt"), Just("ge"), Just("prefix")],
        value in json_value(),
        data in json_value(),
    ) {
        let value = match op {
            "in" => serde_json::json!([value]),
            "exists" => serde_json::json!(value.is_null()),
            "prefix" => serde_json::json!(value.to_string()),
            _ => value,
        };
        let predicate = serde_json::json!({"path": path, op: value});
        let all: ContentFilter = serde_json::from_value(serde_json::json!({"all": [predicate]})).unwrap();
        let any: ContentFilter = serde_json::from_value(serde_json::json!({"any": [predicate]})).unwrap();
        if all.validate().is_ok() {
            // One predicate: `all` and `any` of it agree.
            prop_assert_eq!(all.matches(&data), any.matches(&data));
        }
    }
}
