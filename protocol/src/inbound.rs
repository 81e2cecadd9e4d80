//! Verifying an incoming webhook the way its provider signs it, and reading its event type
//! and delivery id. Pure: the caller passes the headers, the body and the clock.
//!
//! Every MAC comparison is constant-time. A failure says which check failed for the
//! operator's records; the client is told only that it is unauthorized.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use crate::signing::{HmacSha256, Secret, VerifyError, WebhookHeaders, check_timestamp};
use crate::source::{
    HmacAlgorithm, MacEncoding, RequestOutcome, UNKNOWN_TYPE, ValueFrom, Verification,
};

/// The longest event id (`Nats-Msg-Id`) published; longer provider ids are hashed.
pub const MAX_MSG_ID_LEN: usize = 128;
/// The most tokens a type read from a request keeps.
const MAX_TYPE_TOKENS: usize = 8;
/// The longest type read from a request.
const MAX_TYPE_LEN: usize = 128;

/// Why a request failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// A header the scheme needs is absent.
    #[error("missing header {0}")]
    Missing(String),
    /// A header is there but not in the scheme's form.
    #[error("malformed header {0}")]
    Malformed(String),
    /// The signature does not match: wrong secret or altered body.
    #[error("signature does not match")]
    Mismatch,
    /// The signed timestamp is outside the tolerance.
    #[error("timestamp {age_secs} s away from now, more than the {tolerance_secs} s allowed")]
    Stale {
        /// How far off (negative: in the future).
        age_secs: i64,
        /// The tolerance.
        tolerance_secs: u32,
    },
}

impl Rejection {
    /// The outcome recorded for it.
    #[must_use]
    pub fn outcome(&self) -> RequestOutcome {
        match self {
            Self::Missing(_) => RequestOutcome::MissingSignature,
            Self::Malformed(_) | Self::Mismatch => RequestOutcome::BadSignature,
            Self::Stale { .. } => RequestOutcome::StaleTimestamp,
        }
    }
}

/// Verifies a request under `verification` with the provider's `secret` (ignored for
/// `none`). `header` looks a header up by its lowercase name; `now` is Unix seconds.
pub fn verify<'a>(
    verification: &Verification,
    secret: &str,
    header: impl Fn(&str) -> Option<&'a str>,
    body: &[u8],
    now: i64,
) -> Result<(), Rejection> {
    let required = |name: &str| header(name).ok_or_else(|| Rejection::Missing(name.to_owned()));
    match verification {
        Verification::None => Ok(()),
        Verification::Standard { tolerance_secs } => {
            let secret = Secret::parse(secret).map_err(|_| Rejection::Mismatch)?;
            let headers = WebhookHeaders {
                id: required("webhook-id")?,
                timestamp: required("webhook-timestamp")?,
                signature: required("webhook-signature")?,
            };
            crate::signing::verify(&[secret], &headers, body, now, i64::from(*tolerance_secs))
                .map_err(|e| from_standard(&e, *tolerance_secs))
        }
        Verification::Github => {
            let name = "x-hub-signature-256";
            let hex_mac = required(name)?
                .strip_prefix("sha256=")
                .ok_or_else(|| Rejection::Malformed(name.to_owned()))?;
            let expected =
                hex::decode(hex_mac).map_err(|_| Rejection::Malformed(name.to_owned()))?;
            check_mac(hmac256(secret, &[body]), &expected)
        }
        Verification::Stripe { tolerance_secs } => verify_stripe(
            secret,
            required("stripe-signature")?,
            body,
            now,
            *tolerance_secs,
        ),
        Verification::Gitlab => {
            let token = required("x-gitlab-token")?;
            if constant_time_eq(token.as_bytes(), secret.as_bytes()) {
                Ok(())
            } else {
                Err(Rejection::Mismatch)
            }
        }
        Verification::Shopify => {
            let name = "x-shopify-hmac-sha256";
            let expected = BASE64
                .decode(required(name)?.trim())
                .map_err(|_| Rejection::Malformed(name.to_owned()))?;
            check_mac(hmac256(secret, &[body]), &expected)
        }
        Verification::Slack { tolerance_secs } => {
            let timestamp = required("x-slack-request-timestamp")?;
            check_age(timestamp, "x-slack-request-timestamp", now, *tolerance_secs)?;
            let name = "x-slack-signature";
            let expected = required(name)?
                .strip_prefix("v0=")
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| Rejection::Malformed(name.to_owned()))?;
            let mac = hmac256(secret, &[b"v0:", timestamp.as_bytes(), b":", body]);
            check_mac(mac, &expected)
        }
        Verification::Hmac {
            header: name,
            algorithm,
            encoding,
            prefix,
        } => {
            let value = required(name)?;
            let encoded = value
                .strip_prefix(prefix.as_str())
                .ok_or_else(|| Rejection::Malformed(name.clone()))?
                .trim();
            let expected = match encoding {
                MacEncoding::Hex => hex::decode(encoded).ok(),
                MacEncoding::Base64 => BASE64.decode(encoded).ok(),
            }
            .ok_or_else(|| Rejection::Malformed(name.clone()))?;
            match algorithm {
                HmacAlgorithm::Sha256 => check_mac(hmac256(secret, &[body]), &expected),
                HmacAlgorithm::Sha1 => {
                    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
                        .expect("HMAC accepts keys of any length");
                    mac.update(body);
                    mac.verify_slice(&expected).map_err(|_| Rejection::Mismatch)
                }
            }
        }
    }
}

fn verify_stripe(
    secret: &str,
    value: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: u32,
) -> Result<(), Rejection> {
    let name = "stripe-signature";
    let (timestamp, signatures) = crate::schemes::parse_stripe_header(value);
    let timestamp = timestamp.ok_or_else(|| Rejection::Malformed(name.to_owned()))?;
    if signatures.is_empty() {
        return Err(Rejection::Malformed(name.to_owned()));
    }
    check_age(timestamp, name, now, tolerance_secs)?;
    let mac = hmac256(secret, &[timestamp.as_bytes(), b".", body]);
    if signatures
        .iter()
        .any(|signature| mac.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(Rejection::Mismatch)
    }
}

fn from_standard(error: &VerifyError, tolerance_secs: u32) -> Rejection {
    match error {
        VerifyError::MissingHeader(name) => Rejection::Missing((*name).to_owned()),
        VerifyError::TimestampTooOld { age_secs, .. } => Rejection::Stale {
            age_secs: *age_secs,
            tolerance_secs,
        },
        VerifyError::TimestampTooNew { ahead_secs, .. } => Rejection::Stale {
            age_secs: -*ahead_secs,
            tolerance_secs,
        },
        VerifyError::MalformedTimestamp(_) => Rejection::Malformed("webhook-timestamp".into()),
        VerifyError::MalformedSignature => Rejection::Malformed("webhook-signature".into()),
        _ => Rejection::Mismatch,
    }
}

/// Checks a signed timestamp (Unix seconds in header `name`) is within `tolerance_secs`.
fn check_age(timestamp: &str, name: &str, now: i64, tolerance_secs: u32) -> Result<(), Rejection> {
    match check_timestamp(timestamp, now, i64::from(tolerance_secs)) {
        Ok(_) => Ok(()),
        Err(VerifyError::MalformedTimestamp(_)) => Err(Rejection::Malformed(name.to_owned())),
        Err(e) => Err(from_standard(&e, tolerance_secs)),
    }
}

fn hmac256(secret: &str, parts: &[&[u8]]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac
}

fn check_mac(mac: HmacSha256, expected: &[u8]) -> Result<(), Rejection> {
    mac.verify_slice(expected).map_err(|_| Rejection::Mismatch)
}

/// Compares two secrets without revealing where they differ (nor, beyond the hash, their
/// lengths).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Reads a value by `rule` from a request: a header, a JSON Pointer into `body` (the
/// parsed body: JSON, or an object of form fields), or the fixed value.
#[must_use]
pub fn pick<'a>(
    rule: &ValueFrom,
    header: impl Fn(&str) -> Option<&'a str>,
    body: Option<&serde_json::Value>,
) -> Option<String> {
    match rule {
        ValueFrom::Header(name) => header(name).map(str::to_owned),
        ValueFrom::Field(pointer) => match body?.pointer(pointer)? {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        },
        ValueFrom::Fixed(value) => Some(value.clone()),
    }
    .filter(|v| !v.trim().is_empty())
}

/// An event type from a provider's value: `/`, `:` and spaces become separators, other
/// characters outside `A-Z a-z 0-9 - _` become `_`; empty tokens go, length and tokens are
/// capped. GitHub's `pull_request` stays, Shopify's `orders/create` becomes
/// `orders.create`, GitLab's `Push Hook` becomes `Push.Hook`. Nothing usable gives
/// `unknown`.
#[must_use]
pub fn event_type_of(value: Option<&str>) -> String {
    let Some(value) = value else {
        return UNKNOWN_TYPE.to_owned();
    };
    let mapped: String = value
        .chars()
        .map(|c| match c {
            '/' | ':' | ' ' | '.' => '.',
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => c,
            _ => '_',
        })
        .collect();
    let mut kept = String::new();
    for token in mapped
        .split('.')
        .filter(|t| !t.is_empty())
        .take(MAX_TYPE_TOKENS)
    {
        if kept.len() + token.len() + 1 > MAX_TYPE_LEN {
            break;
        }
        if !kept.is_empty() {
            kept.push('.');
        }
        kept.push_str(token);
    }
    if kept.is_empty() {
        UNKNOWN_TYPE.to_owned()
    } else {
        kept
    }
}

/// The `Nats-Msg-Id` for a provider's delivery id: `<source>:<id>`, so two sources never
/// collide; an id that is too long or not visible ASCII is replaced by its SHA-256.
#[must_use]
pub fn msg_id(source: &str, provider_id: &str) -> String {
    let id = format!("{source}:{provider_id}");
    if id.len() <= MAX_MSG_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic()) {
        id
    } else {
        format!(
            "{source}:sha256:{}",
            hex::encode(Sha256::digest(provider_id.as_bytes()))
        )
    }
}

/// Signing helpers for the schemes whose providers publish no library, used by tests and
/// tools that play the provider.
pub mod sign {
    use super::{BASE64, Hmac, Sha1, hmac256};
    use base64::Engine as _;
    use hmac::Mac as _;

    /// `X-Hub-Signature-256`.
    #[must_use]
    pub fn github(secret: &str, body: &[u8]) -> String {
        format!(
            "sha256={}",
            hex::encode(hmac256(secret, &[body]).finalize().into_bytes())
        )
    }

    /// `Stripe-Signature`.
    #[must_use]
    pub fn stripe(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let t = timestamp.to_string();
        let mac = hmac256(secret, &[t.as_bytes(), b".", body]);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// `X-Shopify-Hmac-Sha256`.
    #[must_use]
    pub fn shopify(secret: &str, body: &[u8]) -> String {
        BASE64.encode(hmac256(secret, &[body]).finalize().into_bytes())
    }

    /// `X-Slack-Signature` for `X-Slack-Request-Timestamp: timestamp`.
    #[must_use]
    pub fn slack(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let t = timestamp.to_string();
        let mac = hmac256(secret, &[b"v0:", t.as_bytes(), b":", body]);
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// A generic HMAC-SHA1 in hex.
    #[must_use]
    pub fn hmac_sha1_hex(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn run(
        verification: &Verification,
        secret: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: i64,
    ) -> Result<(), Rejection> {
        let map: HashMap<&str, &str> = headers.iter().copied().collect();
        verify(
            verification,
            secret,
            |name| map.get(name).copied(),
            body,
            now,
        )
    }

    const STRIPE: Verification = Verification::Stripe {
        tolerance_secs: 300,
    };
    const SLACK: Verification = Verification::Slack {
        tolerance_secs: 300,
    };

    #[test]
    fn github_matches_the_documented_example() {
        // docs.github.com, "Validating webhook deliveries": the test values.
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let secret = "It's a Secret to Everybody";
        let body = b"Hello, World!";
        assert_eq!(sign::github(secret, body), signature);
        let ok = run(
            &Verification::Github,
            secret,
            &[("x-hub-signature-256", signature)],
            body,
            0,
        );
        assert_eq!(ok, Ok(()));
        let bad = run(
            &Verification::Github,
            secret,
            &[("x-hub-signature-256", signature)],
            b"Hello, World?",
            0,
        );
        assert_eq!(bad, Err(Rejection::Mismatch));
        let missing = run(&Verification::Github, secret, &[], body, 0);
        assert_eq!(
            missing.unwrap_err().outcome(),
            RequestOutcome::MissingSignature
        );
        let unprefixed = run(
            &Verification::Github,
            secret,
            &[("x-hub-signature-256", &signature[7..])],
            body,
            0,
        );
        assert_eq!(
            unprefixed.unwrap_err().outcome(),
            RequestOutcome::BadSignature
        );
    }

    #[test]
    fn slack_matches_the_documented_example() {
        // api.slack.com, "Verifying requests from Slack": the worked example.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let timestamp = 1_531_420_618;
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign::slack(secret, timestamp, body), signature);
        let headers = [
            ("x-slack-request-timestamp", "1531420618"),
            ("x-slack-signature", signature),
        ];
        assert_eq!(run(&SLACK, secret, &headers, body, timestamp + 10), Ok(()));
        let stale = run(&SLACK, secret, &headers, body, timestamp + 301);
        assert_eq!(stale.unwrap_err().outcome(), RequestOutcome::StaleTimestamp);
        let altered = run(&SLACK, secret, &headers, b"token=other", timestamp);
        assert_eq!(altered, Err(Rejection::Mismatch));
    }

    #[test]
    fn stripe_takes_any_v1_and_checks_the_timestamp() {
        let secret = "whsec_test_secret_value";
        let body = br#"{"id":"evt_1","type":"charge.succeeded"}"#;
        let now = 1_700_000_000;
        let header = sign::stripe(secret, now, body);
        assert_eq!(
            run(
                &STRIPE,
                secret,
                &[("stripe-signature", &header)],
                body,
                now + 5
            ),
            Ok(())
        );
        let rotated = format!("{header},v1={},v0=ignored", "00".repeat(32));
        assert_eq!(
            run(
                &STRIPE,
                secret,
                &[("stripe-signature", &rotated)],
                body,
                now
            ),
            Ok(())
        );
        let stale = run(
            &STRIPE,
            secret,
            &[("stripe-signature", &header)],
            body,
            now + 301,
        );
        assert_eq!(stale.unwrap_err().outcome(), RequestOutcome::StaleTimestamp);
        let wrong = run(
            &STRIPE,
            "whsec_other",
            &[("stripe-signature", &header)],
            body,
            now,
        );
        assert_eq!(wrong, Err(Rejection::Mismatch));
        let malformed = run(&STRIPE, secret, &[("stripe-signature", "t=1")], body, now);
        assert_eq!(
            malformed.unwrap_err().outcome(),
            RequestOutcome::BadSignature
        );
    }

    #[test]
    fn standard_webhooks_use_the_whsec_key() {
        let secret = Secret::generate();
        let body = br#"{"type":"user.created"}"#;
        let now = 1_700_000_000;
        let signature =
            crate::signing::signature_header(std::slice::from_ref(&secret), "msg_1", now, body);
        let headers = [
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1700000000"),
            ("webhook-signature", signature.as_str()),
        ];
        let standard = Verification::Standard {
            tolerance_secs: 300,
        };
        assert_eq!(
            run(&standard, &secret.expose(), &headers, body, now),
            Ok(())
        );
        let other = Secret::generate().expose();
        assert_eq!(
            run(&standard, &other, &headers, body, now),
            Err(Rejection::Mismatch)
        );
        let stale = run(&standard, &secret.expose(), &headers, body, now + 1000);
        assert_eq!(stale.unwrap_err().outcome(), RequestOutcome::StaleTimestamp);
        let missing = run(&standard, &secret.expose(), &headers[..2], body, now);
        assert_eq!(
            missing.unwrap_err().outcome(),
            RequestOutcome::MissingSignature
        );
    }

    #[test]
    fn gitlab_compares_the_token_and_shopify_the_base64_mac() {
        let secret = "a-gitlab-secret-token";
        assert_eq!(
            run(
                &Verification::Gitlab,
                secret,
                &[("x-gitlab-token", secret)],
                b"",
                0
            ),
            Ok(())
        );
        assert_eq!(
            run(
                &Verification::Gitlab,
                secret,
                &[("x-gitlab-token", "a-gitlab-secret-tokeN")],
                b"",
                0
            ),
            Err(Rejection::Mismatch)
        );
        let body = br#"{"id":1}"#;
        let mac = sign::shopify(secret, body);
        assert_eq!(
            run(
                &Verification::Shopify,
                secret,
                &[("x-shopify-hmac-sha256", &mac)],
                body,
                0
            ),
            Ok(())
        );
        assert_eq!(
            run(
                &Verification::Shopify,
                secret,
                &[("x-shopify-hmac-sha256", &mac)],
                b"{}",
                0
            ),
            Err(Rejection::Mismatch)
        );
        assert_eq!(
            run(
                &Verification::Shopify,
                secret,
                &[("x-shopify-hmac-sha256", "%%%")],
                body,
                0
            )
            .unwrap_err()
            .outcome(),
            RequestOutcome::BadSignature
        );
    }

    #[test]
    fn generic_hmac_honours_algorithm_encoding_and_prefix() {
        let secret = "generic-shared-secret";
        let body = b"payload";
        let sha1 = Verification::Hmac {
            header: "x-signature".into(),
            algorithm: HmacAlgorithm::Sha1,
            encoding: MacEncoding::Hex,
            prefix: "sha1=".into(),
        };
        let value = format!("sha1={}", sign::hmac_sha1_hex(secret, body));
        assert_eq!(
            run(&sha1, secret, &[("x-signature", &value)], body, 0),
            Ok(())
        );
        assert_eq!(
            run(&sha1, secret, &[("x-signature", &value[5..])], body, 0)
                .unwrap_err()
                .outcome(),
            RequestOutcome::BadSignature
        );
        let base64 = Verification::Hmac {
            header: "x-sig".into(),
            algorithm: HmacAlgorithm::Sha256,
            encoding: MacEncoding::Base64,
            prefix: String::new(),
        };
        let mac = sign::shopify(secret, body);
        assert_eq!(run(&base64, secret, &[("x-sig", &mac)], body, 0), Ok(()));
        assert_eq!(
            run(&base64, "other-secret-value", &[("x-sig", &mac)], body, 0),
            Err(Rejection::Mismatch)
        );
    }

    #[test]
    fn none_accepts_anything() {
        assert_eq!(run(&Verification::None, "", &[], b"x", 0), Ok(()));
    }

    #[test]
    fn types_are_made_subject_safe() {
        assert_eq!(event_type_of(Some("pull_request")), "pull_request");
        assert_eq!(event_type_of(Some("orders/create")), "orders.create");
        assert_eq!(event_type_of(Some("Push Hook")), "Push.Hook");
        assert_eq!(
            event_type_of(Some("payment_intent.succeeded")),
            "payment_intent.succeeded"
        );
        assert_eq!(event_type_of(Some("a..b*>c")), "a.b__c");
        assert_eq!(event_type_of(Some(" / ")), UNKNOWN_TYPE);
        assert_eq!(event_type_of(None), UNKNOWN_TYPE);
        let long = "x.".repeat(100);
        let capped = event_type_of(Some(&long));
        assert_eq!(capped.split('.').count(), MAX_TYPE_TOKENS);
        assert!(crate::EventType::new(&event_type_of(Some(&"é".repeat(300)))).is_ok());
    }

    #[test]
    fn values_come_from_headers_fields_or_fixed() {
        let body =
            serde_json::json!({"type": "a.b", "n": 7, "data": {"object": {"id": "x"}}, "e": ""});
        let header = |name: &str| (name == "x-event").then_some("push");
        assert_eq!(
            pick(&ValueFrom::Header("x-event".into()), header, None).as_deref(),
            Some("push")
        );
        assert_eq!(
            pick(&ValueFrom::Field("/type".into()), header, Some(&body)).as_deref(),
            Some("a.b")
        );
        assert_eq!(
            pick(&ValueFrom::Field("/n".into()), header, Some(&body)).as_deref(),
            Some("7")
        );
        assert_eq!(
            pick(
                &ValueFrom::Field("/data/object/id".into()),
                header,
                Some(&body)
            )
            .as_deref(),
            Some("x")
        );
        assert_eq!(
            pick(&ValueFrom::Field("/e".into()), header, Some(&body)),
            None
        );
        assert_eq!(
            pick(&ValueFrom::Field("/data".into()), header, Some(&body)),
            None
        );
        assert_eq!(pick(&ValueFrom::Field("/type".into()), header, None), None);
        assert_eq!(
            pick(&ValueFrom::Fixed("ping".into()), header, None).as_deref(),
            Some("ping")
        );
    }

    #[test]
    fn msg_ids_are_scoped_and_bounded() {
        assert_eq!(msg_id("github", "72d3162e-cc78"), "github:72d3162e-cc78");
        let long = msg_id("s", &"x".repeat(500));
        assert!(long.len() <= MAX_MSG_ID_LEN && long.starts_with("s:sha256:"));
        assert!(msg_id("s", "with space").starts_with("s:sha256:"));
        assert_ne!(msg_id("a", "1"), msg_id("b", "1"));
    }
}
