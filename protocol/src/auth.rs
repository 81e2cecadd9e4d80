//! Outgoing authentication: what a receiver asks for besides the signature. Credentials
//! arrive in admin requests, are stored sealed beside the signing secrets, and are never
//! shown again; the endpoint view shows only what identifies them.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};

use crate::admin::AdminError;

const MAX_CREDENTIAL_LEN: usize = 4096;
const MAX_PEM_LEN: usize = 64 * 1024;
const MAX_TOKEN_URL_LEN: usize = 2048;

/// How webhooks authenticate to the receiver (`auth` in endpoint requests).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic {
        /// The user name (no `:`).
        username: String,
        /// The password.
        password: String,
    },
    /// OAuth 2.0 client credentials: a token fetched from `token_url`, cached until it
    /// expires, sent as `Authorization: Bearer`.
    Oauth2 {
        /// The authorization server's token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The client secret (sent with HTTP Basic to the token endpoint).
        client_secret: String,
        /// Space-separated scopes to ask for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// The `audience` parameter some servers need.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
    },
}

// Credentials never reach logs through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth({:?})", self.view())
    }
}

/// What the endpoint view shows of its [`Auth`]: the kind and the non-secret parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthView {
    /// A bearer token is sent.
    Bearer,
    /// Basic auth is sent.
    Basic {
        /// The user name.
        username: String,
    },
    /// OAuth 2.0 client credentials.
    Oauth2 {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// The scopes asked for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
    },
}

/// A client certificate for mutual TLS (`client_certificate` in endpoint requests).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCertificate {
    /// The certificate chain, PEM, leaf first.
    pub certificate: String,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub private_key: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientCertificate({})", self.fingerprint())
    }
}

/// What the endpoint view shows of its client certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// SHA-256 of the leaf certificate (DER), hex.
    pub sha256: String,
}

/// An endpoint's outgoing credentials, kept sealed with its signing secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// Header authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// Mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<ClientCertificate>,
}

impl Auth {
    /// The part the endpoint view shows.
    #[must_use]
    pub fn view(&self) -> AuthView {
        match self {
            Self::Bearer { .. } => AuthView::Bearer,
            Self::Basic { username, .. } => AuthView::Basic {
                username: username.clone(),
            },
            Self::Oauth2 {
                token_url,
                client_id,
                scope,
                ..
            } => AuthView::Oauth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                scope: scope.clone(),
            },
        }
    }

    /// Checks every part; errors name the field `auth`.
    pub fn validate(self) -> Result<Self, AdminError> {
        match &self {
            Self::Bearer { token } => check_header_text("token", token)?,
            Self::Basic { username, password } => {
                check_header_text("username", username)?;
                if username.contains(':') {
                    return Err(invalid("username must not contain ':'"));
                }
                check_length("password", password)?;
            }
            Self::Oauth2 {
                token_url,
                client_id,
                client_secret,
                scope,
                audience,
            } => {
                check_token_url(token_url)?;
                check_header_text("client_id", client_id)?;
                check_length("client_secret", client_secret)?;
                for (name, value) in [("scope", scope), ("audience", audience)] {
                    if let Some(value) = value {
                        check_header_text(name, value)?;
                    }
                }
            }
        }
        Ok(self)
    }
}

impl ClientCertificate {
    /// Checks that both parts are PEM of the right kind; errors name `client_certificate`.
    /// (Whether the key matches the certificate is checked by the daemon, which loads them.)
    pub fn validate(self) -> Result<Self, AdminError> {
        let field = |message: &str| AdminError::invalid("client_certificate", message.to_owned());
        if self.certificate.len() > MAX_PEM_LEN || self.private_key.len() > MAX_PEM_LEN {
            return Err(field("certificate and key must each be at most 64 KiB"));
        }
        if leaf_der(&self.certificate).is_none() {
            return Err(field(
                "certificate must be PEM (-----BEGIN CERTIFICATE-----), leaf first",
            ));
        }
        if !self.private_key.contains("-----BEGIN")
            || !self.private_key.contains("PRIVATE KEY-----")
        {
            return Err(field(
                "private_key must be a PEM private key (PKCS#8, PKCS#1 or SEC1)",
            ));
        }
        Ok(self)
    }

    /// The SHA-256 fingerprint of the leaf certificate, hex (empty if it is not PEM).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        leaf_der(&self.certificate)
            .map(|der| hex::encode(Sha256::digest(der)))
            .unwrap_or_default()
    }

    /// The part the endpoint view shows.
    #[must_use]
    pub fn view(&self) -> CertificateView {
        CertificateView {
            sha256: self.fingerprint(),
        }
    }
}

/// The DER bytes of the first certificate in a PEM text.
fn leaf_der(pem: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let end = start + pem[start..].find(END)?;
    let text: String = pem[start..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .filter(|der| !der.is_empty())
}

fn invalid(message: &str) -> AdminError {
    AdminError::invalid("auth", message.to_owned())
}

fn check_length(name: &str, value: &str) -> Result<(), AdminError> {
    if value.is_empty() || value.len() > MAX_CREDENTIAL_LEN {
        return Err(invalid(&format!("{name} must be 1 to 4096 bytes")));
    }
    Ok(())
}

/// Values that end up in a header: visible ASCII and spaces only.
fn check_header_text(name: &str, value: &str) -> Result<(), AdminError> {
    check_length(name, value)?;
    if !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(invalid(&format!(
            "{name} must be visible ASCII (no line breaks or control characters)"
        )));
    }
    Ok(())
}

fn check_token_url(text: &str) -> Result<(), AdminError> {
    if text.len() > MAX_TOKEN_URL_LEN {
        return Err(invalid("token_url must be at most 2048 characters"));
    }
    let url = url::Url::parse(text)
        .map_err(|e| invalid(&format!("token_url is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(
            "token_url must be an http or https URL with a host",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "token_url must not carry credentials or a #fragment",
        ));
    }
    Ok(())
}

/// For update fields where absent keeps, `null` removes and a value replaces.
#[expect(
    clippy::option_option,
    reason = "absent, null and a value are three different requests"
)]
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> Auth {
        Auth::Bearer {
            token: token.into(),
        }
    }

    fn oauth(token_url: &str) -> Auth {
        Auth::Oauth2 {
            token_url: token_url.into(),
            client_id: "client".into(),
            client_secret: "s3cret".into(),
            scope: Some("webhooks:write".into()),
            audience: None,
        }
    }

    #[test]
    fn views_never_carry_secrets() {
        let shown =
            serde_json::to_string(&oauth("https://auth.example/token").view()).expect("serializes");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains(r#""type":"oauth2""#), "{shown}");
        let basic = Auth::Basic {
            username: "hooks".into(),
            password: "pa55".into(),
        };
        assert_eq!(
            serde_json::to_string(&basic.view()).expect("serializes"),
            r#"{"type":"basic","username":"hooks"}"#
        );
        assert!(!format!("{basic:?}").contains("pa55"));
        assert!(!format!("{:?}", bearer("tok")).contains("tok\""));
    }

    #[test]
    fn requests_parse_by_type_and_refuse_unknown_fields() {
        let parsed: Auth =
            serde_json::from_str(r#"{"type":"bearer","token":"abc"}"#).expect("parses");
        assert_eq!(parsed, bearer("abc"));
        assert!(serde_json::from_str::<Auth>(r#"{"type":"bearer","token":"a","x":1}"#).is_err());
        assert!(serde_json::from_str::<Auth>(r#"{"type":"digest"}"#).is_err());
        assert!(serde_json::from_str::<Auth>(r#"{"type":"basic","username":"u"}"#).is_err());
    }

    #[test]
    fn validation_names_what_is_wrong() {
        for (auth, expected) in [
            (bearer(""), "token must be 1 to 4096 bytes"),
            (bearer("a\r\nX-Evil: 1"), "token must be visible ASCII"),
            (bearer(&"a".repeat(4097)), "token must be 1 to 4096 bytes"),
            (
                Auth::Basic {
                    username: "a:b".into(),
                    password: "p".into(),
                },
                "username must not contain ':'",
            ),
            (oauth("ftp://auth.example/token"), "http or https"),
            (oauth("not a url"), "not a valid URL"),
            (oauth("https://u:p@auth.example/token"), "credentials"),
        ] {
            let error = auth.validate().expect_err(expected);
            assert_eq!(error.field.as_deref(), Some("auth"));
            assert!(error.message.contains(expected), "{error:?} vs {expected}");
        }
        assert!(bearer("eyJhbGciOi.J9.x-y_z").validate().is_ok());
        assert!(oauth("https://auth.example/oauth/token").validate().is_ok());
    }

    #[test]
    fn client_certificates_need_pem_and_show_a_fingerprint() {
        let der = b"not really DER but bytes";
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        let cert = ClientCertificate {
            certificate: format!(
                "-----BEGIN CERTIFICATE-----\n{}\n{}\n-----END CERTIFICATE-----\n",
                &body[..10],
                &body[10..]
            ),
            private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
        };
        assert_eq!(cert.view().sha256, hex::encode(Sha256::digest(der)));
        assert!(cert.clone().validate().is_ok());
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let no_key = ClientCertificate {
            private_key: "key".into(),
            ..cert.clone()
        };
        assert!(no_key.validate().is_err());
        let no_cert = ClientCertificate {
            certificate: "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----".into(),
            ..cert
        };
        let error = no_cert.validate().expect_err("not base64");
        assert_eq!(error.field.as_deref(), Some("client_certificate"));
    }
}
