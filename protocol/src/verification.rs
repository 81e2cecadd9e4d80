//! Subscription verification: before its first delivery, an endpoint's receiver proves it
//! wants webhooks by answering a signed `hookwire.endpoint.verification` webhook.
//!
//! The webhook's `data` is `{"challenge": "<random>", "endpoint_id": "<id>"}`. In `echo`
//! mode the receiver answers 2xx with the JSON object `{"challenge": "<the same value>"}`;
//! in `status` mode any 2xx answer passes.

use serde::{Deserialize, Serialize};

use crate::endpoint::{Endpoint, VerificationMode};

/// The event type of the verification webhook.
pub const EVENT_TYPE: &str = "hookwire.endpoint.verification";

/// The verification webhook's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The random value to echo.
    pub challenge: String,
    /// The endpoint being verified.
    pub endpoint_id: String,
}

/// The reply to `endpoints.verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationReport {
    /// Whether the receiver passed.
    pub verified: bool,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The receiver's answer status, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    /// The endpoint after the result was recorded.
    pub endpoint: Endpoint,
}

/// Why a receiver's answer does not verify it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationFailure {
    /// No 2xx answer.
    #[error("the receiver answered {0}; verification needs a 2xx answer")]
    Status(u16),
    /// A 2xx answer without the challenge.
    #[error(
        "the answer is not the JSON object {{\"challenge\": \"...\"}} echoing the challenge sent"
    )]
    NoChallenge,
    /// A 2xx answer echoing another value.
    #[error("the answer echoed a different challenge than the one sent")]
    WrongChallenge,
}

/// The receiver's answer in `echo` mode.
#[derive(Deserialize)]
struct Answer {
    challenge: String,
}

/// Whether an answer (`status`, `body`) to the challenge `sent` verifies the receiver.
pub fn check_answer(
    mode: VerificationMode,
    sent: &str,
    status: u16,
    body: &[u8],
) -> Result<(), VerificationFailure> {
    if !(200..300).contains(&status) {
        return Err(VerificationFailure::Status(status));
    }
    if mode == VerificationMode::Status {
        return Ok(());
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| VerificationFailure::NoChallenge)?;
    if answer.challenge == sent {
        Ok(())
    } else {
        Err(VerificationFailure::WrongChallenge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENT: &str = "c_123";

    #[test]
    fn echo_mode_needs_the_same_challenge_in_a_2xx_json_object() {
        let echo = |status, body: &str| {
            check_answer(VerificationMode::Echo, SENT, status, body.as_bytes())
        };
        assert_eq!(echo(200, r#"{"challenge":"c_123"}"#), Ok(()));
        assert_eq!(echo(201, r#"{"challenge":"c_123","extra":1}"#), Ok(()));
        assert_eq!(
            echo(200, r#"{"challenge":"c_999"}"#),
            Err(VerificationFailure::WrongChallenge)
        );
        for body in [
            "",
            "c_123",
            r#""c_123""#,
            r#"{"challenge":123}"#,
            "{}",
            "[]",
        ] {
            assert_eq!(
                echo(200, body),
                Err(VerificationFailure::NoChallenge),
                "{body}"
            );
        }
        assert_eq!(
            echo(500, r#"{"challenge":"c_123"}"#),
            Err(VerificationFailure::Status(500))
        );
        assert_eq!(echo(302, ""), Err(VerificationFailure::Status(302)));
    }

    #[test]
    fn status_mode_needs_only_a_2xx() {
        let plain = |status| check_answer(VerificationMode::Status, SENT, status, b"ok");
        assert_eq!(plain(204), Ok(()));
        assert_eq!(plain(299), Ok(()));
        assert_eq!(plain(199), Err(VerificationFailure::Status(199)));
        assert_eq!(plain(404), Err(VerificationFailure::Status(404)));
    }
}
