//! The admin API's shared shapes: the error body every failed request gets, and its codes.
//!
//! A failed request answers `{"error": {"code", "message", "field"?}}` and also sets the NATS
//! micro error headers (`Nats-Service-Error`, `Nats-Service-Error-Code`), so both plain NATS
//! clients and micro-aware tools see the failure.

use serde::{Deserialize, Serialize};

/// A request that takes no fields (`{}` or an empty body).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// A request that takes only a page size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSize {
    /// Page size, 1–500 (default 100).
    #[serde(default)]
    pub limit: Option<u32>,
}

impl PageSize {
    /// The page size asked for: 1–500, 100 when absent.
    pub fn resolve(limit: Option<u32>) -> Result<usize, AdminError> {
        match limit.unwrap_or(100) {
            n @ 1..=500 => Ok(usize::try_from(n).unwrap_or(100)),
            _ => Err(AdminError::invalid("limit", "must be 1 to 500")),
        }
    }
}

/// The reply to a delete: what was deleted (an endpoint id, a type or source name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted {
    /// The deleted object's id or name.
    pub deleted: String,
}

/// Admin requests larger than this are refused before parsing.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Stable error codes; scripts match on these, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body is not JSON.
    InvalidJson,
    /// The JSON is well-formed but a field is missing, unknown, of the wrong type or out of range.
    InvalidRequest,
    /// The subject's tenant, noun or verb is not valid.
    InvalidSubject,
    /// The request is larger than [`MAX_REQUEST_BYTES`].
    PayloadTooLarge,
    /// The named object does not exist.
    NotFound,
    /// The object exists already, or changed concurrently; retry with fresh data.
    Conflict,
    /// Hookwire could not complete the request; the message says what failed.
    Internal,
    /// A dependency (JetStream) did not answer in time; retry.
    Unavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire (`not_found`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidSubject => "invalid_subject",
            Self::PayloadTooLarge => "payload_too_large",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
        }
    }

    /// The HTTP-like status carried in `Nats-Service-Error-Code`.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidJson | Self::InvalidRequest | Self::InvalidSubject => 400,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }
}

/// The error detail inside [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What failed and what to do, for people.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The body of every failed admin reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The failure.
    pub error: ErrorDetail,
}

/// An admin failure on its way to becoming an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What failed and what to do.
    pub message: String,
    /// The request field at fault.
    pub field: Option<String>,
}

impl AdminError {
    /// A failure of `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// `message` says what does not exist: `no endpoint ep_1 in this tenant`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The object exists already or changed meanwhile; `message` says which and what to do.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// A dependency (JetStream, the configuration bucket) did not do `what` in time:
    /// `reading the events stream: timed out; retry in a moment`.
    pub fn unavailable(what: &str, error: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::Unavailable,
            format!("{what}: {error}; retry in a moment"),
        )
    }

    /// Hookwire failed at `what` for a reason a retry will not fix:
    /// `reading the state file: ...; hookwired's log has the details`.
    pub fn internal(what: &str, error: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!("{what}: {error}; hookwired's log has the details"),
        )
    }

    /// An invalid value in `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        Self {
            code: ErrorCode::InvalidRequest,
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// Reads a request body, mapping malformed JSON and shape errors to their codes.
    pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Self> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(Self::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "request is {} bytes; the limit is {MAX_REQUEST_BYTES}",
                    body.len()
                ),
            ));
        }
        // An empty body is an empty object; serde would also read a struct from an array,
        // which no documented request is, so anything but an object is refused here.
        let body = match body.iter().find(|b| !b.is_ascii_whitespace()) {
            None => b"{}".as_slice(),
            Some(b'{') => body,
            Some(_) if serde_json::from_slice::<serde_json::Value>(body).is_err() => {
                return Err(Self::new(
                    ErrorCode::InvalidJson,
                    "request body is not valid JSON",
                ));
            }
            Some(_) => {
                return Err(Self::new(
                    ErrorCode::InvalidRequest,
                    "request body must be a JSON object",
                ));
            }
        };
        let mut reader = serde_json::Deserializer::from_slice(body);
        let value =
            serde_path_to_error::deserialize(&mut reader).map_err(|e| Self::from_shape(&e))?;
        reader.end().map_err(|e| {
            Self::new(
                ErrorCode::InvalidJson,
                format!(
                    "request body has more after the JSON object: {}",
                    without_position(&e)
                ),
            )
        })?;
        Ok(value)
    }

    /// A body that did not fit the request's shape, naming the field at fault and what it
    /// expects: `timeout_ms: expected an unsigned integer, got the string "1000"`.
    fn from_shape(error: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            return Self::new(
                ErrorCode::InvalidJson,
                format!(
                    "request body is not valid JSON: {}",
                    without_position(inner)
                ),
            );
        }
        let message = without_position(inner);
        let path = error.path().to_string();
        let parent = (path != ".").then_some(path);
        // serde names a missing field only in its message, with the path of the object
        // that lacks it; an unknown field's path is the field itself.
        let named = backticked(&message).filter(|_| message.starts_with("missing field"));
        let field = match (parent, named) {
            (Some(parent), Some(name)) => format!("{parent}.{name}"),
            (None, Some(name)) => name.to_owned(),
            (Some(parent), None) => parent,
            (None, None) => {
                return Self::new(
                    ErrorCode::InvalidRequest,
                    format!("request body: {message}"),
                );
            }
        };
        Self::invalid(field, message)
    }

    /// The reply body.
    #[must_use]
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }
}

/// `serde_json`'s message without its ` at line 1 column 58` suffix: requests are one line of
/// JSON, and the field name says more than a column.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// The first `` `name` `` in a serde message.
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[allow(dead_code, reason = "only its presence is tested")]
        n: u32,
    }

    #[test]
    fn parse_tells_malformed_from_misshapen() {
        assert!(AdminError::parse::<Sample>(br#"{"n": 1}"#).is_ok());
        for (body, code) in [
            (&b"{not json"[..], ErrorCode::InvalidJson),
            (b"{\"n\": 1", ErrorCode::InvalidJson),
            (br#"{"n": "one"}"#, ErrorCode::InvalidRequest),
            (br#"{"n": -1}"#, ErrorCode::InvalidRequest),
            (br#"{"n": 1, "x": 2}"#, ErrorCode::InvalidRequest),
            (b"{}", ErrorCode::InvalidRequest),
            (b"", ErrorCode::InvalidRequest),
            (b"[1]", ErrorCode::InvalidRequest),
            (b"42", ErrorCode::InvalidRequest),
            (b"nope", ErrorCode::InvalidJson),
        ] {
            assert_eq!(
                AdminError::parse::<Sample>(body).unwrap_err().code,
                code,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let huge = vec![b' '; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            AdminError::parse::<Sample>(&huge).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
    }

    #[test]
    fn shape_errors_name_the_field_and_what_it_expects() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code, reason = "only parsing is tested")]
        struct Request {
            url: String,
            #[serde(default)]
            timeout_ms: Option<u32>,
            #[serde(default)]
            state: Option<crate::attempt::Outcome>,
            #[serde(default, with = "crate::time::rfc3339_option")]
            since: Option<chrono::DateTime<chrono::Utc>>,
            #[serde(default)]
            nested: Option<Sample>,
        }
        for (body, field, expected) in [
            (
                &br#"{"url":"x","timeout_ms":"1000"}"#[..],
                "timeout_ms",
                "expected u32",
            ),
            (br#"{"url":"x","since":"yesterday"}"#, "since", "RFC 3339"),
            (
                br#"{"url":"x","state":"lost"}"#,
                "state",
                "unknown variant `lost`",
            ),
            (
                br#"{"url":"x","colour":1}"#,
                "colour",
                "unknown field `colour`",
            ),
            (br#"{"timeout_ms":1}"#, "url", "missing field `url`"),
            (
                br#"{"url":"x","nested":{"n":"1"}}"#,
                "nested.n",
                "expected u32",
            ),
            (
                br#"{"url":"x","nested":{"m":1}}"#,
                "nested.m",
                "unknown field `m`",
            ),
            (
                br#"{"url":"x","nested":{}}"#,
                "nested.n",
                "missing field `n`",
            ),
        ] {
            let error = AdminError::parse::<Request>(body).unwrap_err();
            let text = String::from_utf8_lossy(body);
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{text}");
            assert_eq!(error.field.as_deref(), Some(field), "{text}: {error}");
            assert!(
                error.message.starts_with(&format!("{field}: ")),
                "{text}: {error}"
            );
            assert!(error.message.contains(expected), "{text}: {error}");
            assert!(!error.message.contains("line 1"), "{text}: {error}");
        }
        let error = AdminError::parse::<Request>(br#"{"url":"x"} {"#).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidJson);
    }

    #[test]
    fn error_body_shape() {
        let body = AdminError::invalid("url", "must be http or https").to_body();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error": {"code": "invalid_request", "message": "url: must be http or https", "field": "url"}})
        );
        let body = AdminError::new(ErrorCode::NotFound, "no endpoint ep_1").to_body();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"error": {"code": "not_found", "message": "no endpoint ep_1"}})
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorCode::InvalidJson.status(), 400);
        assert_eq!(ErrorCode::NotFound.status(), 404);
        assert_eq!(ErrorCode::Conflict.status(), 409);
        assert_eq!(ErrorCode::PayloadTooLarge.status(), 413);
        assert_eq!(ErrorCode::Internal.status(), 500);
        assert_eq!(ErrorCode::Unavailable.status(), 503);
    }

    #[test]
    fn code_names_are_the_wire_names() {
        for code in [
            ErrorCode::InvalidJson,
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidSubject,
            ErrorCode::PayloadTooLarge,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
}
