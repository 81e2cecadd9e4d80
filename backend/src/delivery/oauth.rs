//! OAuth 2.0 client credentials (RFC 6749 §4.4): an access token fetched from the token
//! endpoint, kept until shortly before it expires and shared by every attempt to endpoints
//! with the same credentials. Concurrent attempts wait for one fetch; a receiver answering
//! 401 makes the next attempt fetch a fresh token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookwire_protocol::attempt::ErrorKind;
use hookwire_protocol::auth::Auth;
use serde::Deserialize;

/// A token is renewed this long before the server says it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(30);
/// How long a token without `expires_in` is kept.
const DEFAULT_LIFETIME: Duration = Duration::from_mins(5);
/// The most of a token endpoint's answer that is read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// Credentials kept before the cache starts over.
const MAX_CACHED: usize = 4096;

/// The client-credentials fields of an [`Auth::Oauth2`].
pub(crate) struct ClientCredentials<'a> {
    /// The token endpoint.
    pub token_url: &'a str,
    /// The client id.
    pub client_id: &'a str,
    /// The client secret.
    pub client_secret: &'a str,
    /// Scopes asked for.
    pub scope: Option<&'a str>,
    /// The audience asked for.
    pub audience: Option<&'a str>,
}

#[derive(Clone)]
struct Token {
    access_token: String,
    renew_at: Instant,
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// Access tokens by the credentials that obtained them.
#[derive(Default)]
pub(crate) struct Tokens {
    slots: Mutex<HashMap<Auth, Slot>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Tokens {
    fn slot(&self, auth: &Auth) -> Slot {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(auth) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_CACHED {
            slots.clear();
        }
        Arc::clone(slots.entry(auth.clone()).or_default())
    }

    /// A valid access token for `auth`, fetched with `client` when none is cached, after
    /// `may_fetch` allowed the token URL.
    pub(crate) async fn access_token(
        &self,
        client: &reqwest::Client,
        auth: &Auth,
        credentials: &ClientCredentials<'_>,
        timeout: Duration,
        may_fetch: impl FnOnce() -> Result<(), (ErrorKind, String)>,
    ) -> Result<String, (ErrorKind, String)> {
        let slot = self.slot(auth);
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.renew_at > Instant::now()) {
            return Ok(token.access_token.clone());
        }
        may_fetch()?;
        let token = tokio::time::timeout(timeout, fetch(client, credentials))
            .await
            .map_err(|_| {
                failure(
                    credentials,
                    &format!("no answer within {} ms", timeout.as_millis()),
                )
            })??;
        let access_token = token.access_token.clone();
        *cached = Some(token);
        Ok(access_token)
    }

    /// Drops the cached token for `auth` (the receiver refused it).
    pub(crate) fn forget(&self, auth: &Auth) {
        let slot = self.slot(auth);
        if let Ok(mut cached) = slot.try_lock() {
            *cached = None;
        }
    }
}

fn failure(credentials: &ClientCredentials<'_>, why: &str) -> (ErrorKind, String) {
    (
        ErrorKind::Auth,
        format!(
            "OAuth 2.0 token request to {} failed: {why}",
            credentials.token_url
        ),
    )
}

async fn fetch(
    client: &reqwest::Client,
    credentials: &ClientCredentials<'_>,
) -> Result<Token, (ErrorKind, String)> {
    let form = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = credentials.scope {
            form.append_pair("scope", scope);
        }
        if let Some(audience) = credentials.audience {
            form.append_pair("audience", audience);
        }
        form.finish()
    };
    let asked_at = Instant::now();
    let response = client
        .post(credentials.token_url)
        .basic_auth(
            form_encode(credentials.client_id),
            Some(form_encode(credentials.client_secret)),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(form)
        .send()
        .await
        .map_err(|e| match super::destination::find_blocked(&e) {
            // A token URL given by name that resolves to a blocked address is the SSRF
            // guard at work, not a credentials problem.
            Some(blocked) => (
                ErrorKind::BlockedDestination,
                format!(
                    "OAuth 2.0 token URL {}: {}",
                    credentials.token_url, blocked.message
                ),
            ),
            None => failure(credentials, &super::causes::chain(&e)),
        })?;
    let status = response.status();
    let body = read_limited(response).await;
    if !status.is_success() {
        let error = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(failure(credentials, &format!("status {status}{error}")));
    }
    let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
        failure(
            credentials,
            &format!("the answer is not a token response: {e}"),
        )
    })?;
    if token
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(failure(
            credentials,
            "the token type is not Bearer; only bearer tokens are supported",
        ));
    }
    if token.access_token.is_empty()
        || !token
            .access_token
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(failure(
            credentials,
            "the access token is empty or not printable",
        ));
    }
    Ok(Token {
        access_token: token.access_token,
        renew_at: renew_at(asked_at, token.expires_in),
    })
}

/// When to fetch again: the lifetime minus a margin (half the lifetime for short ones),
/// counted from when the token was asked for.
fn renew_at(asked_at: Instant, expires_in: Option<u64>) -> Instant {
    let lifetime = expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs);
    let margin = RENEW_MARGIN.min(lifetime / 2);
    asked_at + lifetime.saturating_sub(margin)
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before HTTP Basic.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn read_limited(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_TOKEN_RESPONSE {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_before_they_expire() {
        let now = Instant::now();
        assert_eq!(renew_at(now, Some(3600)), now + Duration::from_secs(3570));
        assert_eq!(renew_at(now, Some(10)), now + Duration::from_secs(5));
        assert_eq!(renew_at(now, Some(0)), now);
        assert_eq!(renew_at(now, None), now + Duration::from_secs(270));
    }

    #[test]
    fn client_credentials_are_form_encoded_for_basic_auth() {
        assert_eq!(form_encode("id:with space"), "id%3Awith+space");
        assert_eq!(form_encode("plain"), "plain");
    }
}
