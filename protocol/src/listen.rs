//! `hookwire listen`: an endpoint's webhooks relayed over NATS to a developer's machine.
//!
//! An endpoint with `listen` on is not sent its webhooks over HTTP. Each one goes as a NATS
//! request on `<prefix>.listen.<tenant>.<endpoint-id>` ([`crate::Subjects::listen`]): the
//! request's headers are the webhook's headers and its payload the body, both exactly as
//! they would go over HTTP (signed, compressed when the endpoint compresses). A listener in
//! the [`QUEUE_GROUP`] forwards it to a local URL and answers with a [`ListenReply`], which
//! `hookwired` records as the attempt's response. With no listener attached the attempt
//! fails as a connection failure and is retried on the endpoint's schedule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attempt::{ErrorKind, body_excerpt};

/// The queue group listeners subscribe in, so a webhook goes to one of them however many
/// are attached.
pub const QUEUE_GROUP: &str = "hookwire-listen";

/// A listener's answer to one relayed webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum ListenReply {
    /// The local receiver answered.
    Response {
        /// Its status code.
        status: u16,
        /// Its headers, names in lower case.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The start of its body ([`MAX_BODY_EXCERPT`](crate::attempt::MAX_BODY_EXCERPT) bytes
        /// at most), as text.
        #[serde(default)]
        body: String,
    },
    /// The request to the local receiver failed before an answer.
    Failed {
        /// How it failed (`connect`, `timeout`, `request`).
        kind: ErrorKind,
        /// What failed, for the attempt record.
        message: String,
    },
}

impl ListenReply {
    /// A response whose body is cut as an attempt record keeps it ([`body_excerpt`]).
    #[must_use]
    pub fn response(status: u16, headers: BTreeMap<String, String>, body: &[u8]) -> Self {
        Self::Response {
            status,
            headers,
            body: body_excerpt(body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::MAX_BODY_EXCERPT;

    #[test]
    fn replies_read_back_as_written() {
        let replies = [
            ListenReply::response(
                204,
                BTreeMap::from([("x-a".to_owned(), "b".to_owned())]),
                b"ok",
            ),
            ListenReply::Failed {
                kind: ErrorKind::Connect,
                message: "connection refused".to_owned(),
            },
        ];
        for reply in replies {
            let text = serde_json::to_string(&reply).expect("encodes");
            assert_eq!(
                serde_json::from_str::<ListenReply>(&text).expect("decodes"),
                reply
            );
        }
        let wire = r#"{"outcome":"response","status":200}"#;
        assert_eq!(
            serde_json::from_str::<ListenReply>(wire).expect("decodes"),
            ListenReply::Response {
                status: 200,
                headers: BTreeMap::new(),
                body: String::new()
            }
        );
    }

    #[test]
    fn a_long_body_is_cut_to_the_excerpt() {
        let body = vec![b'a'; MAX_BODY_EXCERPT * 2];
        let ListenReply::Response { body, .. } = ListenReply::response(200, BTreeMap::new(), &body)
        else {
            panic!("a response");
        };
        assert_eq!(body.len(), MAX_BODY_EXCERPT);
    }

    #[test]
    fn unknown_outcomes_are_refused() {
        assert!(serde_json::from_str::<ListenReply>(r#"{"outcome":"maybe"}"#).is_err());
    }
}
