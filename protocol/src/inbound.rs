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
    HmacAlgorithm, MAX_TYPE_LEN, MAX_TYPE_TOKENS, MacEncoding, RequestOutcome, Source,
    UNKNOWN_TYPE, ValueFrom, Verification,
};

mod rsa_key;

pub use rsa_key::RsaPublicKey;

/// The longest event id (`Nats-Msg-Id`) published; longer provider ids are hashed.
pub const MAX_MSG_ID_LEN: usize = 128;

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
        Verification::None | Verification::Jenkins | Verification::DockerHub => Ok(()),
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
            let expected = hex_after(required(name)?, "sha256=", name)?;
            check_mac(hmac256(secret, &[body]), &expected)
        }
        Verification::Bitbucket | Verification::Jira | Verification::Confluence => {
            let name = "x-hub-signature";
            let expected = hex_after(required(name)?, "sha256=", name)?;
            check_mac(hmac256(secret, &[body]), &expected)
        }
        Verification::Circleci => verify_circleci(secret, required("circleci-signature")?, body),
        Verification::Travis { public_key } => {
            verify_travis(public_key, required("signature")?, body)
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

/// CircleCI's `circleci-signature`: `v1=<hex>`, possibly beside other versions
/// (`v1=...,v2=...`); any `v1` that matches will do.
fn verify_circleci(secret: &str, value: &str, body: &[u8]) -> Result<(), Rejection> {
    let candidates: Vec<Vec<u8>> = value
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|mac| hex::decode(mac).ok())
        .collect();
    if candidates.is_empty() {
        return Err(Rejection::Malformed("circleci-signature".to_owned()));
    }
    any_matches(&hmac256(secret, &[body]), &candidates)
}

/// Travis CI's `Signature` (`value`): base64 of the RSA-SHA1 signature of the form field
/// `payload`, made with the key whose public half is `public_key`.
fn verify_travis(public_key: &str, value: &str, body: &[u8]) -> Result<(), Rejection> {
    let signature = BASE64
        .decode(value.trim())
        .map_err(|_| Rejection::Malformed("signature".to_owned()))?;
    let payload = form_field(body, "payload")
        .ok_or_else(|| Rejection::Malformed("the form field payload".to_owned()))?;
    // Checked when the source was saved; a key that no longer reads verifies nothing.
    let key = RsaPublicKey::from_pem(public_key).map_err(|_| Rejection::Mismatch)?;
    if key.verifies_sha1(payload.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(Rejection::Mismatch)
    }
}

/// The hex after `prefix` in header `name`'s `value`, as bytes.
fn hex_after(value: &str, prefix: &str, name: &str) -> Result<Vec<u8>, Rejection> {
    value
        .trim()
        .strip_prefix(prefix)
        .and_then(|mac| hex::decode(mac).ok())
        .ok_or_else(|| Rejection::Malformed(name.to_owned()))
}

/// The challenge of Slack's `url_verification` request (`{"type": "url_verification",
/// "challenge": "..."}`) to a source of the `slack` scheme, to echo once it is verified.
#[must_use]
pub fn slack_challenge(verification: &Verification, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct UrlVerification {
        #[serde(rename = "type")]
        kind: String,
        challenge: String,
    }
    if !matches!(verification, Verification::Slack { .. }) {
        return None;
    }
    serde_json::from_slice::<UrlVerification>(body)
        .ok()
        .filter(|request| request.kind == "url_verification")
        .map(|request| request.challenge)
}

/// The value of field `name` in an `application/x-www-form-urlencoded` body.
#[must_use]
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
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
    any_matches(
        &hmac256(secret, &[timestamp.as_bytes(), b".", body]),
        &signatures,
    )
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

/// `Ok` when any of `candidates` is `mac`'s result (each compared in constant time): a
/// header carrying several signatures during the provider's own key rotation.
fn any_matches(mac: &HmacSha256, candidates: &[Vec<u8>]) -> Result<(), Rejection> {
    if candidates
        .iter()
        .any(|candidate| mac.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(Rejection::Mismatch)
    }
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

/// The event type of a request to `source`: the first of its routing rules the body
/// passes, else its `type_from` rule's value made subject-safe ([`event_type_of`]).
/// `body` is the parsed body (JSON, or an object of form fields), `None` for other bodies.
#[must_use]
pub fn event_type<'a>(
    source: &Source,
    header: impl Fn(&str) -> Option<&'a str> + Copy,
    body: Option<&serde_json::Value>,
) -> String {
    let data = body.unwrap_or(&serde_json::Value::Null);
    if let Some(rule) = source
        .type_rules
        .iter()
        .find(|rule| rule.when.matches(data))
    {
        return rule.event_type.clone();
    }
    event_type_of(pick(&source.type_from, Purpose::Type, header, body).as_deref())
}

/// The `Nats-Msg-Id` of a request to `source`, when its `id_from` rule finds an id.
#[must_use]
pub fn delivery_id<'a>(
    source: &Source,
    header: impl Fn(&str) -> Option<&'a str> + Copy,
    body: Option<&serde_json::Value>,
) -> Option<String> {
    pick(&source.id_from, Purpose::Id, header, body).map(|id| msg_id(&source.name, &id))
}

/// What a value is read for: a `join` reads differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An event type: a join keeps the values found, joined with `.`.
    Type,
    /// A delivery id: a join needs every value, joined with `:`.
    Id,
}

/// Reads a value by `rule` from a request: a header, a JSON Pointer into `body` (the
/// parsed body: JSON, or an object of form fields), the fixed value, the first of several
/// rules that finds one, or several joined (by `purpose`). Blank values count as none.
#[must_use]
pub fn pick<'a>(
    rule: &ValueFrom,
    purpose: Purpose,
    header: impl Fn(&str) -> Option<&'a str> + Copy,
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
        ValueFrom::FirstOf(rules) => rules
            .iter()
            .find_map(|rule| pick(rule, purpose, header, body)),
        ValueFrom::Join(rules) => {
            let values = rules.iter().map(|rule| pick(rule, purpose, header, body));
            match purpose {
                Purpose::Type => Some(values.flatten().collect::<Vec<_>>().join(".")),
                Purpose::Id => values
                    .collect::<Option<Vec<_>>>()
                    .map(|values| values.join(":")),
            }
        }
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
    fn atlassian_and_circleci_macs_match_values_computed_elsewhere() {
        // Computed with Python's hmac module, from each provider's documented recipe.
        let body = br#"{"push":{}}"#;
        let secret = "bitbucket-secret-value";
        let hub = "sha256=77992b753c6e74df4249a70a528197f2c8c7710955c541d8cdd0e7ab2457e94a";
        for scheme in [
            Verification::Bitbucket,
            Verification::Jira,
            Verification::Confluence,
        ] {
            assert_eq!(
                run(&scheme, secret, &[("x-hub-signature", hub)], body, 0),
                Ok(())
            );
            assert_eq!(
                run(&scheme, secret, &[("x-hub-signature", hub)], b"{}", 0),
                Err(Rejection::Mismatch)
            );
            assert_eq!(
                run(
                    &scheme,
                    "another-secret-value",
                    &[("x-hub-signature", hub)],
                    body,
                    0
                ),
                Err(Rejection::Mismatch)
            );
            assert_eq!(
                run(&scheme, secret, &[("x-hub-signature", &hub[7..])], body, 0)
                    .unwrap_err()
                    .outcome(),
                RequestOutcome::BadSignature
            );
            assert_eq!(
                run(&scheme, secret, &[], body, 0).unwrap_err().outcome(),
                RequestOutcome::MissingSignature
            );
        }

        let body = br#"{"type":"workflow-completed","id":"42"}"#;
        let secret = "circleci-secret-value";
        let v1 = "v1=b502d5834b4c232f6777061d6d301a429e1d55945ef42c78dbe54e4ed2003ebf";
        let circleci = |value: &str, body: &[u8]| {
            run(
                &Verification::Circleci,
                secret,
                &[("circleci-signature", value)],
                body,
                0,
            )
        };
        assert_eq!(circleci(v1, body), Ok(()));
        assert_eq!(
            circleci(&format!("v2=abcd, {v1}"), body),
            Ok(()),
            "any v1 of several"
        );
        assert_eq!(circleci(v1, b"{}"), Err(Rejection::Mismatch));
        assert_eq!(
            circleci(&v1[3..], body).unwrap_err().outcome(),
            RequestOutcome::BadSignature
        );
    }

    #[test]
    fn travis_checks_the_rsa_signature_of_the_payload_field() {
        // Key and signature made with Python's `cryptography` (see inbound/testdata).
        let travis = Verification::Travis {
            public_key: include_str!("inbound/testdata/rsa_2048.pem").to_owned(),
        };
        let signature = include_str!("inbound/testdata/signature.b64").trim();
        let payload = r#"{"id":1,"type":"push","state":"passed"}"#;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", payload)
            .finish();
        let check = |signature: &str, body: &str| {
            run(&travis, "", &[("signature", signature)], body.as_bytes(), 0)
        };
        assert_eq!(check(signature, &body), Ok(()));
        let tampered = body.replace("passed", "failed");
        assert_eq!(check(signature, &tampered), Err(Rejection::Mismatch));
        assert_eq!(
            check(signature, "other=1").unwrap_err().outcome(),
            RequestOutcome::BadSignature,
            "no payload field"
        );
        assert_eq!(
            check("%%%", &body).unwrap_err().outcome(),
            RequestOutcome::BadSignature
        );
        assert_eq!(
            run(&travis, "", &[], body.as_bytes(), 0)
                .unwrap_err()
                .outcome(),
            RequestOutcome::MissingSignature
        );
    }

    #[test]
    fn only_a_slack_url_verification_is_a_challenge() {
        // api.slack.com, the url_verification event's example.
        let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        assert_eq!(
            slack_challenge(&SLACK, body).as_deref(),
            Some("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        );
        assert_eq!(slack_challenge(&Verification::Github, body), None);
        assert_eq!(
            slack_challenge(&SLACK, br#"{"type":"event_callback","challenge":"x"}"#),
            None
        );
        assert_eq!(
            slack_challenge(&SLACK, br#"{"type":"url_verification"}"#),
            None
        );
        assert_eq!(slack_challenge(&SLACK, b"token=1&challenge=2"), None);
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

    fn pick_type<'a>(
        rule: &ValueFrom,
        header: impl Fn(&str) -> Option<&'a str> + Copy,
        body: Option<&serde_json::Value>,
    ) -> Option<String> {
        pick(rule, Purpose::Type, header, body)
    }

    #[test]
    fn values_come_from_headers_fields_or_fixed() {
        let body =
            serde_json::json!({"type": "a.b", "n": 7, "data": {"object": {"id": "x"}}, "e": ""});
        let header = |name: &str| (name == "x-event").then_some("push");
        assert_eq!(
            pick_type(&ValueFrom::Header("x-event".into()), header, None).as_deref(),
            Some("push")
        );
        assert_eq!(
            pick_type(&ValueFrom::Field("/type".into()), header, Some(&body)).as_deref(),
            Some("a.b")
        );
        assert_eq!(
            pick_type(&ValueFrom::Field("/n".into()), header, Some(&body)).as_deref(),
            Some("7")
        );
        assert_eq!(
            pick_type(
                &ValueFrom::Field("/data/object/id".into()),
                header,
                Some(&body)
            )
            .as_deref(),
            Some("x")
        );
        assert_eq!(
            pick_type(&ValueFrom::Field("/e".into()), header, Some(&body)),
            None
        );
        assert_eq!(
            pick_type(&ValueFrom::Field("/data".into()), header, Some(&body)),
            None
        );
        assert_eq!(
            pick_type(&ValueFrom::Field("/type".into()), header, None),
            None
        );
        assert_eq!(
            pick_type(&ValueFrom::Fixed("ping".into()), header, None).as_deref(),
            Some("ping")
        );
    }

    #[test]
    fn first_of_takes_the_first_found_and_join_reads_by_purpose() {
        let body =
            serde_json::json!({"name": "deploy", "build": {"number": 7, "phase": "STARTED"}});
        let header = |name: &str| (name == "x-request-id").then_some("r-1");
        let field = |p: &str| ValueFrom::Field(p.into());
        let first = ValueFrom::FirstOf(vec![
            ValueFrom::Header("x-request-uuid".into()),
            ValueFrom::Header("x-request-id".into()),
        ]);
        assert_eq!(
            pick(&first, Purpose::Id, header, None).as_deref(),
            Some("r-1")
        );
        let build = ValueFrom::Join(vec![
            field("/name"),
            field("/build/number"),
            field("/build/phase"),
        ]);
        assert_eq!(
            pick(&build, Purpose::Id, header, Some(&body)).as_deref(),
            Some("deploy:7:STARTED")
        );
        assert_eq!(
            pick(&build, Purpose::Type, header, Some(&body)).as_deref(),
            Some("deploy.7.STARTED")
        );
        let partial = ValueFrom::Join(vec![field("/name"), field("/build/status")]);
        assert_eq!(
            pick(&partial, Purpose::Id, header, Some(&body)),
            None,
            "an id needs every part"
        );
        assert_eq!(
            pick(&partial, Purpose::Type, header, Some(&body)).as_deref(),
            Some("deploy"),
            "a type keeps what it finds"
        );
        let nothing = ValueFrom::Join(vec![field("/missing")]);
        assert_eq!(pick(&nothing, Purpose::Type, header, Some(&body)), None);
    }

    #[test]
    fn routing_rules_choose_the_type_before_the_type_rule() {
        let source: Source = serde_json::from_value(serde_json::json!({
            "tenant": "default", "name": "crm", "subject": "hookwire.events.default.crm",
            "verification": {"scheme": "none"},
            "type_from": {"join": [{"fixed": "lead"}, {"field": "/stage"}]},
            "type_rules": [
                {"when": {"all": [{"path": "/priority", "ge": 8}]}, "type": "leads.hot"},
                {"when": {"all": [{"path": "/priority", "exists": true}]}, "type": "leads.other"}
            ],
            "id_from": {"field": "/id"},
            "rate_limit_per_minute": 100, "active": true, "max_body_bytes": 1000,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        let no_headers = |_: &str| None;
        let type_of = |body: serde_json::Value| event_type(&source, no_headers, Some(&body));
        assert_eq!(type_of(serde_json::json!({"priority": 9})), "leads.hot");
        assert_eq!(type_of(serde_json::json!({"priority": 2})), "leads.other");
        assert_eq!(type_of(serde_json::json!({"stage": "new"})), "lead.new");
        assert_eq!(event_type(&source, no_headers, None), "lead", "a text body");
        assert_eq!(
            delivery_id(&source, no_headers, Some(&serde_json::json!({"id": 5}))).as_deref(),
            Some("crm:5")
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
