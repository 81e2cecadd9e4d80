//! A provider's RSA public key (Travis CI's), read from PEM once at save and checked on
//! every request; `ring` verifies the signatures.

use der::Decode as _;
use ring::signature::{RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RsaPublicKeyComponents};

/// `rsaEncryption`, the algorithm of an RSA `SubjectPublicKeyInfo`.
const RSA_ENCRYPTION: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// The key sizes `ring` verifies.
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// An RSA public key: its modulus and exponent, big-endian without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaPublicKey {
    /// Reads `-----BEGIN PUBLIC KEY-----` (`SubjectPublicKeyInfo`, what Travis CI publishes)
    /// or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1) PEM; the error says what is wrong.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) = der::pem::decode_vec(pem.trim().as_bytes())
            .map_err(|e| format!("not a PEM public key: {e}"))?;
        let pkcs1 = match label {
            "PUBLIC KEY" => {
                let info = spki::SubjectPublicKeyInfoRef::from_der(&der)
                    .map_err(|e| format!("not a public key: {e}"))?;
                if info.algorithm.oid != RSA_ENCRYPTION {
                    return Err(format!("a {} key, not RSA", info.algorithm.oid));
                }
                info.subject_public_key
                    .as_bytes()
                    .ok_or("the key's bit string is not whole bytes")?
                    .to_vec()
            }
            "RSA PUBLIC KEY" => der,
            other => return Err(format!("a PEM {other}, not a PUBLIC KEY")),
        };
        let key = pkcs1::RsaPublicKey::from_der(&pkcs1)
            .map_err(|e| format!("not an RSA public key: {e}"))?;
        let modulus = key.modulus.as_bytes();
        let bits = modulus.len() * 8
            - modulus
                .first()
                .map_or(0, |b| usize::try_from(b.leading_zeros()).unwrap_or(0));
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(format!(
                "a {bits}-bit key; {MIN_BITS} to {MAX_BITS} bits are taken"
            ));
        }
        Ok(Self {
            modulus: modulus.to_vec(),
            exponent: key.public_exponent.as_bytes().to_vec(),
        })
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-1 signature of `message`.
    #[must_use]
    pub fn verifies_sha1(&self, message: &[u8], signature: &[u8]) -> bool {
        RsaPublicKeyComponents {
            n: &self.modulus,
            e: &self.exponent,
        }
        .verify(
            &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            message,
            signature,
        )
        .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    // Made with Python's `cryptography`, not with this code.
    const SPKI: &str = include_str!("testdata/rsa_2048.pem");
    const PKCS1: &str = include_str!("testdata/rsa_2048_pkcs1.pem");
    const SIGNATURE: &str = include_str!("testdata/signature.b64");
    const SIGNED: &[u8] = br#"{"id":1,"type":"push","state":"passed"}"#;

    fn signature() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(SIGNATURE.trim())
            .unwrap()
    }

    #[test]
    fn verifies_a_signature_made_elsewhere_and_nothing_else() {
        let key = RsaPublicKey::from_pem(SPKI).unwrap();
        assert!(key.verifies_sha1(SIGNED, &signature()));
        assert!(!key.verifies_sha1(br#"{"id":2,"type":"push","state":"passed"}"#, &signature()));
        let mut altered = signature();
        altered[10] ^= 1;
        assert!(!key.verifies_sha1(SIGNED, &altered));
        assert!(!key.verifies_sha1(SIGNED, b""));
        assert_eq!(
            RsaPublicKey::from_pem(PKCS1).unwrap(),
            key,
            "PKCS#1 PEM reads as the same key"
        );
    }

    #[test]
    fn refuses_what_is_not_an_rsa_key_of_a_usable_size() {
        for (pem, says) in [
            ("", "not a PEM"),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
                "not a public key",
            ),
            (include_str!("testdata/ec_p256.pem"), "not RSA"),
            (include_str!("testdata/rsa_1024.pem"), "1024-bit"),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                "CERTIFICATE",
            ),
        ] {
            let error = RsaPublicKey::from_pem(pem).unwrap_err();
            assert!(error.contains(says), "{pem:?}: {error}");
        }
    }
}
