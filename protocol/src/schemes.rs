//! How an endpoint's webhooks are signed: Standard Webhooks (the default), the Stripe style
//! or the GitHub style, so receivers can keep the verification code they already have.
//!
//! - `standard`: `webhook-signature: v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`,
//!   see [`crate::signing`].
//! - `stripe`: `<header>: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>` with one `v1=`
//!   per live secret during a rotation; the header name is the endpoint's choice
//!   (`Stripe-Signature` by default). Receivers reject timestamps more than five minutes off.
//! - `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, one header line
//!   per live secret during a rotation.
//! - `jwt`: `Authorization: Bearer <HS256 JWT>` whose claims bind the endpoint, the
//!   `webhook-id` and the body's SHA-256, see [`crate::jwt`].
//!
//! In the Stripe and GitHub styles the HMAC key is the secret's text `whsec_...` as a whole,
//! the way those receivers use the string they are given. Every style also carries
//! `webhook-id` and `webhook-timestamp`.

use hmac::Mac as _;
use serde::{Deserialize, Serialize};

use crate::admin::AdminError;
use crate::headers::is_token;
use crate::signing::{HmacSha256, Secret, VerifyError, check_timestamp};

/// The Stripe-style header when the endpoint names none.
pub const DEFAULT_STRIPE_HEADER: &str = "stripe-signature";
/// The GitHub-style header.
pub const GITHUB_HEADER: &str = "x-hub-signature-256";

/// An endpoint's signature scheme.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignatureScheme {
    /// Standard Webhooks.
    #[default]
    Standard,
    /// `t=<unix>,v1=<hex>` in a header of the endpoint's choosing.
    Stripe {
        /// The header name, lowercase (`stripe-signature` by default).
        #[serde(default = "default_stripe_header")]
        header: String,
    },
    /// `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// Standard Webhooks' asymmetric `v1a`: Ed25519 signatures in `webhook-signature`,
    /// verified with the public keys the tenant's key document publishes
    /// ([`crate::v1a`]).
    Ed25519,
    /// `Authorization: Bearer <JWT>`: HS256 keyed with the secret, or EdDSA with the
    /// endpoint's Ed25519 key (published like the `ed25519` scheme's).
    Jwt {
        /// The `iss` claim (`hookwire` by default).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
        /// `HS256` (default) or `EdDSA`.
        #[serde(default, skip_serializing_if = "JwtAlgorithm::is_hs256")]
        algorithm: JwtAlgorithm,
    },
}

/// How the `jwt` scheme signs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 keyed with the secret's text.
    #[default]
    #[serde(rename = "HS256")]
    Hs256,
    /// Ed25519 with the endpoint's key pair ([`crate::v1a`]); receivers verify with the
    /// public key from the tenant's key document.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl JwtAlgorithm {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's skip_serializing_if passes a reference"
    )]
    fn is_hs256(&self) -> bool {
        *self == Self::Hs256
    }
}

/// The longest JWT issuer.
const MAX_ISSUER_LEN: usize = 256;

fn default_stripe_header() -> String {
    DEFAULT_STRIPE_HEADER.to_owned()
}

impl SignatureScheme {
    /// Whether it signs with the endpoint's Ed25519 key, whose public half the tenant's key
    /// document publishes.
    #[must_use]
    pub fn publishes_keys(&self) -> bool {
        matches!(
            self,
            Self::Ed25519
                | Self::Jwt {
                    algorithm: JwtAlgorithm::EdDsa,
                    ..
                }
        )
    }

    /// The header that carries the signature, lowercase.
    #[must_use]
    pub fn header(&self) -> &str {
        match self {
            Self::Standard | Self::Ed25519 => crate::headers::WEBHOOK_SIGNATURE,
            Self::Stripe { header } => header,
            Self::Github => GITHUB_HEADER,
            Self::Jwt { .. } => "authorization",
        }
    }

    /// Checks the header name a Stripe-style scheme asks for (a valid HTTP token that is not
    /// one of the headers Hookwire sets) and lowercases it.
    pub fn validate(self, reserved: &[&str]) -> Result<Self, AdminError> {
        if let Self::Jwt {
            issuer: Some(issuer),
            ..
        } = &self
            && (issuer.is_empty()
                || issuer.len() > MAX_ISSUER_LEN
                || !issuer.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(AdminError::invalid(
                "signature.issuer",
                format!("1-{MAX_ISSUER_LEN} visible ASCII characters"),
            ));
        }
        let Self::Stripe { header } = self else {
            return Ok(self);
        };
        let lower = header.to_ascii_lowercase();
        if lower.len() > 64 || !is_token(&lower) {
            return Err(AdminError::invalid(
                "signature",
                format!("{header:?} is not a valid HTTP header name"),
            ));
        }
        if reserved.contains(&lower.as_str()) {
            return Err(AdminError::invalid(
                "signature",
                format!("{header} is set by Hookwire; choose another header name"),
            ));
        }
        Ok(Self::Stripe { header: lower })
    }
}

/// The Stripe-style header value: `t=<timestamp>,v1=<hex>` with one `v1=` per secret.
#[must_use]
pub fn stripe_signature(secrets: &[Secret], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mut value = format!("t={t}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&hex::encode(
            stripe_mac(secret, &t, body).finalize().into_bytes(),
        ));
    }
    value
}

/// The Stripe style's MAC of `"<t>.<body>"`, not yet finalized.
fn stripe_mac(secret: &Secret, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.text_mac();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The GitHub style's MAC of the body, not yet finalized.
fn github_mac(secret: &Secret, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.text_mac();
    mac.update(body);
    mac
}

/// Whether any of `signatures` is `mac`'s result for any of `secrets` (constant-time).
fn any_verifies(
    secrets: &[Secret],
    signatures: &[Vec<u8>],
    mac: impl Fn(&Secret) -> HmacSha256,
) -> Result<(), VerifyError> {
    if signatures.is_empty() {
        return Err(VerifyError::MalformedSignature);
    }
    let matches = secrets.iter().any(|secret| {
        let keyed = mac(secret);
        signatures
            .iter()
            .any(|signature| keyed.clone().verify_slice(signature).is_ok())
    });
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatchingSignature)
    }
}

/// Verifies a Stripe-style header against every secret the receiver holds, with the
/// timestamp within `tolerance_secs` of `now`.
pub fn verify_stripe(
    secrets: &[Secret],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let (timestamp, signatures) = parse_stripe_header(header);
    let timestamp = timestamp.ok_or(VerifyError::MissingHeader("t= in the signature header"))?;
    check_timestamp(timestamp, now, tolerance_secs)?;
    any_verifies(secrets, &signatures, |secret| {
        stripe_mac(secret, timestamp, body)
    })
}

/// A Stripe-style header taken apart: its `t=` value and every `v1=` signature that is hex
/// (other schemes' entries, such as `v0=`, are ignored).
pub(crate) fn parse_stripe_header(header: &str) -> (Option<&str>, Vec<Vec<u8>>) {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => timestamp = Some(value),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    (timestamp, signatures)
}

/// The GitHub-style header value for one secret: `sha256=<hex>`.
#[must_use]
pub fn github_signature(secret: &Secret, body: &[u8]) -> String {
    let mac = github_mac(secret, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(mac))
}

/// Verifies GitHub-style header values (one per line received) against every secret.
pub fn verify_github(secrets: &[Secret], values: &[&str], body: &[u8]) -> Result<(), VerifyError> {
    let signatures: Vec<Vec<u8>> = values
        .iter()
        .filter_map(|value| value.trim().strip_prefix("sha256="))
        .filter_map(|encoded| hex::decode(encoded).ok())
        .collect();
    any_verifies(secrets, &signatures, |secret| github_mac(secret, body))
}

#[cfg(test)]
mod tests {
    use hmac::Mac as _;

    use super::*;
    use crate::signing::DEFAULT_TOLERANCE_SECS;

    const BODY: &[u8] = br#"{"type":"orders.paid","data":{"id":"o_1"}}"#;
    const NOW: i64 = 1_795_000_000;

    /// The textbook computation, written out independently of the code under test.
    fn reference_hex(key: &str, message: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn stripe_style_signs_t_dot_body_with_the_secret_text() {
        let secret = Secret::generate();
        let value = stripe_signature(std::slice::from_ref(&secret), NOW, BODY);
        let mut message = format!("{NOW}.").into_bytes();
        message.extend_from_slice(BODY);
        assert_eq!(
            value,
            format!("t={NOW},v1={}", reference_hex(&secret.expose(), &message))
        );
        assert_eq!(
            verify_stripe(&[secret], &value, BODY, NOW + 10, DEFAULT_TOLERANCE_SECS),
            Ok(())
        );
    }

    #[test]
    fn stripe_style_rotation_carries_one_v1_per_secret_and_either_verifies() {
        let (new, old) = (Secret::generate(), Secret::generate());
        let value = stripe_signature(&[new.clone(), old.clone()], NOW, BODY);
        assert_eq!(value.matches(",v1=").count(), 2);
        for holder in [new, old] {
            assert_eq!(verify_stripe(&[holder], &value, BODY, NOW, 300), Ok(()));
        }
        assert_eq!(
            verify_stripe(&[Secret::generate()], &value, BODY, NOW, 300),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn stripe_style_rejects_skew_tampering_and_malformed_headers() {
        let secret = Secret::generate();
        let secrets = std::slice::from_ref(&secret);
        let value = stripe_signature(secrets, NOW, BODY);
        assert!(matches!(
            verify_stripe(secrets, &value, BODY, NOW + 301, 300),
            Err(VerifyError::TimestampTooOld { .. })
        ));
        assert!(matches!(
            verify_stripe(secrets, &value, BODY, NOW - 301, 300),
            Err(VerifyError::TimestampTooNew { .. })
        ));
        assert_eq!(
            verify_stripe(secrets, &value, b"{}", NOW, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        assert!(matches!(
            verify_stripe(secrets, "v1=abcd", BODY, NOW, 300),
            Err(VerifyError::MissingHeader(_))
        ));
        assert_eq!(
            verify_stripe(secrets, &format!("t={NOW},v0=zz"), BODY, NOW, 300),
            Err(VerifyError::MalformedSignature)
        );
        assert!(matches!(
            verify_stripe(secrets, "t=soon,v1=00", BODY, NOW, 300),
            Err(VerifyError::MalformedTimestamp(_))
        ));
    }

    #[test]
    fn github_style_signs_the_body_and_verifies_any_line() {
        let (new, old) = (Secret::generate(), Secret::generate());
        let value = github_signature(&new, BODY);
        assert_eq!(
            value,
            format!("sha256={}", reference_hex(&new.expose(), BODY))
        );
        let lines = [value.clone(), github_signature(&old, BODY)];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            verify_github(std::slice::from_ref(&old), &lines, BODY),
            Ok(())
        );
        assert_eq!(
            verify_github(std::slice::from_ref(&new), &lines, BODY),
            Ok(())
        );
        assert_eq!(
            verify_github(&[new], &lines, b"other"),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify_github(&[old], &["sha1=00"], BODY),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn schemes_read_and_validate_their_header() {
        let scheme: SignatureScheme =
            serde_json::from_str(r#"{"scheme":"stripe","header":"X-PT-Signature"}"#)
                .expect("valid JSON");
        let scheme = scheme.validate(&["webhook-id"]).expect("a valid header");
        assert_eq!(scheme.header(), "x-pt-signature");
        let default: SignatureScheme =
            serde_json::from_str(r#"{"scheme":"stripe"}"#).expect("valid JSON");
        assert_eq!(default.header(), DEFAULT_STRIPE_HEADER);
        assert_eq!(SignatureScheme::Github.header(), GITHUB_HEADER);
        assert_eq!(SignatureScheme::default().header(), "webhook-signature");
        for bad in ["", "bad header", "webhook-id"] {
            let scheme = SignatureScheme::Stripe {
                header: bad.to_owned(),
            };
            assert!(scheme.validate(&["webhook-id"]).is_err(), "{bad:?}");
        }
        assert!(
            serde_json::from_str::<SignatureScheme>(r#"{"scheme":"md5"}"#).is_err(),
            "unknown schemes are refused"
        );
        let jwt: SignatureScheme =
            serde_json::from_str(r#"{"scheme":"jwt","issuer":"https://hooks.example.com"}"#)
                .expect("valid JSON");
        assert_eq!(jwt.header(), "authorization");
        assert!(!jwt.publishes_keys(), "HS256 has no public key");
        assert!(jwt.validate(&[]).is_ok());
        for bad in ["", "has space", &"x".repeat(257)] {
            let scheme = SignatureScheme::Jwt {
                issuer: Some(bad.to_owned()),
                algorithm: JwtAlgorithm::Hs256,
            };
            assert!(scheme.validate(&[]).is_err(), "{bad:?}");
        }
        let eddsa: SignatureScheme =
            serde_json::from_str(r#"{"scheme":"jwt","algorithm":"EdDSA"}"#).expect("valid JSON");
        assert!(eddsa.publishes_keys());
        assert_eq!(
            serde_json::to_string(&eddsa).expect("encodes"),
            r#"{"scheme":"jwt","algorithm":"EdDSA"}"#
        );
        assert!(
            serde_json::from_str::<SignatureScheme>(r#"{"scheme":"jwt","algorithm":"RS256"}"#)
                .is_err()
        );
        let ed25519: SignatureScheme =
            serde_json::from_str(r#"{"scheme":"ed25519"}"#).expect("valid JSON");
        assert!(ed25519.publishes_keys());
        assert_eq!(ed25519.header(), "webhook-signature");
    }
}
