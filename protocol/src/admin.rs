//! The admin API's shared shapes: the error body every failed request gets, and its codes.
//!
//! A failed request answers `{"error": {"code", "message", "field"?}}` and also sets the NATS
//! micro error headers (`Nats-Service-Error`, `Nats-Service-Error-Code`), so both plain NATS
//! clients and micro-aware tools see the failure.

use serde::{Deserialize, Serialize};

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
        serde_json::from_slice(body).map_err(|e| {
            let code = if e.is_syntax() || e.is_eof() {
                ErrorCode::InvalidJson
            } else {
                ErrorCode::InvalidRequest
            };
            Self::new(code, format!("request body: {e}"))
        })
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
}
