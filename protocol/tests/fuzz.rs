//! Fuzz targets on stable Rust: every parser that takes outside input gets arbitrary bytes
//! and text (subjects, admin request bodies, signature headers, networks) and must answer
//! with a value or an error, never a panic; plus a property test that random sequences of
//! admin changes keep an endpoint consistent.
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
use hookwire_protocol::endpoint::{
    CreateEndpoint, Endpoint, EndpointStatus, StatusChange, UpdateEndpoint,
};
use hookwire_protocol::network::{self, NetworkRules};
use hookwire_protocol::schemes::{stripe_signature, verify_github, verify_stripe};
use hookwire_protocol::signing::{self, Secret, WebhookHeaders};
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
