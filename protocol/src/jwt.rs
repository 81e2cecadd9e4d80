//! The `jwt` signature scheme: each webhook request carries `Authorization: Bearer <JWT>`, a
//! compact JWS (RFC 7515/7519) that stock JWT libraries verify.
//!
//! Header `{"alg": "HS256", "typ": "JWT", "kid": <key id>}`; claims:
//!
//! | claim | value |
//! | --- | --- |
//! | `iss` | the endpoint's issuer (`hookwire` unless it names one) |
//! | `sub` | the endpoint id |
//! | `aud` | the endpoint URL |
//! | `iat` | the request's time, the `webhook-timestamp` |
//! | `exp` | `iat` + [`LIFETIME_SECS`] |
//! | `jti` | the `webhook-id` (the same on retries) |
//! | `body_sha256` | the base64url (no padding) SHA-256 of the request body |
//!
//! The HMAC key is the secret's text, `whsec_...` as a whole, as receivers of the Stripe and
//! GitHub styles use the string they are given. During a rotation's grace period the token
//! is signed with the oldest live secret, so a receiver that has not switched yet keeps
//! verifying; `kid` names the secret ([`key_id`]), so one that holds both picks the right
//! key. Signing moves to the new secret when the grace period ends.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::Mac as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::signing::Secret;
use crate::v1a::SigningKey;

/// How long a token is valid after it was made.
pub const LIFETIME_SECS: i64 = 300;
/// The issuer when the endpoint names none.
pub const DEFAULT_ISSUER: &str = "hookwire";

/// What a token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The endpoint id.
    pub sub: String,
    /// The endpoint URL.
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    /// The `webhook-id`.
    pub jti: String,
    /// base64url SHA-256 of the body.
    pub body_sha256: String,
}

impl Claims {
    /// The claims of a request with `body`, made at `timestamp`.
    #[must_use]
    pub fn new(
        issuer: &str,
        endpoint_id: &str,
        url: &str,
        webhook_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Self {
        Self {
            iss: issuer.to_owned(),
            sub: endpoint_id.to_owned(),
            aud: url.to_owned(),
            iat: timestamp,
            exp: timestamp + LIFETIME_SECS,
            jti: webhook_id.to_owned(),
            body_sha256: BASE64URL.encode(Sha256::digest(body)),
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// The `kid` of a secret: `hs_` and the first 16 hex digits of the SHA-256 of its text,
/// which names it without revealing it.
#[must_use]
pub fn key_id(secret: &Secret) -> String {
    let digest = Sha256::digest(secret.expose().as_bytes());
    format!("hs_{}", &hex::encode(digest)[..16])
}

/// The secret that signs while `live` (newest first) are the live secrets: the oldest.
#[must_use]
pub fn signing_secret(live: &[Secret]) -> Option<&Secret> {
    live.last()
}

/// An HS256 token over `claims`, keyed with `secret`'s text.
#[must_use]
pub fn hs256(secret: &Secret, claims: &Claims) -> String {
    token("HS256", &key_id(secret), claims, |input| {
        let mut mac = secret.text_mac();
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    })
}

/// An EdDSA token over `claims`, signed with `secret`'s Ed25519 key; `kid` is the key's
/// id in the tenant's key document.
#[must_use]
pub fn eddsa(secret: &Secret, claims: &Claims) -> String {
    let key = SigningKey::derive(secret);
    token("EdDSA", &key.public_key().kid(), claims, |input| {
        key.sign_bytes(input)
    })
}

fn token(
    alg: &'static str,
    kid: &str,
    claims: &Claims,
    sign: impl FnOnce(&[u8]) -> Vec<u8>,
) -> String {
    let header = Header {
        alg,
        typ: "JWT",
        kid,
    };
    // Plain structs of strings and integers: serializing them cannot fail.
    let header = BASE64URL.encode(serde_json::to_vec(&header).unwrap_or_default());
    let claims = BASE64URL.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{claims}");
    let signature = BASE64URL.encode(sign(signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
    }

    #[test]
    fn a_token_is_three_base64url_parts_with_the_documented_header_and_claims() {
        let claims = Claims::new(
            DEFAULT_ISSUER,
            "ep_1",
            "https://example.com/hooks",
            "msg_1",
            1_700_000_000,
            b"{}",
        );
        let token = hs256(&secret(), &claims);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&BASE64URL.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": key_id(&secret())})
        );
        let decoded: Claims = serde_json::from_slice(&BASE64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(decoded, claims);
        assert_eq!(decoded.exp - decoded.iat, LIFETIME_SECS);
        // SHA-256 of "{}" (RFC 4648 base64url, no padding).
        assert_eq!(
            decoded.body_sha256,
            "RBNvo1WzZ4oRRq0W9-hknpT7T8If536DEMBg9hyq_4o"
        );
    }

    #[test]
    fn an_eddsa_token_verifies_with_the_published_public_key_only() {
        use ring::signature::{ED25519, UnparsedPublicKey};
        let claims = Claims::new(
            "hookwire",
            "ep_1",
            "https://x/",
            "msg_1",
            1_700_000_000,
            b"{}",
        );
        let token = eddsa(&secret(), &claims);
        let parts: Vec<&str> = token.split('.').collect();
        let header: serde_json::Value =
            serde_json::from_slice(&BASE64URL.decode(parts[0]).unwrap()).unwrap();
        let public = SigningKey::derive(&secret()).public_key();
        assert_eq!(
            header,
            serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": public.kid()})
        );
        let jwk = public.jwk("ep_1", None);
        let key = UnparsedPublicKey::new(&ED25519, BASE64URL.decode(&jwk.x).unwrap());
        let input = format!("{}.{}", parts[0], parts[1]);
        let signature = BASE64URL.decode(parts[2]).unwrap();
        assert!(key.verify(input.as_bytes(), &signature).is_ok());
        assert!(key.verify(b"other", &signature).is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_first_two_parts_with_the_secret_text() {
        let token = hs256(&secret(), &Claims::new("i", "e", "u", "m", 1, b"body"));
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret().expose().as_bytes()).unwrap();
        mac.update(input.as_bytes());
        assert_eq!(
            BASE64URL.decode(signature).unwrap(),
            mac.finalize().into_bytes().to_vec()
        );
    }

    #[test]
    fn key_ids_name_secrets_apart_and_the_oldest_live_one_signs() {
        let (a, b) = (secret(), Secret::generate());
        assert_ne!(key_id(&a), key_id(&b));
        assert_eq!(key_id(&a), key_id(&secret()));
        assert!(key_id(&a).starts_with("hs_") && key_id(&a).len() == 19);
        let signer = |live: &[Secret]| signing_secret(live).map(key_id);
        assert_eq!(signer(&[b.clone(), a.clone()]), Some(key_id(&a)));
        assert_eq!(signer(std::slice::from_ref(&b)), Some(key_id(&b)));
        assert_eq!(signer(&[]), None);
    }
}
