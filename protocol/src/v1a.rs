//! Standard Webhooks' asymmetric signatures: `v1a,<base64 Ed25519 signature>` of
//! `"<id>.<timestamp>.<body>"` in `webhook-signature`, one per live key, space-separated.
//! Receivers verify with the public key alone (`whpk_<base64 of its 32 bytes>`), which
//! they fetch from the tenant's key document ([`Jwks`]); they can verify, never sign.
//!
//! An endpoint's Ed25519 key is derived from its secret (HMAC-SHA256 of a fixed label
//! under the secret's key, as the seed), so it rotates, expires, is sealed at rest and
//! stays the same across instances exactly as the secret does; its private half never
//! leaves `hookwired` (its `whsk_` form exists for operators who want to sign elsewhere).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64_URL};
use chrono::{DateTime, Utc};
use hmac::Mac as _;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::signing::Secret;

/// The prefix of a public key in its text form.
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";
/// The prefix of a secret key in its text form.
pub const SECRET_KEY_PREFIX: &str = "whsk_";
/// The signature version this module writes.
pub const VERSION: &str = "v1a";
/// What the seed derivation keys its HMAC with, so the seed is of no use as anything else.
const SEED_LABEL: &[u8] = b"hookwire v1a ed25519 signing key";

/// An endpoint's Ed25519 key pair, derived from one of its secrets.
pub struct SigningKey {
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl SigningKey {
    /// The key pair of `secret`: the same secret gives the same key everywhere.
    #[must_use]
    pub fn derive(secret: &Secret) -> Self {
        let mut mac = secret.keyed_mac();
        mac.update(SEED_LABEL);
        let seed: [u8; 32] = mac.finalize().into_bytes().into();
        // Any 32 bytes are a valid Ed25519 seed.
        #[expect(clippy::expect_used, reason = "ring accepts every 32-byte seed")]
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("a 32-byte seed");
        Self { seed, pair }
    }

    /// Its public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        let mut bytes = [0_u8; 32];
        bytes.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(bytes)
    }

    /// The raw signature of `"<msg_id>.<timestamp>.<body>"`.
    #[must_use]
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        self.sign_bytes(&signed_content(msg_id, timestamp, body))
    }

    /// The raw signature of `message`.
    #[must_use]
    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// The text form `whsk_<base64 of seed and public key>` (64 bytes, as libsodium and
    /// TweetNaCl hold a secret key). Named so that every place that reveals it says so.
    #[must_use]
    pub fn expose(&self) -> String {
        let mut bytes = self.seed.to_vec();
        bytes.extend_from_slice(self.pair.public_key().as_ref());
        format!("{SECRET_KEY_PREFIX}{}", BASE64.encode(bytes))
    }
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let timestamp = timestamp.to_string();
    let mut content = Vec::with_capacity(msg_id.len() + timestamp.len() + body.len() + 2);
    content.extend_from_slice(msg_id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    content
}

/// `webhook-signature` with one `v1a,<base64>` per key, space-separated.
#[must_use]
pub fn signature_header(keys: &[SigningKey], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            format!(
                "{VERSION},{}",
                BASE64.encode(key.sign(msg_id, timestamp, body))
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Reads `whpk_<base64>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let encoded = text
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or_else(|| format!("a public key starts with {PUBLIC_KEY_PREFIX}"))?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| "a public key is base64 after its prefix".to_owned())?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "an Ed25519 public key has 32 bytes".to_owned())?;
        Ok(Self(bytes))
    }

    /// The text form `whpk_<base64>`.
    #[must_use]
    pub fn text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", BASE64.encode(self.0))
    }

    /// Its key id: `v1a_` and the first 16 hex digits of its SHA-256.
    #[must_use]
    pub fn kid(&self) -> String {
        let digest = Sha256::digest(self.0);
        format!("v1a_{}", hex::encode(&digest[..8]))
    }

    /// Whether any `v1a` signature in `header` is this key's signature of the content.
    #[must_use]
    pub fn verifies(&self, header: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> bool {
        let content = signed_content(msg_id, timestamp, body);
        let key = UnparsedPublicKey::new(&ED25519, self.0);
        header
            .split(' ')
            .filter_map(|part| part.strip_prefix("v1a,"))
            .filter_map(|signature| BASE64.decode(signature).ok())
            .any(|signature| key.verify(&content, &signature).is_ok())
    }

    /// As a JSON Web Key.
    #[must_use]
    pub fn jwk(&self, endpoint_id: &str, expires_at: Option<DateTime<Utc>>) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: BASE64_URL.encode(self.0),
            kid: self.kid(),
            alg: "EdDSA".to_owned(),
            key_use: "sig".to_owned(),
            whpk: self.text(),
            endpoint_id: endpoint_id.to_owned(),
            expires_at,
        }
    }
}

/// A tenant's public keys (RFC 7517), as `keys.get` answers and `GET /keys/<tenant>` serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// Every live key of the tenant's endpoints that sign with `ed25519`, newest first per
    /// endpoint.
    pub keys: Vec<Jwk>,
}

/// One public key (RFC 8037: an Ed25519 key is `kty` `OKP`, `crv` `Ed25519`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `OKP`.
    pub kty: String,
    /// `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// `v1a_` and 16 hex digits of the key's SHA-256.
    pub kid: String,
    /// `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// The same key as Standard Webhooks writes it: `whpk_<base64>`.
    pub whpk: String,
    /// The endpoint it signs for.
    pub endpoint_id: String,
    /// When it stops signing (a key rotated out, in its grace period); absent while current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> Secret {
        Secret::from_bytes(&[byte; 32]).expect("32 bytes")
    }

    #[test]
    fn the_same_secret_gives_the_same_key_and_another_another() {
        let (a, b) = (
            SigningKey::derive(&secret(1)),
            SigningKey::derive(&secret(1)),
        );
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.expose(), b.expose());
        assert_ne!(a.public_key(), SigningKey::derive(&secret(2)).public_key());
        assert!(a.expose().starts_with(SECRET_KEY_PREFIX));
    }

    #[test]
    fn signatures_verify_with_the_public_key_only_for_the_same_content() {
        let key = SigningKey::derive(&secret(7));
        let public = PublicKey::parse(&key.public_key().text()).expect("round trip");
        let header = signature_header(&[key], "msg_1", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("v1a,"));
        assert!(public.verifies(&header, "msg_1", 1_700_000_000, b"{\"a\":1}"));
        assert!(!public.verifies(&header, "msg_2", 1_700_000_000, b"{\"a\":1}"));
        assert!(!public.verifies(&header, "msg_1", 1_700_000_001, b"{\"a\":1}"));
        assert!(!public.verifies(&header, "msg_1", 1_700_000_000, b"{\"a\":2}"));
        let other = SigningKey::derive(&secret(8)).public_key();
        assert!(!other.verifies(&header, "msg_1", 1_700_000_000, b"{\"a\":1}"));
    }

    #[test]
    fn during_a_rotation_each_key_signs_and_either_verifies() {
        let (old, new) = (
            SigningKey::derive(&secret(1)),
            SigningKey::derive(&secret(2)),
        );
        let (old_public, new_public) = (old.public_key(), new.public_key());
        let header = signature_header(&[new, old], "m", 5, b"x");
        assert_eq!(header.split(' ').count(), 2);
        assert!(old_public.verifies(&header, "m", 5, b"x"));
        assert!(new_public.verifies(&header, "m", 5, b"x"));
    }

    #[test]
    fn public_keys_read_only_their_own_form() {
        for bad in ["whsec_AAAA", "whpk_not base64", "whpk_AAAA"] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        let key = SigningKey::derive(&secret(3)).public_key();
        let jwk = key.jwk("ep_1", None);
        assert_eq!((jwk.kty.as_str(), jwk.crv.as_str()), ("OKP", "Ed25519"));
        assert_eq!(BASE64_URL.decode(&jwk.x).expect("base64url").len(), 32);
        assert_eq!(jwk.kid.len(), 4 + 16);
        let text = serde_json::to_value(&jwk).expect("encodes");
        assert_eq!(text["use"], "sig");
        assert!(text.get("expires_at").is_none());
    }
}
