//! A typed client for the admin API: each operation's request type in, its reply type
//! out ([`AdminClient::send`]), errors decoded from the reply.

use std::time::Duration;

use hookwire_protocol::admin::ErrorBody;
use hookwire_protocol::audit::REQUESTER_HEADER;
use hookwire_protocol::operation::{AdminReply, AdminRequest, Op, Operation};
use hookwire_protocol::subject::SubjectError;
use hookwire_protocol::{Subjects, Tenant};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An admin request that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminClientError {
    /// Hookwire answered with an error.
    #[error("{}", .0.error.message)]
    Api(ErrorBody),
    /// No `hookwired` answered in time.
    #[error("no reply within {0:?}; is hookwired running and connected to the same NATS?")]
    Timeout(Duration),
    /// Nobody listens on the subject.
    #[error("no hookwired serves {0}; is it running?")]
    NoResponders(String),
    /// The tenant, noun or verb cannot form a subject.
    #[error("cannot address the request: {0}")]
    Subject(#[from] SubjectError),
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[source] serde_json::Error),
    /// The request could not be sent.
    #[error("request to {subject} failed: {source}")]
    Request {
        /// Where it was going.
        subject: String,
        /// Why it failed.
        #[source]
        source: async_nats::RequestError,
    },
    /// The reply was not what the API documents.
    #[error("unexpected reply to {what}: {source}; are hookwired and this tool of one version?")]
    Decode {
        /// The operation (or `error reply`).
        what: String,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
    },
}

/// Who runs this program, as `user@host`, for [`AdminClient::with_requester`].
#[must_use]
pub fn local_requester() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{user}@{host}")
}

/// Sends admin requests for one tenant.
#[derive(Debug, Clone)]
pub struct AdminClient {
    client: async_nats::Client,
    subjects: Subjects,
    tenant: Tenant,
    timeout: Duration,
    requester: Option<String>,
}

impl AdminClient {
    /// A client for `tenant`'s admin API under `subjects`' prefix.
    #[must_use]
    pub fn new(
        client: async_nats::Client,
        subjects: Subjects,
        tenant: Tenant,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            subjects,
            tenant,
            timeout,
            requester: None,
        }
    }

    /// Declares who sends the requests (`Hookwire-Requester`), for the audit log, which
    /// records it as declared.
    #[must_use]
    pub fn with_requester(mut self, requester: impl Into<String>) -> Self {
        self.requester = Some(requester.into());
        self
    }

    /// Sends operation `O`'s request and decodes its reply.
    pub async fn send<O: Operation>(
        &self,
        request: &O::Request,
    ) -> Result<O::Reply, AdminClientError> {
        let body = serde_json::to_vec(request).map_err(AdminClientError::Encode)?;
        let reply = self.call_raw(O::OP.noun(), O::OP.verb(), body).await?;
        decode(O::OP, &reply)
    }

    /// Sends a request of any operation and decodes its reply (for callers that keep
    /// requests of several operations in one list).
    pub async fn send_any(&self, request: &AdminRequest) -> Result<AdminReply, AdminClientError> {
        let op = request.op();
        let body = request.to_body().map_err(AdminClientError::Encode)?;
        let reply = self.call_raw(op.noun(), op.verb(), body).await?;
        AdminReply::decode(op, &reply).map_err(|source| AdminClientError::Decode {
            what: op.action().to_owned(),
            source,
        })
    }

    /// Sends any JSON to `<noun>.<verb>` and decodes the reply as any type: for tools and
    /// tests that speak the wire format as an outside client would. Programs of this
    /// workspace use [`send`](Self::send).
    pub async fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        noun: &str,
        verb: &str,
        request: &Req,
    ) -> Result<Resp, AdminClientError> {
        let body = serde_json::to_vec(request).map_err(AdminClientError::Encode)?;
        let reply = self.call_raw(noun, verb, body).await?;
        serde_json::from_slice(&reply).map_err(|source| AdminClientError::Decode {
            what: format!("{noun}.{verb}"),
            source,
        })
    }

    /// Sends raw bytes (for tools and tests that send exactly what a user typed) and
    /// returns the reply body, or the decoded error.
    pub async fn call_raw(
        &self,
        noun: &str,
        verb: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, AdminClientError> {
        let subject = self.subjects.admin(&self.tenant, noun, verb)?;
        let mut request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(self.timeout));
        if let Some(requester) = &self.requester {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(REQUESTER_HEADER, requester.as_str());
            request = request.headers(headers);
        }
        let reply = self
            .client
            .send_request(subject.clone(), request)
            .await
            .map_err(|e| match e.kind() {
                async_nats::RequestErrorKind::TimedOut => AdminClientError::Timeout(self.timeout),
                async_nats::RequestErrorKind::NoResponders => {
                    AdminClientError::NoResponders(subject.clone())
                }
                _ => AdminClientError::Request {
                    subject: subject.clone(),
                    source: e,
                },
            })?;
        let failed = reply
            .headers
            .as_ref()
            .is_some_and(|h| h.get("Nats-Service-Error-Code").is_some());
        if failed {
            let error: ErrorBody = serde_json::from_slice(&reply.payload).map_err(|source| {
                AdminClientError::Decode {
                    what: "an error reply".to_owned(),
                    source,
                }
            })?;
            return Err(AdminClientError::Api(error));
        }
        Ok(reply.payload.to_vec())
    }
}

fn decode<T: DeserializeOwned>(op: Op, body: &[u8]) -> Result<T, AdminClientError> {
    serde_json::from_slice(body).map_err(|source| AdminClientError::Decode {
        what: op.action().to_owned(),
        source,
    })
}
