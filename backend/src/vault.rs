//! Secrets at rest. Signing secrets and outgoing credentials are sealed with
//! XChaCha20-Poly1305 before they reach the configuration bucket or the redb file; only
//! the in-memory registry holds them open.
//!
//! A sealed value names the key that sealed it (a short id derived from the key) and is
//! bound to what it belongs to (the associated data), so a record copied onto another
//! endpoint does not open. Keys rotate by configuring a new current key and keeping the
//! old one among the previous keys until every record has been resealed under the new one
//! (each instance reseals what it finds under a previous key).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Bytes in a key.
pub(crate) const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// A configured key is not 32 base64-encoded bytes.
    #[error(
        "a secrets key must be 32 random bytes, base64-encoded (`openssl rand -base64 32`): {0}"
    )]
    BadKey(String),
    /// The value was sealed under a key this instance was not given.
    #[error(
        "sealed under secrets key {0}, which this instance does not have: give every instance the \
         same [secrets] key, and keep a rotated-out key in previous_key_files until no record uses it"
    )]
    UnknownKey(String),
    /// The key is known but the value does not open: altered, or moved from elsewhere.
    #[error("sealed secrets of {0} do not open under their key: the record was altered")]
    Tampered(String),
    /// The sealed value is not in the sealed format.
    #[error("sealed secrets are malformed: {0}")]
    Malformed(String),
}

/// A sealed value as stored: the key's id, a random nonce and the ciphertext (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The id of the key that sealed it.
    pub key: String,
    nonce: String,
    data: String,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; KEY_LEN]) -> Self {
        let mut id = Sha256::new();
        id.update(b"hookwire secrets key id\0");
        id.update(bytes);
        Self {
            id: hex::encode(&id.finalize()[..6]),
            cipher: XChaCha20Poly1305::new(bytes.into()),
        }
    }
}

/// The current key, which seals, and previous keys, which only open.
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// A keyring sealing with `current` and opening with it and `previous`.
    #[must_use]
    pub fn new(current: &[u8; KEY_LEN], previous: &[[u8; KEY_LEN]]) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.iter().map(Key::new).collect(),
        }
    }

    /// Reads a key from its base64 text (surrounding whitespace ignored).
    pub fn parse_key(text: &str) -> Result<[u8; KEY_LEN], VaultError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| VaultError::BadKey(format!("not base64 ({e})")))?;
        bytes
            .try_into()
            .map_err(|b: Vec<u8>| VaultError::BadKey(format!("{} bytes, not 32", b.len())))
    }

    /// A new random key as base64 text.
    #[must_use]
    pub fn generate_key() -> String {
        let mut key = [0_u8; KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// The id of the key that seals.
    #[must_use]
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// True when `sealed` is under the current key (nothing to reseal).
    #[must_use]
    pub fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key == self.current.id
    }

    /// Seals `value` (as JSON) for `owner`, which must be given again to open it.
    pub fn seal<T: Serialize>(&self, value: &T, owner: &str) -> Result<Sealed, VaultError> {
        let plain = serde_json::to_vec(value).map_err(|e| VaultError::Malformed(e.to_string()))?;
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let data = self
            .current
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Malformed("encryption failed".into()))?;
        Ok(Sealed {
            key: self.current.id.clone(),
            nonce: STANDARD.encode(nonce),
            data: STANDARD.encode(data),
        })
    }

    /// Opens what [`Keyring::seal`] sealed for `owner`.
    pub fn open<T: DeserializeOwned>(&self, sealed: &Sealed, owner: &str) -> Result<T, VaultError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key.clone()))?;
        let nonce = STANDARD
            .decode(&sealed.nonce)
            .ok()
            .filter(|n| n.len() == NONCE_LEN)
            .ok_or_else(|| VaultError::Malformed("bad nonce".into()))?;
        let data = STANDARD
            .decode(&sealed.data)
            .map_err(|e| VaultError::Malformed(e.to_string()))?;
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &data,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Tampered(owner.to_owned()))?;
        serde_json::from_slice(&plain).map_err(|e| VaultError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> [u8; KEY_LEN] {
        [byte; KEY_LEN]
    }

    #[test]
    fn seals_and_opens_without_plaintext() {
        let ring = Keyring::new(&key(1), &[]);
        let sealed = ring
            .seal(&"whsec_topsecret", "endpoint:a/b")
            .expect("seals");
        let stored = serde_json::to_string(&sealed).expect("serializes");
        assert!(!stored.contains("topsecret"), "{stored}");
        let opened: String = ring.open(&sealed, "endpoint:a/b").expect("opens");
        assert_eq!(opened, "whsec_topsecret");
        let again = ring
            .seal(&"whsec_topsecret", "endpoint:a/b")
            .expect("seals");
        assert_ne!(again.data, sealed.data, "a fresh nonce every time");
    }

    #[test]
    fn a_record_moved_to_another_owner_or_altered_does_not_open() {
        let ring = Keyring::new(&key(1), &[]);
        let sealed = ring.seal(&"s", "endpoint:a/b").expect("seals");
        assert!(matches!(
            ring.open::<String>(&sealed, "endpoint:a/c"),
            Err(VaultError::Tampered(_))
        ));
        let mut altered = sealed.clone();
        altered.data = STANDARD.encode(b"garbage that is long enough to be a tag");
        assert!(matches!(
            ring.open::<String>(&altered, "endpoint:a/b"),
            Err(VaultError::Tampered(_))
        ));
        altered.nonce = "short".into();
        assert!(matches!(
            ring.open::<String>(&altered, "endpoint:a/b"),
            Err(VaultError::Malformed(_))
        ));
    }

    #[test]
    fn rotation_opens_old_records_and_seals_under_the_new_key() {
        let old = Keyring::new(&key(1), &[]);
        let sealed = old.seal(&"s", "o").expect("seals");
        let rotated = Keyring::new(&key(2), &[key(1)]);
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open::<String>(&sealed, "o").expect("opens"), "s");
        let resealed = rotated.seal(&"s", "o").expect("seals");
        assert!(rotated.is_current(&resealed));
        assert_ne!(old.current_id(), rotated.current_id());
        let without_old = Keyring::new(&key(2), &[]);
        let error = without_old
            .open::<String>(&sealed, "o")
            .expect_err("old key gone");
        assert!(error.to_string().contains(old.current_id()), "{error}");
    }

    #[test]
    fn keys_are_32_base64_bytes() {
        let text = Keyring::generate_key();
        assert_eq!(
            Keyring::parse_key(&format!(" {text}\n")).expect("parses"),
            Keyring::parse_key(&text).expect("parses")
        );
        assert_ne!(Keyring::generate_key(), text);
        assert!(matches!(
            Keyring::parse_key("c2hvcnQ="),
            Err(VaultError::BadKey(m)) if m.contains("5 bytes")
        ));
        assert!(Keyring::parse_key("not base64!").is_err());
    }
}
