//! Standard Webhooks signing and verification.
//!
//! A webhook carries three headers: `webhook-id` (the same on every retry of a delivery),
//! `webhook-timestamp` (Unix seconds when the attempt was signed) and `webhook-signature`:
//! one `v1,<base64 HMAC-SHA256>` per live secret, space-separated, where the HMAC covers
//! `"<id>.<timestamp>.<body>"`. Receivers accept a message when any signature matches any
//! of their secrets and the timestamp is within the tolerance (five minutes by default).
//!
//! Functions here take the current time as an argument rather than reading a clock, so
//! every path, stale and future timestamps included, is testable.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

use crate::headers::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};

/// HMAC-SHA256, the MAC of every signature scheme.
pub type HmacSha256 = Hmac<Sha256>;

/// The prefix of a secret in its text form: `whsec_<base64>`.
pub const SECRET_PREFIX: &str = "whsec_";
/// The fewest key bytes a secret may have (192 bits), as the specification advises.
pub const MIN_SECRET_BYTES: usize = 24;
/// The most key bytes a secret may have (512 bits), as the specification advises.
pub const MAX_SECRET_BYTES: usize = 64;
/// Key bytes in a generated secret.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// How far a timestamp may be from the receiver's clock, either way, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 5 * 60;
/// The only signature version this module writes and accepts.
const VERSION: &str = "v1";
/// Bytes in a `v1` signature (one HMAC-SHA256).
const SIGNATURE_BYTES: usize = 32;

/// A secret that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The text did not start with `whsec_`.
    #[error("secret must start with \"whsec_\"")]
    MissingPrefix,
    /// The part after `whsec_` was not standard base64.
    #[error("secret is not valid base64 after \"whsec_\"")]
    InvalidBase64,
    /// The key was shorter or longer than allowed.
    #[error("secret key is {0} bytes; it must be 24 to 64 bytes")]
    WrongLength(usize),
}

/// A signing secret. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct Secret {
    key: Vec<u8>,
    /// The HMAC already keyed with `key`: cloning it is cheaper than keying again per message.
    keyed: HmacSha256,
    /// The HMAC keyed with the text form `whsec_...`, as the Stripe and GitHub styles key it.
    text_keyed: HmacSha256,
}

impl Secret {
    /// A new random secret of [`GENERATED_SECRET_BYTES`] from a cryptographically secure
    /// generator seeded by the operating system.
    #[must_use]
    pub fn generate() -> Self {
        let mut key = vec![0_u8; GENERATED_SECRET_BYTES];
        rand::rng().fill_bytes(&mut key);
        Self::from_key(key)
    }

    /// A secret from raw key bytes (24 to 64 of them).
    pub fn from_bytes(key: &[u8]) -> Result<Self, SecretError> {
        if (MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            Ok(Self::from_key(key.to_vec()))
        } else {
            Err(SecretError::WrongLength(key.len()))
        }
    }

    /// Reads the text form `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::MissingPrefix)?;
        let key = BASE64
            .decode(encoded)
            .map_err(|_| SecretError::InvalidBase64)?;
        Self::from_bytes(&key)
    }

    /// The text form `whsec_<base64>`. Named so that every place that reveals a secret says so.
    #[must_use]
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.key))
    }

    /// An HMAC-SHA256 keyed with the secret's key, for what is derived from it.
    pub(crate) fn keyed_mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }

    /// The raw HMAC-SHA256 of `"<msg_id>.<timestamp>.<body>"` under this secret.
    #[must_use]
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        self.content_mac(msg_id, timestamp, body)
            .finalize()
            .into_bytes()
            .into()
    }

    /// True when `signature` is this secret's signature of the content, compared in constant time.
    fn verifies(&self, msg_id: &str, timestamp: i64, body: &[u8], signature: &[u8]) -> bool {
        self.content_mac(msg_id, timestamp, body)
            .verify_slice(signature)
            .is_ok()
    }

    fn content_mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// An HMAC-SHA256 keyed with the secret's text form (the bytes of `whsec_...`), the way
    /// receivers of the Stripe and GitHub styles key theirs with the string they were given.
    #[must_use]
    pub fn text_mac(&self) -> HmacSha256 {
        self.text_keyed.clone()
    }

    fn from_key(key: Vec<u8>) -> Self {
        let keyed = HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length");
        let text = format!("{SECRET_PREFIX}{}", BASE64.encode(&key));
        let text_keyed =
            HmacSha256::new_from_slice(text.as_bytes()).expect("HMAC accepts keys of any length");
        Self {
            key,
            keyed,
            text_keyed,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Secret {}

/// The value of a `webhook-signature` header: one `v1,<base64>` per secret, space-separated.
///
/// During a secret rotation, pass every live secret so receivers holding either verify.
#[must_use]
pub fn signature_header(secrets: &[Secret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut header = String::with_capacity(secrets.len() * 48);
    for secret in secrets {
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str(VERSION);
        header.push(',');
        BASE64.encode_string(secret.sign(msg_id, timestamp, body), &mut header);
    }
    header
}

/// The three Standard Webhooks headers of a received message, as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

impl<'a> WebhookHeaders<'a> {
    /// Collects the headers through `get`, a case-insensitive lookup by lowercase name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, VerifyError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|value| !value.is_empty())
                .ok_or(VerifyError::MissingHeader(name))
        };
        Ok(Self {
            id: required(WEBHOOK_ID)?,
            timestamp: required(WEBHOOK_TIMESTAMP)?,
            signature: required(WEBHOOK_SIGNATURE)?,
        })
    }
}

/// Why a received webhook was rejected.
///
/// A tampered body and a wrong secret look the same to a receiver (neither produces a
/// matching HMAC), so both are [`VerifyError::NoMatchingSignature`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header was absent or empty.
    #[error("missing required header {0}")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` was not whole Unix seconds.
    #[error("webhook-timestamp {0:?} is not a Unix time in whole seconds")]
    MalformedTimestamp(String),
    /// The timestamp is older than the tolerance allows: a replay, or a badly skewed clock.
    #[error("webhook-timestamp is {age_secs} s old, more than the {tolerance_secs} s allowed")]
    TimestampTooOld {
        /// How old the timestamp is.
        age_secs: i64,
        /// The tolerance that was applied.
        tolerance_secs: i64,
    },
    /// The timestamp is further in the future than the tolerance allows.
    #[error(
        "webhook-timestamp is {ahead_secs} s in the future, more than the {tolerance_secs} s allowed"
    )]
    TimestampTooNew {
        /// How far ahead the timestamp is.
        ahead_secs: i64,
        /// The tolerance that was applied.
        tolerance_secs: i64,
    },
    /// `webhook-signature` held no entry of the form `v1,<base64 of 32 bytes>`.
    #[error("webhook-signature has no entry of the form v1,<base64 of 32 bytes>")]
    MalformedSignature,
    /// Signatures were present but none matched any secret: wrong secret or altered content.
    #[error("no signature matches: the secret is wrong or the message was altered")]
    NoMatchingSignature,
}

/// Verifies a received webhook against every secret the receiver holds.
///
/// `now` is the receiver's clock in Unix seconds; `tolerance_secs` is how far the
/// timestamp may be from it either way ([`DEFAULT_TOLERANCE_SECS`] is the specification's).
pub fn verify(
    secrets: &[Secret],
    headers: &WebhookHeaders<'_>,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let timestamp = check_timestamp(headers.timestamp, now, tolerance_secs)?;

    let mut candidates = headers
        .signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, encoded)| BASE64.decode(encoded).ok())
        .filter(|signature| signature.len() == SIGNATURE_BYTES)
        .peekable();
    if candidates.peek().is_none() {
        return Err(VerifyError::MalformedSignature);
    }
    let matched = candidates.any(|signature| {
        secrets
            .iter()
            .any(|secret| secret.verifies(headers.id, timestamp, body, &signature))
    });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// Reads a Unix-seconds timestamp and checks it is within `tolerance_secs` of `now`.
pub(crate) fn check_timestamp(
    text: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, VerifyError> {
    let timestamp = parse_timestamp(text)?;
    let age = now.saturating_sub(timestamp);
    if age > tolerance_secs {
        return Err(VerifyError::TimestampTooOld {
            age_secs: age,
            tolerance_secs,
        });
    }
    if -age > tolerance_secs {
        return Err(VerifyError::TimestampTooNew {
            ahead_secs: -age,
            tolerance_secs,
        });
    }
    Ok(timestamp)
}

fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    let malformed = || VerifyError::MalformedTimestamp(text.to_owned());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    text.parse().map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example published with the Standard Webhooks specification.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn spec_secret() -> Secret {
        Secret::parse(SPEC_SECRET).unwrap()
    }

    fn headers<'a>(id: &'a str, timestamp: &'a str, signature: &'a str) -> WebhookHeaders<'a> {
        WebhookHeaders {
            id,
            timestamp,
            signature,
        }
    }

    fn verify_spec(
        signature: &str,
        body: &[u8],
        secrets: &[Secret],
        now: i64,
    ) -> Result<(), VerifyError> {
        let ts = SPEC_TIMESTAMP.to_string();
        verify(
            secrets,
            &headers(SPEC_ID, &ts, signature),
            body,
            now,
            DEFAULT_TOLERANCE_SECS,
        )
    }

    #[test]
    fn signs_the_specification_example() {
        let header = signature_header(&[spec_secret()], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
        assert_eq!(header, SPEC_SIGNATURE);
    }

    #[test]
    fn verifies_the_specification_example() {
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, &[spec_secret()], SPEC_TIMESTAMP),
            Ok(())
        );
    }

    #[test]
    fn tampered_body_and_wrong_secret_do_not_match() {
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, tampered, &[spec_secret()], SPEC_TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify_spec(
                SPEC_SIGNATURE,
                SPEC_BODY,
                &[Secret::generate()],
                SPEC_TIMESTAMP
            ),
            Err(VerifyError::NoMatchingSignature)
        );
        let other_id = headers("msg_other", "1614265330", SPEC_SIGNATURE);
        assert_eq!(
            verify(
                &[spec_secret()],
                &other_id,
                SPEC_BODY,
                SPEC_TIMESTAMP,
                DEFAULT_TOLERANCE_SECS
            ),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_rejected() {
        let secrets = [spec_secret()];
        let edge = SPEC_TIMESTAMP + DEFAULT_TOLERANCE_SECS;
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, &secrets, edge),
            Ok(())
        );
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, &secrets, edge + 1),
            Err(VerifyError::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        let early = SPEC_TIMESTAMP - DEFAULT_TOLERANCE_SECS;
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, &secrets, early),
            Ok(())
        );
        assert_eq!(
            verify_spec(SPEC_SIGNATURE, SPEC_BODY, &secrets, early - 1),
            Err(VerifyError::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let secrets = [spec_secret()];
        for bad_ts in [
            "",
            "abc",
            "-5",
            "1614265330.5",
            " 1614265330",
            "99999999999999999999",
        ] {
            assert_eq!(
                verify(
                    &secrets,
                    &headers(SPEC_ID, bad_ts, SPEC_SIGNATURE),
                    SPEC_BODY,
                    0,
                    300
                ),
                Err(VerifyError::MalformedTimestamp(bad_ts.to_owned())),
                "{bad_ts:?}"
            );
        }
        for bad_sig in [
            "",
            "garbage",
            "v1",
            "v1,",
            "v1,%%%",
            "v1,YWJj",
            "v2,abc=",
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ] {
            assert_eq!(
                verify_spec(bad_sig, SPEC_BODY, &secrets, SPEC_TIMESTAMP),
                Err(VerifyError::MalformedSignature),
                "{bad_sig:?}"
            );
        }
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let old = spec_secret();
        let new = Secret::generate();
        let header = signature_header(
            &[new.clone(), old.clone()],
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
        );
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.ends_with(SPEC_SIGNATURE));
        // A receiver that still holds only the old secret, one that already holds only the
        // new one, and one holding an unrelated secret.
        assert_eq!(
            verify_spec(&header, SPEC_BODY, &[old], SPEC_TIMESTAMP),
            Ok(())
        );
        assert_eq!(
            verify_spec(&header, SPEC_BODY, &[new], SPEC_TIMESTAMP),
            Ok(())
        );
        assert_eq!(
            verify_spec(&header, SPEC_BODY, &[Secret::generate()], SPEC_TIMESTAMP),
            Err(VerifyError::NoMatchingSignature)
        );
        // Unknown versions and junk beside a good signature are skipped, as the spec asks.
        let mixed = format!("v2,abcd junk {SPEC_SIGNATURE}");
        assert_eq!(
            verify_spec(&mixed, SPEC_BODY, &[spec_secret()], SPEC_TIMESTAMP),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_named() {
        let all = |name: &str| match name {
            "webhook-id" => Some("id"),
            "webhook-timestamp" => Some("1"),
            "webhook-signature" => Some("v1,x"),
            _ => None,
        };
        assert!(WebhookHeaders::from_lookup(all).is_ok());
        for missing in [WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE] {
            let without = |name: &str| if name == missing { None } else { all(name) };
            assert_eq!(
                WebhookHeaders::from_lookup(without),
                Err(VerifyError::MissingHeader(missing))
            );
            let empty = |name: &str| if name == missing { Some("") } else { all(name) };
            assert_eq!(
                WebhookHeaders::from_lookup(empty),
                Err(VerifyError::MissingHeader(missing))
            );
        }
    }

    #[test]
    fn secrets_parse_and_round_trip() {
        let generated = Secret::generate();
        let text = generated.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(Secret::parse(&text).unwrap(), generated);
        assert_ne!(Secret::generate(), generated);
        assert_eq!(spec_secret().expose(), SPEC_SECRET);
        assert_eq!(format!("{generated:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert_eq!(
            Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(
            Secret::parse("whsec_not base64!"),
            Err(SecretError::InvalidBase64)
        );
        let short = format!("whsec_{}", BASE64.encode([0_u8; 23]));
        assert_eq!(Secret::parse(&short), Err(SecretError::WrongLength(23)));
        let long = format!("whsec_{}", BASE64.encode([0_u8; 65]));
        assert_eq!(Secret::parse(&long), Err(SecretError::WrongLength(65)));
        assert!(Secret::from_bytes(&[7; 24]).is_ok());
        assert!(Secret::from_bytes(&[7; 64]).is_ok());
    }
}
