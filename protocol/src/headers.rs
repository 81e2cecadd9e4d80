//! Header names used on the wire, in one place.
//!
//! HTTP header names are written lowercase (HTTP/2 requires it and HTTP/1.1 ignores case);
//! NATS header names are case-sensitive and spelled as NATS and the publisher expect them.

/// Unique id of a webhook message; the same on every retry of one delivery.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Unix time in seconds at which the webhook attempt was signed.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// Space-separated `v1,<base64>` signatures, one per live signing secret.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

/// Correlation id given by a publisher; travels with the event into every webhook.
pub const CORRELATION_ID: &str = "Hookwire-Correlation-Id";
/// W3C trace context, accepted as a correlation id when no explicit one is given.
pub const TRACEPARENT: &str = "traceparent";
/// JetStream's de-duplication header; Hookwire uses it as the event id when present.
pub const NATS_MSG_ID: &str = "Nats-Msg-Id";

/// Whether `name` is an HTTP header name (an RFC 9110 token).
#[must_use]
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
